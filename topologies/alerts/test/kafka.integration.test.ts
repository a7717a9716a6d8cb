/**
 * Alerts on the real stack (`npm run stack:up`): Kafka as the log, Apicurio as the registry,
 * PostgreSQL in a throwaway database, with topics and consumer groups of this run only. Two workers
 * share the consumer groups and the database — two dispatchers competing for the same groups and
 * deliveries — and one of them stops in the middle of a storm (a rebalance). At the local PagerDuty:
 * one incident, a few triggers, one resolve.
 */
import { randomUUID } from 'node:crypto';
import type { Verdict } from '@metronis/schemas';
import { createEgressPolicy, createPostgresStore, createSecretBox, generateSecretsKey, parseSecretsKey, type RelationalStore } from '@metronis/stores';
import { createConfluentRegistry, createKafkaLog, createSerde, runTopology, TOPICS, type Log, type RunnerHandle, type Serde, type TopicDef } from '@metronis/streams';
import postgres from 'postgres';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertProducer, alertsTopologies, channelInputSchema, createAlertConfigCache, createChannelAdapters, ruleSchema, sealChannel, startAlertsLoops, type AlertsNaming, type AlertsRuntime } from '../src/index.js';
import { makeVerdict } from './engine.js';
import { PagerDutyServer, waitFor } from './far-ends.js';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const registryUrl = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:18081/apis/ccompat/v7';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://metronis:metronis@127.0.0.1:15432/metronis';
const run = randomUUID().slice(0, 8);
const database = `metronis_test_alerts_${run}`;
const ORG = `org_alerts_it_${run}`;
const naming: AlertsNaming = {
  verdicts: { ...TOPICS.verdicts, name: `it.alerts.${run}.verdicts`, partitions: 3 } as TopicDef<'Verdict'>,
  evaluations: { ...TOPICS.evaluations, name: `it.alerts.${run}.evaluations`, partitions: 1 } as TopicDef<'TierResult'>,
  alerts: { ...TOPICS.alerts, name: `it.alerts.${run}.alerts`, partitions: 3 } as TopicDef<'Alert'>,
  groups: { verdicts: `it.alerts.${run}.verdicts`, evaluations: `it.alerts.${run}.evaluations`, notifier: `it.alerts.${run}.notifier` },
};

let pd: PagerDutyServer;
let store: RelationalStore;
const box = createSecretBox(parseSecretsKey(generateSecretsKey()));
const logs: Log[] = [];
const workers: { runners: RunnerHandle[]; loops: { stop(): Promise<void> } }[] = [];

async function startWorker(name: string): Promise<(typeof workers)[number]> {
  const log = await createKafkaLog({ brokers, clientId: `alerts-it-${run}-${name}` });
  logs.push(log);
  const serde: Serde = createSerde(createConfluentRegistry({ url: registryUrl }));
  const logger = pino({ level: 'warn', base: { worker: name } });
  const producer = log.producer();
  const runtime: AlertsRuntime = {
    store,
    secrets: box,
    config: createAlertConfigCache({ store: store.alerts, ttlMs: 500 }),
    adapters: createChannelAdapters({ timeoutMs: 2_000, egress: createEgressPolicy({ allow: ['127.0.0.1'] }), retryDelaysMs: { pagerduty: [200, 400, 800] } }),
    alerts: alertProducer(producer, () => serde.forTopic(naming.alerts)),
    logger,
    naming,
    dispatchIntervalMs: 100,
    tickIntervalMs: 500,
    leaseMs: 10_000,
  };
  const worker = {
    runners: alertsTopologies(runtime).map((t) => runTopology(t, { log, serde, logger, retry: { initialMs: 100, maxMs: 1_000 } })),
    loops: startAlertsLoops(runtime),
  };
  workers.push(worker);
  return worker;
}

