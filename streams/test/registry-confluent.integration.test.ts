/**
 * The Confluent registry client and our serde against a real Confluent-compatible registry (Apicurio's
 * ccompat API from `npm run stack:up`), including wire compatibility with
 * @kafkajs/confluent-schema-registry: each side decodes the other's bytes.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { SchemaRegistry as KafkajsRegistry } from '@kafkajs/confluent-schema-registry';
import { avroSchema, makeTrace, type SchemaName } from '@metronis/schemas';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import {
  createConfluentRegistry,
  createSerde,
  IncompatibleSchemaError,
  RegistryUnavailableError,
  SerdeError,
  subjectFor,
  TOPICS,
  type TopicDef,
} from '../src/index.js';

const url = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:18081/apis/ccompat/v7';
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

/** A topic of its own per test run, so reruns and other suites do not share subjects. */
function scratchTopic<N extends SchemaName>(topic: TopicDef<N>): TopicDef<N> {
  return { ...topic, name: `it.registry.${randomUUID()}` };
}

describe('Confluent registry client against Apicurio', () => {
  it('registers, returns the same id for the same schema, and serves the schema by id', async () => {
    const subject = `it.registry.${randomUUID()}-value`;
    const id = await createConfluentRegistry({ url }).register(subject, avroSchema('Verdict'));
    // A fresh client (no cache) gets the same id.
    const other = createConfluentRegistry({ url });
    expect(await other.register(subject, avroSchema('Verdict'))).toBe(id);
    const served = avro.Type.forSchema(JSON.parse(await other.getSchema(id)) as avro.Schema);
    expect(served.equals(avro.Type.forSchema(avroSchema('Verdict') as avro.Schema))).toBe(true);
    await other.ping();
  });

  it('rejects an incompatible new version when the subject asks for BACKWARD compatibility', async () => {
    const subject = `it.registry.${randomUUID()}-value`;
    const registry = createConfluentRegistry({ url });
    await registry.register(subject, { type: 'record', name: 'T', fields: [{ name: 'a', type: 'string' }] });
    const config = await fetch(`${url}/config/${encodeURIComponent(subject)}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ compatibility: 'BACKWARD' }),
    });
    expect(config.status).toBe(200);
    const attempt = registry.register(subject, { type: 'record', name: 'T', fields: [{ name: 'a', type: 'string' }, { name: 'b', type: 'int' }] });
    await expect(attempt).rejects.toBeInstanceOf(IncompatibleSchemaError);
    await expect(attempt).rejects.toThrow(/refused to register subject .* \(409\)/);
  });

  it('an unknown id is a SerdeError', async () => {
    await expect(createConfluentRegistry({ url }).getSchema(2_000_000_000)).rejects.toBeInstanceOf(SerdeError);
  });

  it('our bytes decode with @kafkajs/confluent-schema-registry, and its bytes decode with our serde', async () => {
    const topic = scratchTopic(TOPICS.traces);
    const ours = await createSerde(createConfluentRegistry({ url })).forTopic(topic);
    const theirs = new KafkajsRegistry({ host: url });
    const trace = makeTrace({ tags: ['wire'], metadata: { k: 'v' } });

    expect(plain(await theirs.decode(ours.encode(trace)))).toEqual(plain(trace));

    const id = await theirs.getLatestSchemaId(subjectFor(topic.name));
    expect(id).toBe(ours.schemaId);
    const theirBytes = await theirs.encode(id, trace);
    expect(plain(await ours.decode(theirBytes))).toEqual(plain(trace));
  });

  it('decodes bytes written with an older schema version registered in the real registry', async () => {
    const topic = scratchTopic(TOPICS.traces);
    const older = structuredClone(avroSchema('Trace')) as { fields: { name: string }[] };
    older.fields = older.fields.filter((f) => f.name !== 'pii_masked' && f.name !== 'tags');
    const registry = createConfluentRegistry({ url });
    const writer = await createSerde(registry, { schemaOf: () => older }).forTopic(topic);
    const reader = await createSerde(createConfluentRegistry({ url })).forTopic(topic);
    expect(writer.schemaId).not.toBe(reader.schemaId);
    const { pii_masked: _p, tags: _t, ...oldTrace } = makeTrace();
    const decoded = await reader.decode(writer.encode(oldTrace as never));
    expect(plain(decoded)).toEqual(plain({ ...oldTrace, pii_masked: false, tags: [] }));
  });

  it('a registry that is down is RegistryUnavailableError for the serde', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    const serde = createSerde(createConfluentRegistry({ url: `http://127.0.0.1:${port}/apis/ccompat/v7`, timeoutMs: 1000 }));
    await expect(serde.forTopic(scratchTopic(TOPICS.verdicts))).rejects.toBeInstanceOf(RegistryUnavailableError);
  });
});
