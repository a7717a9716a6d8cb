// Owned by the runner work; filled in as it lands.
export {};
