/**
 * Module result facts (sql/clickhouse/0004_module_result_facts.sql) and their per-minute rollup
 * (0005_module_rollup_minute.sql) on chDB: one row per module of a tier result, a redelivered result
 * collapses under FINAL and is counted once in the rollup, under the module's own severity; the
 * migration backfills module facts stored before the view.
 *
 * chDB binds one data directory per process: this file opens one path, with two DDL folders in turn.
 */
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { ModuleResult, Severity, TierResult } from '@metronis/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChdbFactsStore } from '../src/clickhouse/chdb.js';
import { toModuleResultFacts } from '../src/clickhouse/rows.js';
import { InvalidRecordError } from '../src/errors.js';
import { CLICKHOUSE_DDL_DIR } from '../src/paths.js';
import type { FactsStore, ModuleResultFact } from '../src/types.js';

const MINUTE = 60_000;
/** A whole minute ten minutes ago: recent enough for the TTLs, fixed for the assertions. */
const T0 = Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE;

function moduleResult(module: string, overrides: Partial<ModuleResult> = {}): ModuleResult {
  return { module, version: '1.2.0', passed: true, score: 1, severity: 'none', labels: [], findings: [], latency_us: 10, ...overrides };
}

function finding(kind: string): ModuleResult['findings'][number] {
  return { kind, message: `found ${kind}`, field: 'output', start: 0, end: 4, confidence: 0.9 };
}

/** Tier 1 of a fresh trace: safety fails high, pii fails low with two email findings, format passes. */
function tierResult(org: string, overrides: Partial<TierResult> = {}): TierResult {
  const traceId = randomUUID();
  return {
    evaluation_id: `${traceId}:1`,
    trace_id: traceId,
    org_id: org,
    tier: 1,
    evaluated_at: T0 + 30_000,
    trace_timestamp: T0 + 15_000,
    passed: false,
    severity: 'high',
    score: 0.2,
    latency_us: 900,
    modules: [
      moduleResult('safety', { passed: false, score: 0.1, severity: 'high', labels: ['jailbreak'], findings: [finding('harm'), finding('secret')], latency_us: 300 }),
      moduleResult('pii', { version: '2.0.0', passed: false, score: 0.6, severity: 'low', findings: [finding('email'), finding('email')], latency_us: 100 }),
      moduleResult('format', { latency_us: 500 }),
    ],
    ...overrides,
  };
}

/** The module rows of an org under FINAL, timestamps as epoch milliseconds. */
async function moduleRows(store: FactsStore, org: string): Promise<Array<Record<string, unknown>>> {
  return store.query(
    `SELECT * EXCEPT (evaluated_at, trace_timestamp), toUnixTimestamp64Milli(evaluated_at) AS evaluated_at,
            toUnixTimestamp64Milli(trace_timestamp) AS trace_timestamp
     FROM module_result_facts_v1 FINAL WHERE org_id = {org:String} ORDER BY evaluation_id, module`,
    { org },
  );
}

interface RollupRow {
  minute_ms: number;
  module: string;
  severity: string;
  evaluations: number;
  failed: number;
  avg_latency_us: number;
}

async function rollup(store: FactsStore, org: string): Promise<RollupRow[]> {
  return store.query<RollupRow>(
    `SELECT toUnixTimestamp(minute) * 1000 AS minute_ms, module, severity,
            uniqExactMerge(evaluations) AS evaluations, uniqExactMerge(failed) AS failed,
            avgMerge(latency_avg_us) AS avg_latency_us
     FROM module_rollup_minute_v1 WHERE org_id = {org:String}
     GROUP BY minute, module, severity ORDER BY minute, module, severity`,
    { org },
  );
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: Error) => e,
  );
}

const bySeverity = (rows: ModuleResultFact[], severity: Severity) => rows.filter((r) => r.severity === severity).length;

