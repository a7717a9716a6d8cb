/**
 * The schema registry contract the serde needs: register a value schema under a subject (getting its
 * global id), fetch a schema by id, and check reachability. Two implementations: an in-process one for
 * embedded mode (`createInProcessRegistry`) and a client of any Confluent-compatible registry
 * (`createConfluentRegistry`). Both speak Avro only.
 *
 * Errors: `RegistryUnavailableError` (retriable) when the registry cannot answer; `SerdeError` (poison)
 * for an id it does not know; `SchemaRegistryError` for a request it refuses (a bad or incompatible
 * schema, an auth failure): those are configuration or code errors, neither retried nor DLQ'd.
 */

export interface SchemaRegistry {
  /** Registers `schema` (an Avro schema object) under `subject`; the same schema returns the same id. */
  register(subject: string, schema: object): Promise<number>;
  /** The Avro JSON text of the schema with this global id. */
  getSchema(id: number): Promise<string>;
  /** Resolves when the registry can answer, rejects with `RegistryUnavailableError` otherwise. */
  ping(): Promise<void>;
}

/** The registry refused a request (invalid schema, incompatible change, auth): fix the code or config. */
export class SchemaRegistryError extends Error {
  override readonly name: string = 'SchemaRegistryError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** A new version of a subject's schema cannot read data written with the previous version. */
export class IncompatibleSchemaError extends SchemaRegistryError {
  override readonly name = 'IncompatibleSchemaError';
}

/** JSON with object keys sorted at every level: two spellings of one schema give one text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

export function assertSubject(subject: unknown): asserts subject is string {
  if (typeof subject !== 'string' || subject.length === 0) {
    throw new SchemaRegistryError(`subject must be a non-empty string, got ${JSON.stringify(subject)}`);
  }
}

export function assertSchemaId(id: unknown): asserts id is number {
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 0xffffffff) {
    throw new SchemaRegistryError(`schema id must be an integer between 0 and 2^32-1, got ${String(id)}`);
  }
}
