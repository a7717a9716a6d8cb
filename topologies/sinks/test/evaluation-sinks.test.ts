/**
 * The evaluation sinks on real parts: the embedded log with the real runner, the in-process registry
 * with the Confluent wire-format serde, PGlite and chDB with the repository's migrations. Records
 * produced land once; records delivered again (a replay of the group) still land once; a record the
 * store refuses goes to the DLQ; an infrastructure failure is retried.
 *
 * chDB binds one data directory per process, so the file shares one facts store and each test uses
 * its own organization.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModuleResult, Severity, TierResult } from '@metronis/schemas';
import { createChdbFactsStore, createPgliteStore, toEvaluationFact, toModuleResultFacts, type FactsStore, type RelationalStore } from '@metronis/stores';
import {
  createEmbeddedLog,
  createInProcessRegistry,
  createSerde,
  DLQ_HEADERS,
  DLQ_TOPIC,
  InfrastructureError,
  replay,
  runTopology,
  TOPICS,
  type Log,
  type LogRecord,
  type RunnerHandle,
  type RunnerLogger,
  type Serde,
  type Topology,
} from '@metronis/streams';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clickhouseEvaluationFactsSink, clickhouseModuleResultFactsSink, postgresEvaluationsSink, sinkTopologies } from '../src/index.js';

const FAST_RETRY = { initialMs: 5, maxMs: 20 };
const SETUP_TIMEOUT_MS = 60_000;

let root: string;
let facts: FactsStore;
let store: RelationalStore;

let dir: string;
let log: Log;
let serde: Serde;
let warnings: Array<{ obj: object; msg?: string }>;
let logger: RunnerLogger;
const runners: RunnerHandle[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'metronis-sinks-'));
  facts = createChdbFactsStore({ path: join(root, 'facts') });
  await facts.migrate();
  store = createPgliteStore();
  await store.migrate();
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  await facts?.close();
  await store?.close();
  await rm(root, { recursive: true, force: true });
});

beforeEach(async () => {
  dir = await mkdtemp(join(root, 'log-'));
  log = await createEmbeddedLog({ dir });
  await log.admin.createTopics([
    { name: TOPICS.evaluations.name, partitions: 2 },
    { name: DLQ_TOPIC, partitions: 1 },
  ]);
  serde = createSerde(createInProcessRegistry());
  warnings = [];
  logger = { info() {}, warn: (obj, msg) => warnings.push({ obj, msg }), error() {} };
});

afterEach(async () => {
  for (const runner of runners.splice(0)) await runner.stop();
  await log.close();
  await rm(dir, { recursive: true, force: true });
});

function start(topology: Topology<'TierResult'>): RunnerHandle {
  const runner = runTopology(topology, { log, serde, logger, retry: FAST_RETRY, consumer: { maxWaitMs: 20 } });
  runners.push(runner);
  return runner;
}

async function stop(runner: RunnerHandle): Promise<void> {
  await runner.stop();
  runners.splice(runners.indexOf(runner), 1);
}

/** Polls until `check` returns true (a failing test reports the condition, not a time). */
async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function moduleResult(module: string, passed: boolean, severity: Severity, kinds: string[] = []): ModuleResult {
  return {
    module,
    version: '1.0.0',
    passed,
    score: passed ? 1 : 0.2,
    severity,
    labels: [],
    findings: kinds.map((kind) => ({ kind, message: `found ${kind}`, field: 'output', start: 0, end: 4, confidence: 0.9 })),
    latency_us: 40,
    // As a reader of the Avro record sees it (its default; tier 3 added it).
    rationale: null,
  };
}

/** A tier result of one trace: tier 1 fails safety with a secret; tier 2 passes. */
function tierResult(orgId: string, traceId: string, tier: number, overrides: Partial<TierResult> = {}): TierResult {
  const failing = tier === 1;
  return {
    evaluation_id: `${traceId}:${tier}`,
    trace_id: traceId,
    org_id: orgId,
    tier,
    evaluated_at: Date.now(),
    trace_timestamp: Date.now() - 60_000,
    passed: !failing,
    severity: failing ? 'critical' : 'none',
    score: failing ? 0.2 : 0.9,
    modules: failing
      ? [moduleResult('safety', false, 'critical', ['secret', 'harm']), moduleResult('pii', true, 'low', ['email', 'secret'])]
      : [moduleResult('classifier', true, 'none')],
    latency_us: 150 * tier,
    // The routing fields as a reader of the Avro record sees them (their defaults).
    application: null,
    environment: null,
    model_provider: null,
    model_name: null,
    tags: [],
    ...overrides,
  };
}

