/**
 * Retention, deletion and organization-scoped reads of the facts store on chDB, with the real DDL of
 * sql/clickhouse: setRetention drops an organization's rows past the new retention and keeps the
 * rest; deleteTraces and deleteUserData remove exactly the rows asked for, in all three fact tables,
 * and answer how many; forOrg refuses SQL that does not filter by its organization.
 *
 * chDB binds one data directory per process: this file shares one store, and each test uses its own
 * organizations.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChdbFactsStore } from '../src/clickhouse/chdb.js';
import { DELETE_CHUNK_SIZE, MAX_RETENTION_DAYS } from '../src/clickhouse/lifecycle.js';
import { StoreError } from '../src/errors.js';
import type { EvaluationFact, FactsStore, ModuleResultFact, TraceFact } from '../src/types.js';

const DAY = 86_400_000;
const TABLES = ['trace_facts_v1', 'evaluation_facts_v1', 'module_result_facts_v1'] as const;

let dir: string;
let store: FactsStore;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'metronis-lifecycle-'));
  store = createChdbFactsStore({ path: join(dir, 'facts') });
  await store.migrate();
});

afterAll(async () => {
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

interface TraceSpec {
  org: string;
  trace: string;
  user?: string;
  /** how long ago the trace happened */
  ageMs?: number;
  /** when the trace happened (epoch ms); overrides ageMs */
  at?: number;
  retention?: number;
}

/** One trace's facts: its trace fact, two tier results (evaluation facts), two modules per tier. */
async function storeTrace({ org, trace, user = 'u1', ageMs = 60_000, at, retention }: TraceSpec): Promise<void> {
  const timestamp = at ?? Date.now() - ageMs;
  const keep = retention === undefined ? {} : { retention_days: retention };
  const traceFact: TraceFact = {
    org_id: org, trace_id: trace, timestamp, received_at: timestamp + 1000, application: 'search', environment: 'prod',
    model_provider: 'openai', model_name: 'gpt-4o-mini', input_tokens: 10, output_tokens: 5, cost_usd: 0.001, latency_ms: 300,
    user_id: user, ...keep,
  };
  const evaluations: EvaluationFact[] = [1, 2].map((tier) => ({
    evaluation_id: `${trace}:${tier}`, org_id: org, trace_id: trace, tier, evaluated_at: timestamp + 2000, trace_timestamp: timestamp,
    passed: true, severity: 'none', score: 1, latency_us: 100, modules: ['pii', 'format'], failed_modules: [], finding_kinds: [], ...keep,
  }));
  const modules: ModuleResultFact[] = evaluations.flatMap((e) =>
    e.modules.map((module) => ({
      evaluation_id: e.evaluation_id, org_id: org, trace_id: trace, tier: e.tier, module, module_version: '1', evaluated_at: e.evaluated_at,
      trace_timestamp: timestamp, passed: true, score: 1, severity: 'none' as const, labels: [], finding_kinds: [], latency_us: 10, ...keep,
    })),
  );
  await store.insertTraceFacts([traceFact]);
  await store.insertEvaluationFacts(evaluations);
  await store.insertModuleResultFacts(modules);
}

/** Rows physically present per table and trace id (no FINAL: duplicates and masked rows would show). */
async function present(org: string): Promise<Record<string, Record<string, number>>> {
  const out: Record<string, Record<string, number>> = {};
  for (const table of TABLES) {
    const rows = await store.query<{ trace_id: string; n: number }>(
      `SELECT trace_id, count() AS n FROM ${table} WHERE org_id = {org:String} GROUP BY trace_id ORDER BY trace_id`,
      { org },
    );
    out[table] = Object.fromEntries(rows.map((r) => [r.trace_id, r.n]));
  }
  return out;
}

const org = () => `org_${randomUUID()}`;

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: Error) => e,
  );
}

