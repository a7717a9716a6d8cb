// Owned by the serde work; filled in as it lands.
export {};
