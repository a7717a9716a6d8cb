/**
 * A schema registry inside the process, for embedded mode, with Confluent's semantics: global ids
 * from 1; the same schema under the same subject returns its existing id; a new version of a subject
 * must be backward compatible with the latest one (a reader with the new schema can read data written
 * with the old), otherwise `register` rejects with `IncompatibleSchemaError`.
 *
 * Records in the durable embedded log carry these ids, so with `file` the registry is persisted (JSON,
 * written atomically: temp file, fsync, rename, fsync of the folder) and ids stay stable across restarts.
 * Without `file` it lives in memory only (tests).
 *
 * @example
 *   const registry = createInProcessRegistry({ file: path.join(dataDir, 'schemas.json') });
 *   const id = await registry.register('metronis.traces.v1-value', avroSchema('Trace'));
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import avro from 'avsc';
import { SerdeError } from '../errors.js';
import { assertSchemaId, assertSubject, canonicalJson, IncompatibleSchemaError, SchemaRegistryError, type SchemaRegistry } from './types.js';

export interface InProcessRegistryOptions {
  /** JSON file holding the registered schemas; created on first registration. Absent: memory only. */
  file?: string;
}

interface StoredSchema {
  id: number;
  /** Canonical JSON text of the schema (sorted keys). */
  schema: string;
}

interface RegistryFile {
  format: 'metronis-schema-registry/1';
  schemas: StoredSchema[];
  /** Subject → schema ids, one per version, oldest first. */
  subjects: Record<string, number[]>;
}

function emptyState(): RegistryFile {
  return { format: 'metronis-schema-registry/1', schemas: [], subjects: {} };
}

function load(file: string): RegistryFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
    throw new SchemaRegistryError(`cannot read the schema registry file ${file}: ${(error as Error).message}`, { cause: error });
  }
  let state: RegistryFile;
  try {
    state = JSON.parse(text) as RegistryFile;
  } catch (error) {
    throw new SchemaRegistryError(`the schema registry file ${file} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (state?.format !== 'metronis-schema-registry/1' || !Array.isArray(state.schemas) || typeof state.subjects !== 'object' || state.subjects === null) {
    throw new SchemaRegistryError(`the schema registry file ${file} is not a metronis-schema-registry/1 file`);
  }
  return state;
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, file);
  const folder = await open(dirname(file), 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}

function parse(subject: string, schema: object): avro.Type {
  try {
    return avro.Type.forSchema(schema as avro.Schema);
  } catch (error) {
    throw new SchemaRegistryError(`invalid Avro schema for subject ${subject}: ${(error as Error).message}`, { cause: error });
  }
}

export function createInProcessRegistry(options: InProcessRegistryOptions = {}): SchemaRegistry {
  const { file } = options;
  if (file !== undefined) mkdirSync(dirname(file), { recursive: true });
  const state = file === undefined ? emptyState() : load(file);
  const byId = new Map(state.schemas.map((s) => [s.id, s.schema]));
  // Registrations run one at a time, so ids are assigned and persisted in order.
  let queue: Promise<unknown> = Promise.resolve();

  async function registerNow(subject: string, schema: object): Promise<number> {
    const type = parse(subject, schema);
    const text = canonicalJson(schema);
    const versions = state.subjects[subject] ?? [];
    const existing = versions.find((id) => byId.get(id) === text);
    if (existing !== undefined) return existing;

    const latestId = versions[versions.length - 1];
    if (latestId !== undefined) {
      const latest = avro.Type.forSchema(JSON.parse(byId.get(latestId)!) as avro.Schema);
      try {
        type.createResolver(latest);
      } catch (error) {
        throw new IncompatibleSchemaError(
          `schema for subject ${subject} is not backward compatible with version ${versions.length} (id ${latestId}): ${(error as Error).message}`,
          { cause: error },
        );
      }
    }

    // The same schema text under another subject keeps its global id, as in Confluent's registry.
    let id = state.schemas.find((s) => s.schema === text)?.id;
    const next: RegistryFile = {
      ...state,
      schemas: id === undefined ? [...state.schemas, { id: (id = state.schemas.length + 1), schema: text }] : state.schemas,
      subjects: { ...state.subjects, [subject]: [...versions, id] },
    };
    if (file !== undefined) await writeAtomically(file, JSON.stringify(next, null, 2));
    state.schemas = next.schemas;
    state.subjects = next.subjects;
    byId.set(id, text);
    return id;
  }

  return {
    register(subject, schema) {
      try {
        assertSubject(subject);
        if (schema === null || typeof schema !== 'object') throw new SchemaRegistryError(`schema for subject ${subject} must be an Avro schema object`);
      } catch (error) {
        return Promise.reject(error);
      }
      const result = queue.then(() => registerNow(subject, schema));
      queue = result.catch(() => undefined);
      return result;
    },
    async getSchema(id) {
      assertSchemaId(id);
      const text = byId.get(id);
      if (text === undefined) throw new SerdeError(`schema id ${id} is not registered in the in-process registry`);
      return text;
    },
    async ping() {},
  };
}
