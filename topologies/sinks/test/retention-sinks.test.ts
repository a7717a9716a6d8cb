/**
 * The ClickHouse sinks write each row's retention_days from the organization's current retention,
 * asked of the injected source once per organization per batch; a lookup that fails is retried like
 * any infrastructure failure (nothing goes to the DLQ), unless the store refuses the org id itself
 * (a poison record's: that record goes to the DLQ); without a source, rows take the default (90).
 * Real parts: the embedded log and runner, the in-process registry with the wire-format serde, chDB.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTrace, type TierResult, type Verdict } from '@metronis/schemas';
import { createChdbFactsStore, createPgliteStore, InvalidRecordError, type FactsStore } from '@metronis/stores';
import {
  createEmbeddedLog,
  createInProcessRegistry,
  createSerde,
  DLQ_HEADERS,
  DLQ_TOPIC,
  replay,
  runTopology,
  TOPICS,
  type Log,
  type RunnerHandle,
  type Serde,
  type Topology,
} from '@metronis/streams';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  clickhouseEvaluationFactsSink,
  clickhouseModuleResultFactsSink,
  clickhouseTraceFactsSink,
  retentionOfBatch,
  sinkTopologies,
  type RetentionSource,
} from '../src/index.js';

const SETUP_TIMEOUT_MS = 60_000;

let root: string;
let facts: FactsStore;
let log: Log;
let serde: Serde;
const runners: RunnerHandle[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'metronis-retention-sinks-'));
  facts = createChdbFactsStore({ path: join(root, 'facts') });
  await facts.migrate();
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  await facts?.close();
  await rm(root, { recursive: true, force: true });
});

beforeEach(async () => {
  log = await createEmbeddedLog({ dir: await mkdtemp(join(root, 'log-')) });
  await log.admin.createTopics([
    { name: TOPICS.traces.name, partitions: 2 },
    { name: TOPICS.evaluations.name, partitions: 2 },
    { name: TOPICS.verdicts.name, partitions: 1 },
    { name: DLQ_TOPIC, partitions: 1 },
  ]);
  serde = createSerde(createInProcessRegistry());
});

afterEach(async () => {
  for (const runner of runners.splice(0)) await runner.stop();
  await log.close();
});

function start<N extends 'Trace' | 'TierResult'>(topology: Topology<N>): RunnerHandle {
  const runner = runTopology(topology, {
    log,
    serde,
    logger: { info() {}, warn() {}, error() {} },
    retry: { initialMs: 5, maxMs: 20 },
    consumer: { maxWaitMs: 20 },
  });
  runners.push(runner);
  return runner;
}

/** Polls until `check` returns true (a failing test reports the condition, not a time). */
async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function tierResult(orgId: string, traceId: string): TierResult {
  return {
    evaluation_id: `${traceId}:1`, trace_id: traceId, org_id: orgId, tier: 1, evaluated_at: Date.now(), trace_timestamp: Date.now() - 60_000,
    passed: true, severity: 'none', score: 1, latency_us: 100,
    modules: [{ module: 'pii', version: '1', passed: true, score: 1, severity: 'none', labels: [], findings: [], latency_us: 10 }],
  };
}

/** A retention source that counts its lookups per organization. */
function countingSource(days: Record<string, number>): RetentionSource & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async get(orgId) {
      calls.push(orgId);
      return days[orgId] ?? 90;
    },
  };
}

/** retention_days per org in a table, as distinct values. */
async function retentions(table: string, orgs: string[]): Promise<Record<string, number[]>> {
  const rows = await facts.query<{ org_id: string; r: number[] }>(
    `SELECT org_id, arraySort(groupUniqArray(retention_days)) AS r FROM ${table} WHERE org_id IN {orgs:Array(String)} GROUP BY org_id`,
    { orgs },
  );
  return Object.fromEntries(rows.map((row) => [row.org_id, row.r]));
}

async function count(table: string, orgs: string[]): Promise<number> {
  const [row] = await facts.query<{ n: number }>(`SELECT count() AS n FROM ${table} FINAL WHERE org_id IN {orgs:Array(String)}`, { orgs });
  return Number(row!.n);
}

