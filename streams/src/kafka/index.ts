// Owned by the kafka work; filled in as it lands.
export {};