describe('deleteTraces', () => {
  it("deletes one organization's trace in all three tables and leaves the other organization's same trace id", async () => {
    const [a, b] = [org(), org()];
    await storeTrace({ org: a, trace: 't1' });
    await storeTrace({ org: a, trace: 't1' }); // redelivered: duplicates not merged yet
    await storeTrace({ org: a, trace: 't2' });
    await storeTrace({ org: b, trace: 't1' });

    expect(await store.deleteTraces(a, ['t1', 't1'])).toEqual({ trace_facts: 1, evaluation_facts: 2, module_result_facts: 4 });

    const per = (n: [number, number, number]) => ({ trace_facts_v1: n[0], evaluation_facts_v1: n[1], module_result_facts_v1: n[2] });
    const expected = per([1, 2, 4]);
    const left = await present(a);
    for (const table of TABLES) expect(left[table]).toEqual({ t2: expected[table] });
    const other = await present(b);
    for (const table of TABLES) expect(other[table]).toEqual({ t1: expected[table] });

    // Asked again, nothing is left to delete.
    expect(await store.deleteTraces(a, ['t1'])).toEqual({ trace_facts: 0, evaluation_facts: 0, module_result_facts: 0 });
  });

  it('removes the rows from the parts (a mutation, not a mask) and leaves no mutation running', async () => {
    const a = org();
    await storeTrace({ org: a, trace: 'gone' });
    await store.deleteTraces(a, ['gone']);
    for (const table of TABLES) {
      // _row_exists = 0 would be a lightweight delete's mask: the row still on disk.
      const [row] = await store.query<{ n: number }>(
        `SELECT count() AS n FROM ${table} WHERE org_id = {org:String} SETTINGS apply_deleted_mask = 0`,
        { org: a },
      );
      expect(row).toEqual({ n: 0 });
    }
    expect(await store.query("SELECT table FROM system.mutations WHERE NOT is_done AND database = currentDatabase()")).toEqual([]);
  });

  it('binds ids with quotes, backslashes, control characters, emoji and bidi marks exactly', async () => {
    const [a, b] = [org(), org()];
    const odd = ["it's", 'back\\slash', 'tab\there', 'new\nline', 'nul\u0000id', '😀 trace', '\u202eevil', "x') OR 1=1 --", '{org:String}', 'a,b', "['t']"];
    for (const trace of [...odd, 'plain']) {
      await storeTrace({ org: a, trace });
      await storeTrace({ org: b, trace });
    }
    expect(await store.deleteTraces(a, odd)).toEqual({ trace_facts: odd.length, evaluation_facts: 2 * odd.length, module_result_facts: 4 * odd.length });
    for (const table of TABLES) {
      expect(Object.keys((await present(a))[table]!)).toEqual(['plain']);
      expect(Object.keys((await present(b))[table]!).sort()).toEqual([...odd, 'plain'].sort());
    }
  });

  it('sums the counts over several statements when the ids exceed one chunk', async () => {
    const a = org();
    for (const trace of ['first', 'middle', 'last']) await storeTrace({ org: a, trace });
    await storeTrace({ org: a, trace: 'kept' });
    const filler = Array.from({ length: DELETE_CHUNK_SIZE + 500 }, () => randomUUID());
    const ids = ['first', ...filler.slice(0, DELETE_CHUNK_SIZE), 'middle', ...filler.slice(DELETE_CHUNK_SIZE), 'last'];
    expect(await store.deleteTraces(a, ids)).toEqual({ trace_facts: 3, evaluation_facts: 6, module_result_facts: 12 });
    for (const table of TABLES) expect(Object.keys((await present(a))[table]!)).toEqual(['kept']);
  });

  it('answers zeros for an empty list without touching anything, and refuses bad arguments', async () => {
    const a = org();
    await storeTrace({ org: a, trace: 't1' });
    expect(await store.deleteTraces(a, [])).toEqual({ trace_facts: 0, evaluation_facts: 0, module_result_facts: 0 });
    expect(await store.deleteTraces(a, ['no-such-trace'])).toEqual({ trace_facts: 0, evaluation_facts: 0, module_result_facts: 0 });
    await expect(store.deleteTraces(a, [''])).rejects.toThrow(/^chdb deleteTraces: traceIds\[0\] must be a non-empty string, got ""/);
    await expect(store.deleteTraces(a, ['t1', 7 as unknown as string])).rejects.toThrow(TypeError);
    await expect(store.deleteTraces(a, 't1' as unknown as string[])).rejects.toThrow(/traceIds must be an array/);
    await expect(store.deleteTraces('', ['t1'])).rejects.toThrow(/orgId must be a non-empty string/);
    expect((await present(a)).trace_facts_v1).toEqual({ t1: 1 });
  });
});