beforeAll(async () => {
  const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${database}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(DATABASE_URL);
  url.pathname = `/${database}`;
  store = createPostgresStore({ url: url.toString(), max: 6 });
  await store.migrate();
  pd = await new PagerDutyServer().start();
  const setup = await createKafkaLog({ brokers, clientId: `alerts-it-${run}-setup` });
  logs.push(setup);
  await setup.admin.createTopics([naming.verdicts, naming.evaluations, naming.alerts].map((t) => ({ name: t.name, partitions: t.partitions })));
  const actor = { keyId: 'test' };
  await store.alerts.forOrg(ORG).createChannel(sealChannel(box, ORG, 'pd', channelInputSchema.parse({ name: 'pd', type: 'pagerduty', settings: { url: pd.endpoint }, secrets: { routing_key: 'K0123456789abcdef0123456789ABCDE' } })).channel, actor);
  await store.alerts.forOrg(ORG).createRule('leaks', ruleSchema.parse({ name: 'leaks', kind: 'per_event', when: { min_severity: 'high' }, channels: ['pd'], group_wait: '1s', group_interval: '2s', resolve_after: '10s' }), actor);
}, 120_000);

afterAll(async () => {
  for (const w of workers) {
    await w.loops.stop();
    await Promise.all(w.runners.map((r) => r.stop()));
  }
  for (const log of logs) await log.close().catch(() => undefined);
  await store?.close();
  await pd?.close();
  const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists "${database}" with (force)`);
  } finally {
    await admin.end();
  }
}, 120_000);

describe('alerts on Kafka and PostgreSQL', () => {
  it('two workers, a storm of 2,000 critical verdicts and a rebalance in the middle: one incident, a few triggers, one resolve', { timeout: 300_000 }, async () => {
    const a = await startWorker('a');
    await startWorker('b');
    const producerLog = await createKafkaLog({ brokers, clientId: `alerts-it-${run}-producer` });
    logs.push(producerLog);
    const serde = createSerde(createConfluentRegistry({ url: registryUrl }));
    const verdicts = await serde.forTopic(naming.verdicts);
    const producer = producerLog.producer();
    const send = (list: Verdict[]) => producer.send(list.map((v) => ({ topic: naming.verdicts.name, key: v.trace_id, value: verdicts.encode(v) })));
    const storm = Array.from({ length: 2_000 }, () => makeVerdict({ org_id: ORG, application: 'kafka-app' }));
    for (let i = 0; i < 1_000; i += 250) await send(storm.slice(i, i + 250));
    await waitFor('the page', () => pd.triggers().length > 0, 120_000);
    // Worker a leaves the groups mid-storm: its partitions move to b; its dispatcher stops.
    await a.loops.stop();
    await Promise.all(a.runners.map((r) => r.stop()));
    for (let i = 1_000; i < 2_000; i += 250) await send(storm.slice(i, i + 250));
    await producer.close();
    await waitFor('all 2,000 applied', async () => (await store.alerts.forOrg(ORG).listAlerts({ limit: 5 })).reduce((n, x) => n + x.occurrences, 0) >= 2_000, 180_000);
    await waitFor('the resolve', () => pd.resolves().length > 0, 120_000);
    const keys = new Set(pd.events.map((e) => e.dedup_key));
    expect(keys.size).toBe(1);
    const key = [...keys][0]!;
    expect(pd.alerts.get(key)).toMatchObject({ opened: 1, open: false });
    expect(pd.triggers().length).toBeLessThanOrEqual(4);
    expect(pd.resolves()).toHaveLength(1);
    // The far end answered before the attempt was recorded: the history catches up.
    const deliveries = await waitFor('the deliveries recorded', async () => {
      const list = await store.alerts.forOrg(ORG).listDeliveries({ limit: 50 });
      return list.every((d) => d.status === 'delivered') ? list : null;
    });
    expect(deliveries.map((d) => d.kind).sort()).toEqual(['resolve', 'trigger']);
  });
});
