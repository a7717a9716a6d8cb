// Owned by the registry work; filled in as it lands.
export {};
