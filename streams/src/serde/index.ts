/**
 * Avro values in the Confluent wire format, per topic. `forTopic` registers the topic's schema under
 * `<topic>-value` once and gives a synchronous `encode` (one avsc `toBuffer` plus the 5-byte header)
 * and an async `decode` that reads any registered writer schema into the topic's current (reader)
 * schema, so records written by older or newer producers are read as this code expects them.
 * Writer schemas are fetched once per id and cached; the hot path makes no registry calls.
 *
 * Errors: bytes that are not a value of a known schema (bad magic byte, short buffer, corrupt Avro,
 * unknown id, a writer this reader cannot resolve) and values that do not fit the schema on encode →
 * `SerdeError` (poison, DLQ); registry unreachable → `RegistryUnavailableError` (retry).
 *
 * @example
 *   const serde = createSerde(registry);
 *   const traces = await serde.forTopic(TOPICS.traces);
 *   const bytes = traces.encode(makeTrace());
 *   const trace = await traces.decode(bytes);
 */
import avro from 'avsc';
import { avroSchema, type RecordTypes, type SchemaName } from '@metronis/schemas';
import { SerdeError } from '../errors.js';
import { subjectFor, type TopicDef } from '../topics.js';
import type { SchemaRegistry } from '../registry/index.js';
import { frame, HEADER_SIZE, schemaIdOf } from './wire.js';

export { frame, schemaIdOf, MAGIC_BYTE, HEADER_SIZE } from './wire.js';

export interface TopicSerde<N extends SchemaName = SchemaName> {
  readonly topic: TopicDef<N>;
  /** The id the topic's current schema has in the registry (the id `encode` writes). */
  readonly schemaId: number;
  encode(value: RecordTypes[N]): Buffer;
  decode(bytes: Buffer | null): Promise<RecordTypes[N]>;
}

export interface Serde {
  /** The serde of a topic; registers the topic's schema on first use (concurrent calls share one registration). */
  forTopic<N extends SchemaName>(topic: TopicDef<N>): Promise<TopicSerde<N>>;
  readonly registry: SchemaRegistry;
}

export interface SerdeOptions {
  /** The value schema of a record type; default: `avroSchema` from @metronis/schemas. Tests pass older or newer schemas. */
  schemaOf?: (name: SchemaName) => object;
}

export function createSerde(registry: SchemaRegistry, options: SerdeOptions = {}): Serde {
  const schemaOf = options.schemaOf ?? avroSchema;
  const topics = new Map<string, { schema: SchemaName; serde: Promise<TopicSerde<SchemaName>> }>();
  const writers = new Map<number, Promise<avro.Type>>();

  function writerType(id: number): Promise<avro.Type> {
    let type = writers.get(id);
    if (type === undefined) {
      type = registry.getSchema(id).then((text) => {
        try {
          return avro.Type.forSchema(JSON.parse(text) as avro.Schema);
        } catch (error) {
          throw new SerdeError(`schema id ${id} is not a valid Avro schema: ${(error as Error).message}`, { cause: error });
        }
      });
      writers.set(id, type);
      // A failed lookup (registry down, unknown id) is tried again on the next record.
      type.catch(() => writers.delete(id));
    }
    return type;
  }

  async function build<N extends SchemaName>(topic: TopicDef<N>): Promise<TopicSerde<N>> {
    const schema = schemaOf(topic.schema);
    const reader = avro.Type.forSchema(schema as avro.Schema);
    const schemaId = await registry.register(subjectFor(topic.name), schema);
    const resolvers = new Map<number, avro.Resolver | null>([[schemaId, null]]);

    async function resolverFor(id: number): Promise<avro.Resolver | null> {
      const cached = resolvers.get(id);
      if (cached !== undefined) return cached;
      const writer = await writerType(id);
      let resolver: avro.Resolver | null;
      try {
        resolver = reader.equals(writer) ? null : reader.createResolver(writer);
      } catch (error) {
        throw new SerdeError(`topic ${topic.name}: values written with schema id ${id} cannot be read as ${topic.schema}: ${(error as Error).message}`, { cause: error });
      }
      resolvers.set(id, resolver);
      return resolver;
    }

    return {
      topic,
      schemaId,
      encode(value) {
        let body: Buffer;
        try {
          body = reader.toBuffer(value);
        } catch (error) {
          throw new SerdeError(`topic ${topic.name}: value is not a valid ${topic.schema}${invalidPaths(reader, value)}: ${(error as Error).message}`, { cause: error });
        }
        return frame(schemaId, body);
      },
      async decode(bytes) {
        const id = schemaIdOf(bytes);
        const resolver = await resolverFor(id);
        try {
          return (resolver === null ? reader.fromBuffer(bytes!.subarray(HEADER_SIZE)) : reader.fromBuffer(bytes!.subarray(HEADER_SIZE), resolver)) as RecordTypes[N];
        } catch (error) {
          throw new SerdeError(`topic ${topic.name}: value with schema id ${id} is not valid Avro: ${(error as Error).message}`, { cause: error });
        }
      },
    };
  }

  return {
    registry,
    forTopic<N extends SchemaName>(topic: TopicDef<N>) {
      const known = topics.get(topic.name);
      if (known !== undefined) {
        if (known.schema !== topic.schema) {
          return Promise.reject(new TypeError(`topic ${topic.name} is already used with schema ${known.schema}, not ${topic.schema}`));
        }
        return known.serde as unknown as Promise<TopicSerde<N>>;
      }
      const serde = build(topic) as unknown as Promise<TopicSerde<SchemaName>>;
      topics.set(topic.name, { schema: topic.schema, serde });
      serde.catch(() => topics.delete(topic.name));
      return serde as unknown as Promise<TopicSerde<N>>;
    },
  };
}

/** " at field.path" for the first invalid fields of a value, to say where an encode failed. */
function invalidPaths(type: avro.Type, value: unknown): string {
  const paths: string[] = [];
  try {
    type.isValid(value, { errorHook: (path) => paths.push(path.join('.') || '(root)') });
  } catch {
    return '';
  }
  return paths.length === 0 ? '' : ` (invalid at ${paths.slice(0, 5).join(', ')})`;
}
