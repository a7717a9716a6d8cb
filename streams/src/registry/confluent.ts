/**
 * A client of any Confluent-compatible schema registry (Confluent, Karapace, Apicurio's
 * `/apis/ccompat/v7`): `POST /subjects/{subject}/versions` to register, `GET /schemas/ids/{id}` to
 * read, `GET /subjects` to ping. Ids are immutable, so both directions are cached for the life of
 * the client.
 *
 * It uses the platform's fetch (undici) rather than @kafkajs/confluent-schema-registry's HTTP client:
 * every request is bounded by `timeoutMs`, nothing is retried here (the runner owns retries and
 * backoff), and each failure maps to one error of our taxonomy:
 * unreachable, timeout, 408/429/5xx → `RegistryUnavailableError` (retriable); unknown schema id
 * (404) → `SerdeError` (the record is poison); other refusals (409 incompatible, 422 invalid,
 * 401/403) → `SchemaRegistryError`.
 *
 * @example
 *   const registry = createConfluentRegistry({ url: 'http://127.0.0.1:18081/apis/ccompat/v7' });
 */
import { RegistryUnavailableError, SerdeError } from '../errors.js';
import { assertSchemaId, assertSubject, canonicalJson, IncompatibleSchemaError, SchemaRegistryError, type SchemaRegistry } from './types.js';

export interface ConfluentRegistryOptions {
  /** Base URL of the Confluent API, e.g. `http://127.0.0.1:18081/apis/ccompat/v7`. */
  url: string;
  /** Upper bound of one HTTP request, connection included. Default 5000 ms. */
  timeoutMs?: number;
  /** Extra request headers (e.g. `authorization`). */
  headers?: Record<string, string>;
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

export function createConfluentRegistry(options: ConfluentRegistryOptions): SchemaRegistry {
  let base: URL;
  try {
    base = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`);
  } catch (error) {
    throw new SchemaRegistryError(`schema registry url is not a valid URL: ${JSON.stringify(options.url)}`, { cause: error });
  }
  const timeoutMs = options.timeoutMs ?? 5000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new SchemaRegistryError(`timeoutMs must be a positive number, got ${timeoutMs}`);
  const where = base.href;
  const idsBySchema = new Map<string, Promise<number>>();
  const schemasById = new Map<number, string>();

  async function request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const url = new URL(path, base);
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method,
        headers: { accept: CONTENT_TYPE, ...(body === undefined ? {} : { 'content-type': CONTENT_TYPE }), ...options.headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : describeFetchError(error);
      throw new RegistryUnavailableError(`schema registry at ${where} is unreachable (${method} ${url.pathname}): ${reason}`, { cause: error });
    }
    let json: unknown = undefined;
    try {
      json = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      json = text;
    }
    if (response.status >= 500 || response.status === 408 || response.status === 429) {
      throw new RegistryUnavailableError(`schema registry at ${where} answered ${response.status} to ${method} ${url.pathname}: ${errorMessage(json)}`);
    }
    return { status: response.status, json };
  }

  async function registerNow(subject: string, schema: object): Promise<number> {
    const { status, json } = await request('POST', `subjects/${encodeURIComponent(subject)}/versions`, {
      schema: JSON.stringify(schema),
      schemaType: 'AVRO',
    });
    if (status === 200 && typeof (json as { id?: unknown })?.id === 'number') return (json as { id: number }).id;
    const message = `schema registry at ${where} refused to register subject ${subject} (${status}): ${errorMessage(json)}`;
    if (status === 409) throw new IncompatibleSchemaError(message);
    throw new SchemaRegistryError(message);
  }

  return {
    register(subject, schema) {
      try {
        assertSubject(subject);
        if (schema === null || typeof schema !== 'object') throw new SchemaRegistryError(`schema for subject ${subject} must be an Avro schema object`);
      } catch (error) {
        return Promise.reject(error);
      }
      const key = `${subject}\u0000${canonicalJson(schema)}`;
      let id = idsBySchema.get(key);
      if (id === undefined) {
        id = registerNow(subject, schema);
        idsBySchema.set(key, id);
        id.catch(() => idsBySchema.delete(key));
      }
      return id;
    },

    async getSchema(id) {
      assertSchemaId(id);
      const cached = schemasById.get(id);
      if (cached !== undefined) return cached;
      const { status, json } = await request('GET', `schemas/ids/${id}`);
      if (status === 404) throw new SerdeError(`schema id ${id} is not known to the schema registry at ${where}`);
      const body = json as { schema?: unknown; schemaType?: unknown };
      if (status !== 200 || typeof body?.schema !== 'string') {
        throw new SchemaRegistryError(`schema registry at ${where} answered ${status} to GET schemas/ids/${id}: ${errorMessage(json)}`);
      }
      if (body.schemaType !== undefined && body.schemaType !== 'AVRO') {
        throw new SerdeError(`schema id ${id} is a ${String(body.schemaType)} schema, not Avro`);
      }
      schemasById.set(id, body.schema);
      return body.schema;
    },

    async ping() {
      const { status, json } = await request('GET', 'subjects');
      if (status !== 200) throw new SchemaRegistryError(`schema registry at ${where} answered ${status} to GET subjects: ${errorMessage(json)}`);
    },
  };
}

function errorMessage(json: unknown): string {
  if (typeof json === 'string') return json.slice(0, 300);
  const message = (json as { message?: unknown })?.message;
  return typeof message === 'string' ? message : JSON.stringify(json)?.slice(0, 300) ?? 'empty body';
}

function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}