describe('deleteUserData', () => {
  it("removes exactly the user's traces in all three tables, within the organization, and counts them", async () => {
    const [a, b] = [org(), org()];
    await storeTrace({ org: a, trace: 'u-1', user: 'alice' });
    await storeTrace({ org: a, trace: 'u-2', user: 'alice', ageMs: 40 * DAY }); // another month's partition
    await storeTrace({ org: a, trace: 'u-2', user: 'alice', ageMs: 40 * DAY }); // a duplicate not merged yet
    await storeTrace({ org: a, trace: 'other', user: 'bob' });
    await storeTrace({ org: a, trace: 'anon', user: '' });
    await storeTrace({ org: b, trace: 'u-1', user: 'alice' }); // same user id and trace id, another org

    expect(await store.deleteUserData(a, 'alice')).toEqual({ trace_facts: 2, evaluation_facts: 4, module_result_facts: 8 });

    const left = await present(a);
    expect(left.trace_facts_v1).toEqual({ anon: 1, other: 1 });
    expect(left.evaluation_facts_v1).toEqual({ anon: 2, other: 2 });
    expect(left.module_result_facts_v1).toEqual({ anon: 4, other: 4 });
    const other = await present(b);
    expect(other.trace_facts_v1).toEqual({ 'u-1': 1 });
    expect(other.module_result_facts_v1).toEqual({ 'u-1': 4 });
    expect(await store.deleteUserData(a, 'alice')).toEqual({ trace_facts: 0, evaluation_facts: 0, module_result_facts: 0 });
  });

  it('refuses an empty user id, which would mean every anonymous trace', async () => {
    const a = org();
    await storeTrace({ org: a, trace: 'anon', user: '' });
    const error = await rejection(store.deleteUserData(a, ''));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toMatch(/^chdb deleteUserData: userId must be a non-empty string/);
    expect((await present(a)).trace_facts_v1).toEqual({ anon: 1 });
  });
});