describe('ClickHouse sinks with a retention source', () => {
  it("write every row with its organization's retention, in all three fact tables", async () => {
    const [a, b, c] = [`org_${randomUUID()}`, `org_${randomUUID()}`, `org_${randomUUID()}`];
    const source = countingSource({ [a]: 30, [b]: 7, [c]: 3650 });
    const traces = [a, b, c, a, b, a].map((org) => makeTrace({ org_id: org, user_id: 'u1' }));
    const traceSerde = await serde.forTopic(TOPICS.traces);
    await log.producer().send(traces.map((t) => ({ topic: TOPICS.traces.name, key: t.trace_id, value: traceSerde.encode(t) })));
    const evaluationSerde = await serde.forTopic(TOPICS.evaluations);
    const results = traces.map((t) => tierResult(t.org_id, t.trace_id));
    await log.producer().send(results.map((r) => ({ topic: TOPICS.evaluations.name, key: r.trace_id, value: evaluationSerde.encode(r) })));

    start(clickhouseTraceFactsSink(facts, { retention: source }));
    start(clickhouseEvaluationFactsSink(facts, { retention: source }));
    start(clickhouseModuleResultFactsSink(facts, { retention: source }));
    const orgs = [a, b, c];
    await until('every fact landed', async () =>
      (await count('trace_facts_v1', orgs)) === 6 && (await count('evaluation_facts_v1', orgs)) === 6 && (await count('module_result_facts_v1', orgs)) === 6,
    );

    for (const table of ['trace_facts_v1', 'evaluation_facts_v1', 'module_result_facts_v1']) {
      expect(await retentions(table, orgs)).toEqual({ [a]: [30], [b]: [7], [c]: [3650] });
    }
    // One lookup per organization per batch: never more lookups of an org than batches were written.
    // A batch counts once committed, which comes after its rows are readable: wait for the commits.
    await until('every batch is committed', () => runners.every((r) => r.stats().processed === 6));
    const batches = runners.reduce((n, r) => n + r.stats().batches, 0);
    for (const org of orgs) {
      const asked = source.calls.filter((o) => o === org).length;
      expect(asked).toBeGreaterThanOrEqual(1);
      expect(asked).toBeLessThanOrEqual(batches);
    }
    expect(source.calls.length).toBeLessThan(traces.length * 3);
  });

  it('retry the batch while the retention lookup fails, then write it, with nothing in the DLQ', async () => {
    const org = `org_${randomUUID()}`;
    let failures = 0;
    const flaky: RetentionSource = {
      async get() {
        if (failures < 2) {
          failures++;
          throw new Error('organizations cache unavailable (injected)');
        }
        return 14;
      },
    };
    const trace = makeTrace({ org_id: org });
    const traceSerde = await serde.forTopic(TOPICS.traces);
    await log.producer().send([{ topic: TOPICS.traces.name, key: trace.trace_id, value: traceSerde.encode(trace) }]);
    const sink = start(clickhouseTraceFactsSink(facts, { retention: flaky }));
    await until('the trace fact landed', async () => (await count('trace_facts_v1', [org])) === 1);
    expect(failures).toBe(2);
    expect(sink.stats().dlq).toBe(0);
    expect(await retentions('trace_facts_v1', [org])).toEqual({ [org]: [14] });
  });

  it('send a record whose org id the store refuses to the DLQ and write the rest of its batch (the fault suite found it blocking the sink)', async () => {
    const org = `org_${randomUUID()}`;
    // what the organizations cache over the store does with an empty id: the store refuses the value
    const source: RetentionSource = {
      async get(orgId) {
        if (orgId === '') throw new Error('organization settings unavailable', { cause: new InvalidRecordError('postgres forOrg', 'organization id must be a string of 1 to 512 characters') });
        return 21;
      },
    };
    const good = [makeTrace({ org_id: org }), makeTrace({ org_id: org })];
    const poison = makeTrace({ org_id: '' });
    const traceSerde = await serde.forTopic(TOPICS.traces);
    await log.producer().send([good[0]!, poison, good[1]!].map((t) => ({ topic: TOPICS.traces.name, key: t.trace_id, value: traceSerde.encode(t) })));
    const sink = start(clickhouseTraceFactsSink(facts, { retention: source }));
    await until('the good trace facts landed and the poison one was dead-lettered', async () => (await count('trace_facts_v1', [org])) === 2 && sink.stats().dlq === 1);
    expect(await retentions('trace_facts_v1', [org])).toEqual({ [org]: [21] });
    const consumer = log.consumer({ groupId: `dlq-${randomUUID()}`, topics: [DLQ_TOPIC] });
    const dead = [];
    for await (const batch of consumer.batches()) {
      dead.push(...batch);
      if (dead.length >= 1) break;
    }
    await consumer.close();
    expect(dead.map((d) => d.key)).toEqual([poison.trace_id]);
    expect(dead[0]!.headers[DLQ_HEADERS.error]).toMatch(/retention of organization "" unavailable/);
    expect(dead[0]!.headers[DLQ_HEADERS.errorName]).toBe('PoisonRecordError');
  });

  it('without a source, write the table default of 90 days', async () => {
    const org = `org_${randomUUID()}`;
    const trace = makeTrace({ org_id: org });
    const traceSerde = await serde.forTopic(TOPICS.traces);
    await log.producer().send([{ topic: TOPICS.traces.name, key: trace.trace_id, value: traceSerde.encode(trace) }]);
    start(clickhouseTraceFactsSink(facts));
    await until('the trace fact landed', async () => (await count('trace_facts_v1', [org])) === 1);
    expect(await retentions('trace_facts_v1', [org])).toEqual({ [org]: [90] });
  });
});

