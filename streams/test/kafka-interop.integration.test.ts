/**
 * Interop with an internal team's own producer: kafkajs (a second, independent client) with
 * @kafkajs/confluent-schema-registry against Apicurio's Confluent API writes Avro `Trace` records the
 * way a team would, and the Kafka log reads them: same key → same partition as our partitioner (the
 * Java default partitioner), and the value is the Confluent wire format (magic 0, 4-byte schema id,
 * Avro) that decodes with the schema registered under `metronis.traces.v1-value`.
 *
 * It writes to a fresh topic with the traces topic's partition count, so other suites reading
 * `metronis.traces.v1` see nothing of it.
 */
import { randomUUID } from 'node:crypto';
import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { avroSchema, makeTrace, type Trace } from '@metronis/schemas';
import avro from 'avsc';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaLog } from '../src/kafka/index.js';
import type { Log, LogRecord } from '../src/log.js';
import { partitionFor } from '../src/partitioner.js';
import { TOPICS, subjectFor } from '../src/topics.js';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const registryUrl = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:18081/apis/ccompat/v7';

describe('kafka interop: an internal team producing Avro traces with kafkajs', () => {
  const topic = `interop-traces-${randomUUID().slice(0, 8)}`;
  const partitions = TOPICS.traces.partitions;
  let log: Log;
  let producer: Producer;
  let registry: SchemaRegistry;
  let schemaId: number;

  beforeAll(async () => {
    log = await createKafkaLog({ brokers, clientId: 'interop-test' });
    await log.admin.createTopics([{ name: topic, partitions }]);
    registry = new SchemaRegistry({ host: registryUrl });
    const subject = subjectFor(TOPICS.traces.name);
    // The client refuses to register when its expected compatibility differs from the subject's: pass the subject's own.
    const config = await fetch(`${registryUrl}/config/${subject}?defaultToGlobal=true`);
    const { compatibilityLevel } = (await config.json()) as { compatibilityLevel: string };
    ({ id: schemaId } = await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(avroSchema('Trace')) },
      { subject, compatibility: compatibilityLevel as COMPATIBILITY },
    ));
    // kafkajs v2's default partitioner is the Java-compatible one.
    producer = new Kafka({ clientId: 'internal-team', brokers, logLevel: logLevel.NOTHING }).producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
  });

  afterAll(async () => {
    await producer?.disconnect();
    await log?.close();
  });

  it('reads their records on our partitions, in the Confluent wire format, decodable with the registered schema', async () => {
    const traces: Trace[] = Array.from({ length: 24 }, (_, i) => makeTrace({ application: `team-app-${i}`, tags: [`n${i}`] }));
    const sent = new Map<string, { trace: Trace; partition: number }>();
    for (const trace of traces) {
      const value = await registry.encode(schemaId, trace);
      const [meta] = await producer.send({ topic, acks: -1, messages: [{ key: trace.trace_id, value, headers: { 'x-team': 'search' } }] });
      sent.set(trace.trace_id, { trace, partition: meta!.partition });
    }

    const consumer = log.consumer({ groupId: `interop-${randomUUID().slice(0, 8)}`, topics: [topic] });
    const received: LogRecord[] = [];
    const deadline = Date.now() + 60_000;
    for await (const batch of consumer.batches()) {
      received.push(...batch);
      if (received.length >= traces.length || Date.now() > deadline) break;
    }
    await consumer.close();
    expect(received).toHaveLength(traces.length);

    const type = avro.Type.forSchema(avroSchema('Trace') as avro.Schema);
    for (const record of received) {
      const expected = sent.get(record.key!);
      expect(expected, `unexpected key ${record.key}`).toBeDefined();
      // Their partitioner and ours agree, and both are the Java default partitioner's choice.
      expect(record.partition).toBe(expected!.partition);
      expect(record.partition).toBe(partitionFor(record.key!, partitions));
      expect(record.headers).toEqual({ 'x-team': 'search' });
      // Confluent wire format: magic byte 0, the registry's schema id (big-endian), then the Avro body.
      const value = record.value!;
      expect(value[0]).toBe(0);
      expect(value.readInt32BE(1)).toBe(schemaId);
      expect(type.fromBuffer(value.subarray(5))).toEqual(expected!.trace);
    }
    expect(new Set(received.map((r) => r.partition)).size).toBeGreaterThan(1);
  });

  it('the 5-byte Confluent header is part of the value: raw Avro decoding of the framed bytes fails, the registry decoder reads them', async () => {
    const type = avro.Type.forSchema(avroSchema('Trace') as avro.Schema);
    const good = await registry.encode(schemaId, makeTrace());
    expect(() => type.fromBuffer(good)).toThrow();
    expect(await registry.decode(good)).toMatchObject({ org_id: 'org_test' });
  });
});
