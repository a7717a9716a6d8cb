export { type SchemaRegistry, SchemaRegistryError, IncompatibleSchemaError, canonicalJson } from './types.js';
export { createInProcessRegistry, type InProcessRegistryOptions } from './in-process.js';
export { createConfluentRegistry, type ConfluentRegistryOptions } from './confluent.js';
