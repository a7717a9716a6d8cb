/**
 * The evaluation sinks on the real stack (`npm run stack:up`): Kafka as the log, Apicurio as the
 * schema registry, PostgreSQL in a throwaway database. The facts go to chDB: the facts DDL targets
 * current ClickHouse, which Debian's 18.16 server cannot run. The topic is unique per run (the sinks'
 * own topic, renamed), so nothing else's records are read.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TierResult } from '@metronis/schemas';
import { createChdbFactsStore, createPostgresStore, type FactsStore, type RelationalStore } from '@metronis/stores';
import { createConfluentRegistry, createKafkaLog, createSerde, runTopology, TOPICS, type Log, type RunnerHandle, type Serde, type SinkTopology, type TopicDef } from '@metronis/streams';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickhouseEvaluationFactsSink, postgresEvaluationsSink } from '../src/index.js';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const registryUrl = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:18081/apis/ccompat/v7';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://metronis:metronis@127.0.0.1:15432/metronis';
const run = randomUUID().slice(0, 8);
const TOPIC: TopicDef<'TierResult'> = { ...TOPICS.evaluations, name: `it.sinks.${run}.evaluations`, partitions: 2 };
const database = `metronis_test_sinks_${run}`;

let log: Log;
let serde: Serde;
let store: RelationalStore;
let facts: FactsStore;
let dir: string;
const runners: RunnerHandle[] = [];

beforeAll(async () => {
  const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${database}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(DATABASE_URL);
  url.pathname = `/${database}`;
  store = createPostgresStore({ url: url.toString(), max: 2 });
  await store.migrate();
  dir = await mkdtemp(join(tmpdir(), 'metronis-sinks-it-'));
  facts = createChdbFactsStore({ path: join(dir, 'facts') });
  await facts.migrate();
  log = await createKafkaLog({ brokers, clientId: `sinks-it-${run}` });
  await log.admin.createTopics([{ name: TOPIC.name, partitions: TOPIC.partitions }]);
  serde = createSerde(createConfluentRegistry({ url: registryUrl }));
});

afterAll(async () => {
  for (const runner of runners) await runner.stop();
  await log?.close();
  await store?.close();
  await facts?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists "${database}" with (force)`);
  } finally {
    await admin.end();
  }
});

/** The sink on this run's topic, in a group of this run. */
function onRunTopic(sink: SinkTopology<'TierResult'>): SinkTopology<'TierResult'> {
  return { ...sink, input: TOPIC, groupId: `${sink.groupId}.it.${run}` };
}

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function tierResult(orgId: string, traceId: string, tier: number): TierResult {
  return {
    evaluation_id: `${traceId}:${tier}`,
    trace_id: traceId,
    org_id: orgId,
    tier,
    evaluated_at: Date.now(),
    trace_timestamp: Date.now() - 60_000,
    passed: tier !== 1,
    severity: tier === 1 ? 'high' : 'none',
    score: tier === 1 ? 0.3 : 0.9,
    modules: [
      { module: 'safety', version: '1.0.0', passed: tier !== 1, score: 0.3, severity: tier === 1 ? 'high' : 'none', labels: [], findings: [], latency_us: 30, rationale: null },
    ],
    latency_us: 200,
    // The routing fields as a reader of the Avro record sees them (their defaults).
    application: null,
    environment: null,
    model_provider: null,
    model_name: null,
    tags: [],
  };
}

describe('evaluation sinks on Kafka, Apicurio and PostgreSQL', () => {
  it('land every tier result once, also when every record is produced twice', async () => {
    const orgId = `org_${run}`;
    const traceIds = Array.from({ length: 5 }, () => randomUUID());
    const results = traceIds.flatMap((t) => [tierResult(orgId, t, 1), tierResult(orgId, t, 2)]);
    const encoder = await serde.forTopic(TOPIC);
    const records = results.map((r) => ({ topic: TOPIC.name, key: r.trace_id, value: encoder.encode(r) }));
    // The same records twice: what a producer retry or an upstream replay delivers.
    await log.producer().send(records);
    await log.producer().send(records);

    const logger = { info() {}, warn() {}, error() {} };
    const pg = runTopology(onRunTopic(postgresEvaluationsSink(store)), { log, serde, logger });
    const ch = runTopology(onRunTopic(clickhouseEvaluationFactsSink(facts)), { log, serde, logger });
    runners.push(pg, ch);
    await until('both sinks wrote all twenty records', () => pg.stats().processed === 2 * results.length && ch.stats().processed === 2 * results.length);

    const stored = (await Promise.all(traceIds.map((t) => store.getEvaluations(orgId, t)))).flat();
    expect(stored.map((r) => r.evaluation_id).sort()).toEqual(results.map((r) => r.evaluation_id).sort());
    expect(stored.find((r) => r.evaluation_id === results[0]!.evaluation_id)).toEqual(results[0]);
    const [row] = await facts.query<{ n: number; ids: number }>(
      'SELECT count() AS n, uniqExact(evaluation_id) AS ids FROM evaluation_facts_v1 FINAL WHERE org_id = {org:String}',
      { org: orgId },
    );
    expect(row).toEqual({ n: results.length, ids: results.length });
    const [rollup] = await facts.query<{ evaluations: number; failed: number }>(
      'SELECT uniqExactMerge(evaluations) AS evaluations, uniqExactMerge(failed) AS failed FROM evaluation_rollup_minute_v1 WHERE org_id = {org:String}',
      { org: orgId },
    );
    expect(rollup).toEqual({ evaluations: results.length, failed: traceIds.length });
    expect(pg.stats().dlq + ch.stats().dlq).toBe(0);
  });
});