describe('retentionOfBatch', () => {
  it('asks once per distinct organization of the batch', async () => {
    const source = countingSource({ a: 30, b: 7 });
    const of = await retentionOfBatch(source, ['a', 'b', 'a', 'a', 'b']);
    expect(source.calls.sort()).toEqual(['a', 'b']);
    expect([of('a'), of('b'), of('unknown')]).toEqual([30, 7, undefined]);
  });

  it('refuses a value that cannot be a retention, as an infrastructure failure naming the org', async () => {
    for (const bad of [0, -3, 1.5, 70_000, Number.NaN, '30' as unknown as number]) {
      const error = await retentionOfBatch({ get: async () => bad }, ['org_x']).then(
        () => new Error('expected a rejection'),
        (e: Error) => e,
      );
      expect(error.name).toBe('InfrastructureError');
      expect(error.message).toMatch(/retention of organization "org_x" must be an integer in 1\.\.65535 days/);
    }
  });

  it('answers undefined (the table default) without a source', async () => {
    expect((await retentionOfBatch(undefined, ['a']))('a')).toBeUndefined();
  });
});

describe('a replay of the sinks after a retention pass (replay --topology sinks)', () => {
  it('writes back nothing retention deleted, in Postgres and in the facts, even after the retention grew; what was received since lands', async () => {
    const DAY = 86_400_000;
    const store = createPgliteStore();
    try {
      await store.migrate();
      const org = `org_${randomUUID().slice(0, 8)}`;
      await store.createOrganization({ id: org, name: 'Replayed', retention_days: 7 }, { keyId: 'cli', orgId: org });
      const now = Date.now();
      // Received ten days ago (stamped far ahead by the client); received yesterday (stamped a year ago).
      const old = [1, 2, 3].map(() => makeTrace({ org_id: org, received_at: now - 10 * DAY, timestamp: now + 1000 * DAY }));
      const fresh = makeTrace({ org_id: org, received_at: now - DAY, timestamp: now - 400 * DAY });
      const results = [...old, fresh].map((t) => ({ ...tierResult(org, t.trace_id), evaluated_at: t.received_at + 5, trace_timestamp: t.timestamp }));
      const verdicts: Verdict[] = results.map((r) => ({
        trace_id: r.trace_id, org_id: org, tier: 1, decided_at: r.evaluated_at, passed: true, severity: 'none', score: 1, finding_kinds: [], failed_modules: [], application: null, environment: null,
      }));
      const [traceSerde, resultSerde, verdictSerde] = [await serde.forTopic(TOPICS.traces), await serde.forTopic(TOPICS.evaluations), await serde.forTopic(TOPICS.verdicts)];
      await log.producer().send([
        ...[...old, fresh].map((t) => ({ topic: TOPICS.traces.name, key: t.trace_id, value: traceSerde.encode(t) })),
        ...results.map((r) => ({ topic: TOPICS.evaluations.name, key: r.trace_id, value: resultSerde.encode(r) })),
        ...verdicts.map((v) => ({ topic: TOPICS.verdicts.name, key: v.trace_id, value: verdictSerde.encode(v) })),
      ]);
      const retention: RetentionSource = { get: async (orgId) => (await store.forOrg(orgId).getOrganization())?.retention_days ?? 90 };
      const stored = async (traceId: string) => ({
        trace: (await store.getTrace(org, traceId)) !== null,
        verdict: (await store.getVerdict(org, traceId)) !== null,
        evaluations: (await store.getEvaluations(org, traceId)).length,
        facts: await Promise.all(['trace_facts_v1', 'evaluation_facts_v1', 'module_result_facts_v1'].map(async (table) => {
          const [row] = await facts.query<{ n: number }>(`SELECT count() AS n FROM ${table} WHERE org_id = {org:String} AND trace_id = {id:String}`, { org, id: traceId });
          return Number(row!.n);
        })),
      });
      const runAll = async () => {
        const handles = sinkTopologies({ store, facts, retention }).map((t) => start(t as Topology<'Trace' | 'TierResult'>));
        await until('every sink went through the log', () => handles.every((h) => h.stats().processed >= 4));
        for (const handle of handles) await handle.stop();
        runners.splice(0);
      };

      await runAll();
      await store.enforceRetention({ now, batchSize: 100, maxBatches: 10 });
      await facts.setRetention(org, 7);
      for (const t of old) expect(await stored(t.trace_id)).toEqual({ trace: false, verdict: false, evaluations: 0, facts: [0, 0, 0] });
      expect(await stored(fresh.trace_id)).toEqual({ trace: true, verdict: true, evaluations: 1, facts: [1, 1, 1] });

      // The retention grows again, and every sink group is moved back to the start of its topic.
      await store.forOrg(org).setRetention(30, { keyId: 'cli' });
      await facts.setRetention(org, 30);
      for (const t of sinkTopologies({ store, facts })) await replay(log, { groupId: t.groupId, topic: t.input, from: 'earliest' });
      await runAll();
      for (const t of old) expect(await stored(t.trace_id)).toEqual({ trace: false, verdict: false, evaluations: 0, facts: [0, 0, 0] });
      expect((await stored(fresh.trace_id)).trace).toBe(true);
    } finally {
      await store.close();
    }
  }, 120_000);
});
