// Owned by the embedded work; filled in as it lands.
export {};