async function produce(results: TierResult[]): Promise<void> {
  const evaluations = await serde.forTopic(TOPICS.evaluations);
  await log.producer().send(results.map((r) => ({ topic: TOPICS.evaluations.name, key: r.trace_id, value: evaluations.encode(r) })));
}

/** Every record of a topic, read by a throwaway group; stops at `count` records or after 10 s. */
async function readTopic(topic: string, count: number): Promise<LogRecord[]> {
  const consumer = log.consumer({ groupId: `reader-${randomUUID()}`, topics: [topic], maxWaitMs: 20 });
  const records: LogRecord[] = [];
  const deadline = Date.now() + 10_000;
  for await (const batch of consumer.batches()) {
    records.push(...batch);
    if (records.length >= count || Date.now() > deadline) break;
  }
  await consumer.close();
  return records;
}

async function factsCount(orgId: string): Promise<number> {
  const [row] = await facts.query<{ n: number }>('SELECT count() AS n FROM evaluation_facts_v1 FINAL WHERE org_id = {org:String}', { org: orgId });
  return Number(row!.n);
}

async function moduleFactsCount(orgId: string): Promise<number> {
  const [row] = await facts.query<{ n: number }>('SELECT count() AS n FROM module_result_facts_v1 FINAL WHERE org_id = {org:String}', { org: orgId });
  return Number(row!.n);
}

async function storedEvaluations(orgId: string, traceIds: string[]): Promise<TierResult[]> {
  return (await Promise.all(traceIds.map((t) => store.getEvaluations(orgId, t)))).flat();
}

/** Two tiers for each of `traces` traces of a fresh organization. */
function results(traces: number): { orgId: string; traceIds: string[]; all: TierResult[] } {
  const orgId = `org_${randomUUID().slice(0, 8)}`;
  const traceIds = Array.from({ length: traces }, () => randomUUID());
  return { orgId, traceIds, all: traceIds.flatMap((t) => [tierResult(orgId, t, 1), tierResult(orgId, t, 2)]) };
}

const byEvaluationId = (a: { evaluation_id: string }, b: { evaluation_id: string }) => a.evaluation_id.localeCompare(b.evaluation_id);