describe('setRetention', () => {
  it("drops the organization's rows past the new retention at once, keeps recent ones, and leaves other organizations alone", async () => {
    const [a, b] = [org(), org()];
    await storeTrace({ org: a, trace: 'old', ageMs: 10 * DAY });
    await storeTrace({ org: a, trace: 'recent', ageMs: 2 * DAY });
    await storeTrace({ org: b, trace: 'old', ageMs: 10 * DAY });

    await store.setRetention(a, 5);

    // No OPTIMIZE: the mutation recalculates the TTL of the parts it rewrites and drops expired rows.
    const left = await present(a);
    for (const table of TABLES) expect(Object.keys(left[table]!)).toEqual(['recent']);
    for (const table of TABLES) expect(Object.keys((await present(b))[table]!)).toEqual(['old']);
    const retention = async (o: string) =>
      Promise.all(TABLES.map((t) => store.query<{ r: number }>(`SELECT DISTINCT retention_days AS r FROM ${t} WHERE org_id = {org:String}`, { org: o })));
    expect(await retention(a)).toEqual([[{ r: 5 }], [{ r: 5 }], [{ r: 5 }]]);
    expect(await retention(b)).toEqual([[{ r: 90 }], [{ r: 90 }], [{ r: 90 }]]);

    // Longer again: nothing comes back, the kept rows carry the new value.
    await store.setRetention(a, 30);
    expect(await retention(a)).toEqual([[{ r: 30 }], [{ r: 30 }], [{ r: 30 }]]);
    expect(Object.keys((await present(a)).trace_facts_v1!)).toEqual(['recent']);
  });

  it("keys retention on when Metronis received and evaluated a trace, not on the client's timestamp", async () => {
    const a = org();
    const now = Date.now();
    // Stamped far in the future by a wrong client clock, received ten days ago: expires on schedule.
    // Stamped a year ago (a backfill), received yesterday: stays.
    const traces = [
      { trace: 'future-stamp', timestamp: now + 3000 * DAY, received: now - 10 * DAY },
      { trace: 'old-stamp', timestamp: now - 400 * DAY, received: now - DAY },
    ];
    for (const { trace, timestamp, received } of traces) {
      await store.insertTraceFacts([
        { org_id: a, trace_id: trace, timestamp, received_at: received, application: '', environment: '', model_provider: '', model_name: '', input_tokens: 0, output_tokens: 0, cost_usd: 0, latency_ms: 0, user_id: '' },
      ]);
      const evaluation: EvaluationFact = {
        evaluation_id: `${trace}:1`, org_id: a, trace_id: trace, tier: 1, evaluated_at: received + 5, trace_timestamp: timestamp,
        passed: true, severity: 'none', score: 1, latency_us: 1, modules: ['pii'], failed_modules: [], finding_kinds: [],
      };
      await store.insertEvaluationFacts([evaluation]);
      await store.insertModuleResultFacts([
        { evaluation_id: evaluation.evaluation_id, org_id: a, trace_id: trace, tier: 1, module: 'pii', module_version: '1', evaluated_at: evaluation.evaluated_at,
          trace_timestamp: timestamp, passed: true, score: 1, severity: 'none', labels: [], finding_kinds: [], latency_us: 1 },
      ]);
    }
    await store.setRetention(a, 7);
    const left = await present(a);
    for (const table of TABLES) expect(Object.keys(left[table]!)).toEqual(['old-stamp']);
  });

  it('refuses days that are not an integer in 1..3650 and changes nothing', async () => {
    const a = org();
    await storeTrace({ org: a, trace: 't', ageMs: 2 * DAY });
    expect(MAX_RETENTION_DAYS).toBe(3650);
    for (const days of [0, -1, 1.5, 3651, Number.NaN, Number.POSITIVE_INFINITY, '30' as unknown as number]) {
      const error = await rejection(store.setRetention(a, days));
      expect(error).toBeInstanceOf(RangeError);
      expect(error.message).toMatch(/^chdb setRetention: days must be an integer in 1\.\.3650/);
    }
    await expect(store.setRetention('', 30)).rejects.toThrow(/orgId must be a non-empty string/);
    await store.setRetention(a, 3650);
    await store.setRetention(a, 1);
    expect((await present(a)).trace_facts_v1).toEqual({}); // two days old, one day of retention
  });
});