describe('module result facts and their rollup (chDB)', () => {
  let dir: string;
  let store: FactsStore;
  const backfilledOrg = `org_${randomUUID()}`;
  const backfilled = tierResult(backfilledOrg);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'metronis-module-facts-'));
    // First the schema up to the module facts table (0001–0004) with a result in it; then every file.
    const before = join(dir, 'ddl-before');
    await mkdir(before);
    for (const file of ['0001_trace_facts.sql', '0002_evaluation_facts.sql', '0003_evaluation_rollup_minute.sql', '0004_module_result_facts.sql']) {
      await copyFile(join(CLICKHOUSE_DDL_DIR, file), join(before, file));
    }
    const old = createChdbFactsStore({ path: join(dir, 'facts'), ddlDir: before });
    await old.migrate();
    await old.insertModuleResultFacts(toModuleResultFacts(backfilled));
    await old.close();
    store = createChdbFactsStore({ path: join(dir, 'facts') });
    await store.migrate();
    await store.migrate();
  });
  afterAll(async () => {
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('applies 0004 and 0005 once each', async () => {
    const applied = await store.query<{ version: number; name: string; n: number }>(
      'SELECT version, name, count() AS n FROM schema_migrations WHERE version IN (4, 5) GROUP BY version, name ORDER BY version',
    );
    expect(applied).toEqual([
      { version: 4, name: '0004_module_result_facts', n: 1 },
      { version: 5, name: '0005_module_rollup_minute', n: 1 },
    ]);
  });

  it('declares the facts table keyed by evaluation and module, and the rollup fed by a view', async () => {
    const [facts] = await store.query<{ statement: string }>('SHOW CREATE TABLE module_result_facts_v1');
    expect(facts!.statement).toContain('ENGINE = ReplacingMergeTree(evaluated_at)');
    expect(facts!.statement).toContain('PARTITION BY toYYYYMM(trace_timestamp)');
    expect(facts!.statement).toContain('ORDER BY (org_id, toDate(trace_timestamp), trace_id, evaluation_id, module)');
    expect(facts!.statement).toContain("TTL toDateTime(least(evaluated_at, toDateTime64('2095-01-01 00:00:00', 3, 'UTC'))) + toIntervalDay(retention_days)");
    expect(facts!.statement).toContain('`labels` Array(LowCardinality(String))');
    expect(facts!.statement).toContain('`module_version` LowCardinality(String)');
    const [table] = await store.query<{ statement: string }>('SHOW CREATE TABLE module_rollup_minute_v1');
    expect(table!.statement).toContain('ENGINE = AggregatingMergeTree');
    expect(table!.statement).toContain('ORDER BY (org_id, minute, module, severity)');
    const [view] = await store.query<{ statement: string }>('SHOW CREATE TABLE module_rollup_minute_mv_v1');
    expect(view!.statement).toMatch(/CREATE MATERIALIZED VIEW .*module_rollup_minute_mv_v1 TO .*module_rollup_minute_v1/);
  });

  it('builds one row per module, with the module’s own values and its distinct finding kinds', () => {
    const result = tierResult('org_x');
    const rows = toModuleResultFacts(result, 30);
    expect(rows).toHaveLength(3);
    expect(rows.map((r) => [r.module, r.module_version, r.severity, r.passed, r.finding_kinds])).toEqual([
      ['safety', '1.2.0', 'high', false, ['harm', 'secret']],
      ['pii', '2.0.0', 'low', false, ['email']],
      ['format', '1.2.0', 'none', true, []],
    ]);
    expect(rows.every((r) => r.evaluation_id === result.evaluation_id && r.retention_days === 30 && r.tier === 1)).toBe(true);
    expect(rows.map((r) => r.latency_us)).toEqual([300, 100, 500]);
    expect(toModuleResultFacts(tierResult('org_x', { modules: [] }))).toEqual([]);
  });

  it('stores the three rows of a three-module result once, even when the batch is inserted twice', async () => {
    const org = `org_${randomUUID()}`;
    const result = tierResult(org);
    const rows = toModuleResultFacts(result);
    await store.insertModuleResultFacts(rows);
    await store.insertModuleResultFacts(rows);
    const got = await moduleRows(store, org);
    expect(got).toHaveLength(3);
    const expected = [...rows].sort((a, b) => a.module.localeCompare(b.module)).map((r) => ({ ...r, retention_days: 90 }));
    expect(got).toEqual(expected);
  });

  it('rolls up per minute, module and the module’s own severity, counting a redelivered result once', async () => {
    const org = `org_${randomUUID()}`;
    const first = tierResult(org);
    const second = tierResult(org, {
      modules: [moduleResult('safety', { latency_us: 100 }), moduleResult('pii', { passed: false, severity: 'low', findings: [finding('phone')], latency_us: 300 })],
    });
    const nextMinute = tierResult(org, { trace_timestamp: T0 + MINUTE + 59_999, modules: [moduleResult('safety', { latency_us: 700 })] });
    const rows = [first, second, nextMinute].flatMap((r) => toModuleResultFacts(r));
    expect([bySeverity(rows, 'high'), bySeverity(rows, 'low'), bySeverity(rows, 'none')]).toEqual([1, 2, 3]);
    await store.insertModuleResultFacts(rows);
    // Redelivery of the first result, in a later insert (the view aggregates each insert on its own).
    await store.insertModuleResultFacts(toModuleResultFacts(first));

    expect(await rollup(store, org)).toEqual([
      { minute_ms: T0, module: 'format', severity: 'none', evaluations: 1, failed: 0, avg_latency_us: 500 },
      { minute_ms: T0, module: 'pii', severity: 'low', evaluations: 2, failed: 2, avg_latency_us: 500 / 3 },
      { minute_ms: T0, module: 'safety', severity: 'high', evaluations: 1, failed: 1, avg_latency_us: 300 },
      { minute_ms: T0, module: 'safety', severity: 'none', evaluations: 1, failed: 0, avg_latency_us: 100 },
      { minute_ms: T0 + MINUTE, module: 'safety', severity: 'none', evaluations: 1, failed: 0, avg_latency_us: 700 },
    ]);
  });

  it('backfills the module facts stored before the rollup existed', async () => {
    expect((await rollup(store, backfilledOrg)).map((r) => [r.module, r.severity, r.evaluations, r.failed])).toEqual([
      ['format', 'none', 1, 0],
      ['pii', 'low', 1, 1],
      ['safety', 'high', 1, 1],
    ]);
  });

  it('refuses a module row with a bad value, naming the row, module and field; nothing of the batch lands', async () => {
    const org = `org_${randomUUID()}`;
    const rows = toModuleResultFacts(tierResult(org));
    const error = await rejection(store.insertModuleResultFacts([rows[0]!, { ...rows[1]!, severity: 'fatal' as 'high' }]));
    expect(error).toBeInstanceOf(InvalidRecordError);
    expect(error.message).toMatch(/row 1 \(evaluation ".*:1", module "pii"\): severity must be one of none, low, medium, high, critical, got "fatal"/);
    expect((error as InvalidRecordError).recordIndex).toBe(1);
    const latency = await rejection(store.insertModuleResultFacts([{ ...rows[0]!, latency_us: -1 }]));
    expect(latency.message).toMatch(/latency_us must be a non-negative integer, got -1/);
    const kinds = await rejection(store.insertModuleResultFacts(toModuleResultFacts(tierResult(org, { modules: [moduleResult('pii', { findings: [{} as ReturnType<typeof finding>] })] }))));
    expect(kinds.message).toMatch(/finding_kinds must be an array of strings/);
    expect(await moduleRows(store, org)).toEqual([]);
  });

  it('refuses a tier result whose modules are not an array, naming it', () => {
    const result = { ...tierResult('org_x'), modules: undefined } as unknown as TierResult;
    expect(() => toModuleResultFacts(result)).toThrow(InvalidRecordError);
    expect(() => toModuleResultFacts(result)).toThrow(/tier result ".*:1": modules must be an array, got undefined/);
    const noFindings = tierResult('org_x', { modules: [{ ...moduleResult('pii'), findings: null } as unknown as ModuleResult] });
    expect(() => toModuleResultFacts(noFindings)).toThrow(/modules\[0\] \("pii"\): findings must be an array/);
  });
});