describe('evaluation sinks', () => {
  it('land every tier result once in Postgres and in ClickHouse, and once again after the group is replayed', async () => {
    const { orgId, traceIds, all } = results(6);
    await produce(all);
    const pg = start(postgresEvaluationsSink(store));
    const ch = start(clickhouseEvaluationFactsSink(facts));

    await until('Postgres holds every tier result', async () => (await storedEvaluations(orgId, traceIds)).length === all.length);
    await until('ClickHouse holds every tier result', async () => (await factsCount(orgId)) === all.length);
    expect((await storedEvaluations(orgId, traceIds)).sort(byEvaluationId)).toEqual([...all].sort(byEvaluationId));
    const rows = await facts.query<{ evaluation_id: string; tier: number; passed: boolean; severity: string; modules: string[]; failed_modules: string[]; finding_kinds: string[]; latency_us: number }>(
      `SELECT evaluation_id, tier, passed, severity, modules, failed_modules, finding_kinds, latency_us
       FROM evaluation_facts_v1 FINAL WHERE org_id = {org:String} ORDER BY evaluation_id`,
      { org: orgId },
    );
    expect(rows).toEqual(
      [...all].sort(byEvaluationId).map((r) => {
        const f = toEvaluationFact(r);
        return { evaluation_id: f.evaluation_id, tier: f.tier, passed: f.passed, severity: f.severity, modules: f.modules, failed_modules: f.failed_modules, finding_kinds: f.finding_kinds, latency_us: f.latency_us };
      }),
    );
    expect(rows.find((r) => r.tier === 1)).toMatchObject({ modules: ['safety', 'pii'], failed_modules: ['safety'], finding_kinds: ['secret', 'harm', 'email'] });

    // Redelivery: stop both groups, move them back to the start of the topic, run them again.
    await stop(pg);
    await stop(ch);
    await replay(log, { groupId: postgresEvaluationsSink(store).groupId, topic: TOPICS.evaluations, from: 'earliest' });
    await replay(log, { groupId: clickhouseEvaluationFactsSink(facts).groupId, topic: TOPICS.evaluations, from: 'earliest' });
    const pgAgain = start(postgresEvaluationsSink(store));
    const chAgain = start(clickhouseEvaluationFactsSink(facts));
    await until('both sinks wrote every record again', () => pgAgain.stats().processed === all.length && chAgain.stats().processed === all.length);

    expect(await storedEvaluations(orgId, traceIds)).toHaveLength(all.length);
    expect(await factsCount(orgId)).toBe(all.length);
    for (const traceId of traceIds) expect((await store.getEvaluations(orgId, traceId)).map((r) => r.tier)).toEqual([1, 2]);
    expect(pgAgain.stats().dlq + chAgain.stats().dlq).toBe(0);
  });

  it('feed the per-minute rollup, whose counts do not grow when a result is delivered again', async () => {
    const { orgId, all } = results(4);
    await produce(all);
    const ch = start(clickhouseEvaluationFactsSink(facts));
    await until('ClickHouse holds every tier result', async () => (await factsCount(orgId)) === all.length);
    await stop(ch);
    await replay(log, { groupId: clickhouseEvaluationFactsSink(facts).groupId, topic: TOPICS.evaluations, from: 'earliest' });
    const again = start(clickhouseEvaluationFactsSink(facts));
    await until('the sink wrote every record again', () => again.stats().processed === all.length);

    const rollup = await facts.query<{ module: string; severity: string; evaluations: number; failed: number }>(
      `SELECT module, severity, uniqExactMerge(evaluations) AS evaluations, uniqExactMerge(failed) AS failed
       FROM evaluation_rollup_minute_v1 WHERE org_id = {org:String} GROUP BY module, severity ORDER BY module`,
      { org: orgId },
    );
    expect(rollup).toEqual([
      { module: 'classifier', severity: 'none', evaluations: 4, failed: 0 },
      { module: 'pii', severity: 'critical', evaluations: 4, failed: 0 },
      { module: 'safety', severity: 'critical', evaluations: 4, failed: 4 },
    ]);
  });

  it('land one module row per module result once, and feed the module rollup under each module’s own severity, counting a replay once', async () => {
    const { orgId, all } = results(4);
    const moduleRows = all.flatMap((r) => toModuleResultFacts(r));
    expect(moduleRows).toHaveLength(4 * 3);
    await produce(all);
    const ch = start(clickhouseModuleResultFactsSink(facts));
    await until('ClickHouse holds every module result', async () => (await moduleFactsCount(orgId)) === moduleRows.length);
    await stop(ch);
    await replay(log, { groupId: clickhouseModuleResultFactsSink(facts).groupId, topic: TOPICS.evaluations, from: 'earliest' });
    const again = start(clickhouseModuleResultFactsSink(facts));
    await until('the sink wrote every record again', () => again.stats().processed === all.length);
    expect(again.stats().dlq).toBe(0);

    expect(await moduleFactsCount(orgId)).toBe(moduleRows.length);
    const stored = await facts.query<{ evaluation_id: string; module: string; module_version: string; passed: boolean; severity: string; finding_kinds: string[]; latency_us: number }>(
      `SELECT evaluation_id, module, module_version, passed, severity, finding_kinds, latency_us
       FROM module_result_facts_v1 FINAL WHERE org_id = {org:String} ORDER BY evaluation_id, module`,
      { org: orgId },
    );
    const expected = moduleRows
      .map(({ evaluation_id, module, module_version, passed, severity, finding_kinds, latency_us }) => ({ evaluation_id, module, module_version, passed, severity, finding_kinds, latency_us }))
      .sort((a, b) => a.evaluation_id.localeCompare(b.evaluation_id) || a.module.localeCompare(b.module));
    expect(stored).toEqual(expected);
    expect(stored.find((r) => r.module === 'pii')).toMatchObject({ severity: 'low', finding_kinds: ['email', 'secret'] });

    const rollup = await facts.query<{ module: string; severity: string; evaluations: number; failed: number }>(
      `SELECT module, severity, uniqExactMerge(evaluations) AS evaluations, uniqExactMerge(failed) AS failed
       FROM module_rollup_minute_v1 WHERE org_id = {org:String} GROUP BY module, severity ORDER BY module`,
      { org: orgId },
    );
    expect(rollup).toEqual([
      { module: 'classifier', severity: 'none', evaluations: 4, failed: 0 },
      { module: 'pii', severity: 'low', evaluations: 4, failed: 0 },
      { module: 'safety', severity: 'critical', evaluations: 4, failed: 4 },
    ]);
  });

  it('send a tier result whose module row ClickHouse refuses to the DLQ, naming the module and field, and write the rest', async () => {
    const { orgId, all } = results(3);
    const bad = tierResult(orgId, randomUUID(), 2, { modules: [{ ...moduleResult('classifier', true, 'none'), latency_us: -7 }] });
    await produce([all[0]!, bad, ...all.slice(1)]);
    const ch = start(clickhouseModuleResultFactsSink(facts));
    const good = all.flatMap((r) => toModuleResultFacts(r)).length;
    await until('the good module rows landed and the bad result was set aside', async () => (await moduleFactsCount(orgId)) === good && ch.stats().dlq === 1);

    const [dead] = await readTopic(DLQ_TOPIC, 1);
    expect(dead!.key).toBe(bad.trace_id);
    expect(dead!.headers[DLQ_HEADERS.stage]).toBe('sink-clickhouse-module-result-facts');
    expect(dead!.headers[DLQ_HEADERS.errorName]).toBe('InvalidRecordError');
    expect(dead!.headers[DLQ_HEADERS.error]).toMatch(/module "classifier"\): latency_us must be a non-negative integer, got -7/);
  });

  it('send a tier result ClickHouse refuses to the DLQ, naming the field, and write the rest of the batch', async () => {
    const { orgId, traceIds, all } = results(3);
    const bad = tierResult(orgId, randomUUID(), 1, { trace_timestamp: -5 });
    await produce([...all, bad]);
    const ch = start(clickhouseEvaluationFactsSink(facts));
    await until('the good results landed and the bad one was set aside', async () => (await factsCount(orgId)) === all.length && ch.stats().dlq === 1);

    const [dead] = await readTopic(DLQ_TOPIC, 1);
    expect(dead!.key).toBe(bad.trace_id);
    expect(dead!.headers[DLQ_HEADERS.stage]).toBe('sink-clickhouse-evaluation-facts');
    expect(dead!.headers[DLQ_HEADERS.errorName]).toBe('InvalidRecordError');
    expect(dead!.headers[DLQ_HEADERS.error]).toMatch(/trace_timestamp must be epoch milliseconds, got -5/);
  });

  it('send a tier result Postgres refuses to the DLQ and write the rest of the batch', async () => {
    const { orgId, traceIds, all } = results(3);
    const bad = tierResult(orgId, randomUUID(), 1, { evaluation_id: 'bad\u0000id' });
    await produce([all[0]!, bad, ...all.slice(1)]);
    const pg = start(postgresEvaluationsSink(store));
    await until('the good results landed and the bad one was set aside', async () => (await storedEvaluations(orgId, traceIds)).length === all.length && pg.stats().dlq === 1);

    const [dead] = await readTopic(DLQ_TOPIC, 1);
    expect(dead!.key).toBe(bad.trace_id);
    expect(dead!.headers[DLQ_HEADERS.stage]).toBe('sink-postgres-evaluations');
    expect(dead!.headers[DLQ_HEADERS.errorName]).toBe('InvalidRecordError');
    expect(await store.getEvaluations(orgId, bad.trace_id)).toEqual([]);
  });

  it('retry a batch while the facts store is unavailable, then land it once', async () => {
    const { orgId, all } = results(2);
    let failures = 0;
    const flaky: Pick<FactsStore, 'insertEvaluationFacts' | 'deleteTraces'> = {
      deleteTraces: (orgId, ids) => facts.deleteTraces(orgId, ids),
      async insertEvaluationFacts(rows) {
        if (failures < 2) {
          failures++;
          throw new InfrastructureError('ClickHouse is unavailable (injected)');
        }
        return facts.insertEvaluationFacts(rows);
      },
    };
    await produce(all);
    const ch = start(clickhouseEvaluationFactsSink(flaky));
    await until('the batch landed after the failures', async () => (await factsCount(orgId)) === all.length);
    expect(failures).toBe(2);
    expect(ch.stats().retries).toBeGreaterThanOrEqual(2);
    expect(ch.stats().dlq).toBe(0);
    expect(warnings.some((w) => /failed, retrying/.test(w.msg ?? ''))).toBe(true);
  });
});

describe('sinkTopologies', () => {
  it('runs the evaluation sinks on the evaluations topic, each in its own consumer group', () => {
    const topologies = sinkTopologies({ store, facts });
    const evaluationSinks = topologies.filter((t) => t.input.name === TOPICS.evaluations.name).map((t) => t.name);
    expect(evaluationSinks.sort()).toEqual(['sink-clickhouse-evaluation-facts', 'sink-clickhouse-module-result-facts', 'sink-postgres-evaluations']);
    const groups = topologies.map((t) => t.groupId);
    expect(new Set(groups).size).toBe(groups.length);
    const ch = topologies.find((t) => t.name === 'sink-clickhouse-evaluation-facts');
    expect(ch?.kind === 'sink' && ch.batch).toEqual({ maxRecords: 1_000, maxWaitMs: 1_000 });
    const modules = topologies.find((t) => t.name === 'sink-clickhouse-module-result-facts');
    expect(modules?.kind === 'sink' && modules.batch).toEqual({ maxRecords: 1_000, maxWaitMs: 1_000 });
  });
});