describe('forOrg', () => {
  it("returns only the scope's rows, binding org_id itself", async () => {
    const [a, b] = [org(), org()];
    await storeTrace({ org: a, trace: 'a1' });
    await storeTrace({ org: b, trace: 'b1' });
    const rows = await store.forOrg(a).query<{ org_id: string; trace_id: string }>(
      'SELECT org_id, trace_id FROM trace_facts_v1 FINAL WHERE org_id = {org_id:String} AND model_name = {model:String}',
      { model: 'gpt-4o-mini' },
    );
    expect(rows).toEqual([{ org_id: a, trace_id: 'a1' }]);
  });

  it('refuses SQL without the organization parameter, with it only in a comment, with its own org_id, or that is not a read', async () => {
    const [a, b] = [org(), org()];
    await storeTrace({ org: a, trace: 'a1' });
    await storeTrace({ org: b, trace: 'b1' });
    const scoped = store.forOrg(a);
    await expect(scoped.query('SELECT trace_id FROM trace_facts_v1')).rejects.toThrow(/must filter by \{org_id:String\}/);
    await expect(scoped.query('SELECT trace_id FROM trace_facts_v1 WHERE org_id = {org:String}', { org: b })).rejects.toThrow(TypeError);
    await expect(scoped.query('SELECT trace_id FROM trace_facts_v1 -- WHERE org_id = {org_id:String}')).rejects.toThrow(/must filter by/);
    await expect(scoped.query('SELECT trace_id FROM trace_facts_v1 /* org_id = {org_id:String} */')).rejects.toThrow(/must filter by/);
    await expect(scoped.query('SELECT trace_id FROM trace_facts_v1 WHERE org_id = {org_id:String}', { org_id: b })).rejects.toThrow(
      /the org_id parameter is the scope's own/,
    );
    await expect(scoped.query('ALTER TABLE trace_facts_v1 DELETE WHERE org_id = {org_id:String}')).rejects.toThrow(/only SELECT or WITH/);
    expect((await present(a)).trace_facts_v1).toEqual({ a1: 1 });
    expect(() => store.forOrg('')).toThrow(/forOrg: orgId must be a non-empty string/);
  });

  it("refuses an answer holding another organization's rows", async () => {
    const [a, b] = [org(), org()];
    await storeTrace({ org: a, trace: 'a1' });
    await storeTrace({ org: b, trace: 'b1' });
    const error = await rejection(
      store.forOrg(a).query('SELECT org_id, trace_id FROM trace_facts_v1 WHERE org_id = {org_id:String} OR org_id = {other:String}', { other: b }),
    );
    expect(error).toBeInstanceOf(StoreError);
    expect(error.message).toMatch(/returned a row of another organization/);
  });

  it('counts what is stored per table under FINAL, with the span of trace timestamps and the retentions', async () => {
    const [a, empty] = [org(), org()];
    const [old, recent] = [Date.now() - 3 * DAY, Date.now() - DAY];
    await storeTrace({ org: a, trace: 't1', at: old, retention: 30 });
    await storeTrace({ org: a, trace: 't1', at: old, retention: 30 }); // duplicate: counts once
    await storeTrace({ org: a, trace: 't2', at: recent });
    await storeTrace({ org: org(), trace: 't3' });
    const inventory = await store.forOrg(a).storedCounts();
    expect(inventory.org_id).toBe(a);
    const span = { oldest: old, newest: recent };
    expect(inventory.trace_facts).toEqual({ rows: 2, ...span, retention_days: { min: 30, max: 90 } });
    expect(inventory.evaluation_facts).toEqual({ rows: 4, ...span, retention_days: { min: 30, max: 90 } });
    expect(inventory.module_result_facts).toEqual({ rows: 8, ...span, retention_days: { min: 30, max: 90 } });
    // Two modules (pii, format) under one severity, in the minutes of t1 and t2: rows per minute and module.
    const minutes = { oldest: Math.floor(old / 60_000) * 60_000, newest: Math.floor(recent / 60_000) * 60_000 };
    expect(inventory.rollups.module_rollup_minute).toEqual({ rows: 4, ...minutes, retention_days: 395 });
    expect(inventory.rollups.evaluation_rollup_minute).toEqual({ rows: 4, ...minutes, retention_days: 395 });

    expect(await store.forOrg(empty).storedCounts()).toEqual({
      org_id: empty,
      trace_facts: { rows: 0, oldest: null, newest: null, retention_days: null },
      evaluation_facts: { rows: 0, oldest: null, newest: null, retention_days: null },
      module_result_facts: { rows: 0, oldest: null, newest: null, retention_days: null },
      rollups: {
        module_rollup_minute: { rows: 0, oldest: null, newest: null, retention_days: 395 },
        evaluation_rollup_minute: { rows: 0, oldest: null, newest: null, retention_days: 395 },
      },
    });
  });
});
