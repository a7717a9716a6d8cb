/**
 * The gateway in distributed mode, against the real services of `npm run stack:up`: Kafka (acks from
 * the broker), the Apicurio registry through its Confluent API (the wire format's schema id), and
 * PostgreSQL for keys. Keys, org and trace ids are unique per run, so the shared services can hold
 * other data. The records are read back from Kafka with a fresh consumer group positioned at the
 * start time of the run.
 */
import { randomUUID } from 'node:crypto';
import { toTraceRecord, type PublicTrace, type Trace } from '@metronis/schemas';
import { createPostgresStore, type RelationalStore } from '@metronis/stores';
import { createConfluentRegistry, createKafkaLog, createSerde, TOPICS, type Log, type LogRecord, type TopicSerde } from '@metronis/streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKeyAuthenticator, createGatewayApp, hashApiKey, startGateway, type RunningGateway } from '../src/index.js';
import { memoryLogger, traceBody } from './fixtures.js';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const registryUrl = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:18081/apis/ccompat/v7';
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://metronis:metronis@127.0.0.1:15432/metronis';

const run = randomUUID().slice(0, 8);
const org = `org_gw_${run}`;
const key = `mk_gw_${run}_${randomUUID()}`;

describe('ingest gateway over Kafka, the Confluent registry and Postgres', () => {
  let log: Log;
  let store: RelationalStore;
  let traces: TopicSerde<'Trace'>;
  let server: RunningGateway;
  const logger = memoryLogger();
  const startedAt = Date.now();

  beforeAll(async () => {
    log = await createKafkaLog({ brokers, clientId: `gateway-test-${run}` });
    await log.admin.createTopics([{ name: TOPICS.traces.name, partitions: TOPICS.traces.partitions }]);
    traces = await createSerde(createConfluentRegistry({ url: registryUrl })).forTopic(TOPICS.traces);
    store = createPostgresStore({ url: databaseUrl, max: 2 });
    await store.migrate();
    await store.ensureOrganization(org, 'Gateway test');
    await store.putApiKey({ id: `key_${run}`, org_id: org, hash: hashApiKey(key), prefix: key.slice(0, 8), scopes: ['ingest'] });
    const app = createGatewayApp({
      producer: log.producer(),
      encodeTrace: (trace) => traces.encode(trace),
      authenticate: createApiKeyAuthenticator({ store }),
      ready: async () => ({ log: await log.admin.ping().then(() => true, () => false) }),
      logger,
    });
    server = await startGateway({ app, port: 0, logger });
  });

  afterAll(async () => {
    await server?.close();
    await log?.close();
    await store?.close();
  });

  /** Reads the traces topic from the start of this run until every id is found. */
  async function readBack(ids: string[]): Promise<Map<string, { record: LogRecord; trace: Trace }>> {
    const groupId = `gateway-test-${run}-${randomUUID().slice(0, 8)}`;
    await log.admin.resetOffsets(groupId, TOPICS.traces.name, { timestamp: startedAt - 1_000 });
    const consumer = log.consumer({ groupId, topics: [TOPICS.traces.name], maxWaitMs: 200 });
    const found = new Map<string, { record: LogRecord; trace: Trace }>();
    const deadline = Date.now() + 60_000;
    try {
      for await (const batch of consumer.batches()) {
        for (const record of batch) {
          if (record.key === null || !ids.includes(record.key)) continue;
          found.set(record.key, { record, trace: await traces.decode(record.value) });
        }
        if (found.size === ids.length || Date.now() > deadline) break;
      }
    } finally {
      await consumer.close();
    }
    return found;
  }

  const post = (path: string, body: unknown, apiKey = key) =>
    fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` }, body: JSON.stringify(body) });

  it('answers 202 after Kafka acknowledged, and the records on the topic decode to toTraceRecord of the bodies', async () => {
    const single = traceBody({ trace_id: `gw-${run}-1` });
    const batch = [traceBody({ trace_id: `gw-${run}-2` }), { trace_id: `gw-${run}-3`, input: 'q', output: 'a' }];
    const one = await post('/v1/traces', single);
    expect(one.status).toBe(202);
    const many = await post('/v1/traces/batch', { traces: batch });
    expect(many.status).toBe(202);
    expect(((await many.json()) as { accepted: unknown[] }).accepted).toHaveLength(2);

    const found = await readBack([`gw-${run}-1`, `gw-${run}-2`, `gw-${run}-3`]);
    expect([...found.keys()].sort()).toEqual([`gw-${run}-1`, `gw-${run}-2`, `gw-${run}-3`]);
    for (const [i, body] of [single, ...batch].entries()) {
      const { trace } = found.get(`gw-${run}-${i + 1}`)!;
      expect(trace).toEqual(toTraceRecord(body as PublicTrace, { orgId: org, receivedAt: trace.received_at, generateId: () => 'unused' }));
      expect(trace.received_at).toBeGreaterThanOrEqual(startedAt);
    }
    expect(found.get(`gw-${run}-1`)!.record.value!.readUInt32BE(1)).toBe(traces.schemaId);
  });

  it('refuses an unknown key and answers /readyz from the broker', async () => {
    expect((await post('/v1/traces', traceBody(), `${key}-not`)).status).toBe(401);
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { log: true } });
  });

  it('answers 503 with Retry-After, and nothing accepted, when no broker answers', async () => {
    // A real Kafka client pointed at a port where no broker listens.
    const nowhere = await createKafkaLog({ brokers: ['127.0.0.1:1'], clientId: `gateway-test-${run}-down`, requestTimeoutMs: 2_000 });
    const down = createGatewayApp({
      producer: nowhere.producer(),
      encodeTrace: (trace) => traces.encode(trace),
      authenticate: createApiKeyAuthenticator({ store }),
      ready: async () => ({ log: await nowhere.admin.ping().then(() => true, () => false) }),
      logger,
      limits: { produceTimeoutMs: 5_000 },
    });
    try {
      const res = await down.request('/v1/traces/batch', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ traces: [traceBody({ trace_id: `gw-${run}-lost` })] }),
      });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      const body = (await res.json()) as { error: { code: string }; accepted?: unknown };
      expect(body.error.code).toBe('log_unavailable');
      expect(body.accepted).toBeUndefined();
      const ready = await down.request('/readyz');
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { checks: object }).checks).toEqual({ log: false });
    } finally {
      await nowhere.close();
    }
  });
});
