/**
 * The live feed on the real stack (Kafka and the Apicurio registry): two console instances, each with
 * its own feed and hub, both see every trace and verdict produced, so neither takes events from the
 * other; a verdict merges into its trace's row. Topics are this test's own (random names).
 */
import { randomUUID } from 'node:crypto';
import { makeTrace, type Verdict } from '@metronis/schemas';
import { createConfluentRegistry, createKafkaLog, createSerde, TOPICS, type Log, type TopicDef } from '@metronis/streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLiveHub, type LiveMessage } from '../src/live/hub.js';
import { startLiveFeed } from '../src/live/feed.js';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const registryUrl = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:18081/apis/ccompat/v7';
const suffix = randomUUID().slice(0, 8);
const topics = {
  traces: { ...TOPICS.traces, name: `live-feed-traces-${suffix}` } as TopicDef<'Trace'>,
  verdicts: { ...TOPICS.verdicts, name: `live-feed-verdicts-${suffix}` } as TopicDef<'Verdict'>,
};
const org = `org_live_${suffix}`;
let log: Log;

beforeAll(async () => {
  log = await createKafkaLog({ brokers, clientId: `live-feed-${suffix}` });
  await log.admin.createTopics([{ name: topics.traces.name, partitions: 3 }, { name: topics.verdicts.name, partitions: 3 }]);
  // The registry keeps its schemas in PostgreSQL, which an earlier integration file restarts: its first
  // answers after that can be a 500 from a pooled connection that died. Register until it answers.
  for (let attempt = 0; ; attempt++) {
    try {
      const warm = createSerde(createConfluentRegistry({ url: registryUrl }));
      await warm.forTopic(topics.traces);
      await warm.forTopic(topics.verdicts);
      break;
    } catch (error) {
      if (attempt >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}, 60_000);
afterAll(async () => log?.close());

describe('the live feed on Kafka', () => {
  it('gives every console instance every trace and verdict', async () => {
    const serde = createSerde(createConfluentRegistry({ url: registryUrl }));
    const instances = await Promise.all(
      ['one', 'two'].map(async (name) => {
        const hub = createLiveHub({ flushEveryMs: 20 });
        const rows = new Map<string, LiveMessage['rows'][number]>();
        hub.subscribe({ orgId: org, filter: {}, send: (text) => (JSON.parse(text) as LiveMessage).rows.forEach((r) => rows.set(r.trace_id, r)), bufferedAmount: () => 0, shed: () => undefined });
        const feed = await startLiveFeed({ log, serde, hub, name, topics });
        return { hub, rows, feed };
      }),
    );
    const tracesSerde = await serde.forTopic(topics.traces);
    const verdictsSerde = await serde.forTopic(topics.verdicts);
    const producer = log.producer();
    const ids = Array.from({ length: 12 }, (_, i) => `live-${suffix}-${i}`);
    const verdictOf = (id: string): Verdict => ({ trace_id: id, org_id: org, tier: 1, decided_at: Date.now(), passed: false, severity: 'high', score: 0.2, finding_kinds: ['email'], failed_modules: ['pii'], application: null, environment: null });
    const deadline = Date.now() + 60_000;
    const complete = () => instances.every((x) => ids.every((id) => x.rows.get(id)?.severity === 'high' && x.rows.get(id)?.preview !== null));
    // A consumer joins its group in a few seconds on Kafka: send until both instances saw everything
    // (each send repeats the same ids, so what arrives twice merges into the same rows).
    while (!complete() && Date.now() < deadline) {
      await producer.send(ids.map((id) => ({ topic: topics.traces.name, key: id, value: tracesSerde.encode(makeTrace({ trace_id: id, org_id: org, input: { text: `question ${id}`, messages: [] } })) })));
      await producer.send(ids.map((id) => ({ topic: topics.verdicts.name, key: id, value: verdictsSerde.encode(verdictOf(id)) })));
      await new Promise((r) => setTimeout(r, 1_000));
    }
    for (const x of instances) {
      expect([...x.rows.keys()].sort()).toEqual([...ids].sort());
      expect(x.rows.get(ids[0]!)).toMatchObject({ severity: 'high', passed: false, failed_modules: ['pii'], preview: { input: `question ${ids[0]}` } });
    }
    await producer.close();
    for (const x of instances) {
      await x.feed.close();
      x.hub.close();
    }
  }, 90_000);
});
