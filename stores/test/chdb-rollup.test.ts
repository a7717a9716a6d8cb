/**
 * The per-minute evaluation rollup (sql/clickhouse/0003_evaluation_rollup_minute.sql) on chDB: the
 * materialized view fills it from evaluation_facts_v1, read back with the -Merge combinators; a
 * redelivered evaluation is counted once; the migration backfills facts stored before the view.
 *
 * chDB binds one data directory per process: this file opens one path, with two DDL folders in turn.
 */
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChdbFactsStore } from '../src/clickhouse/chdb.js';
import { CLICKHOUSE_DDL_DIR } from '../src/paths.js';
import type { EvaluationFact, FactsStore } from '../src/types.js';

const MINUTE = 60_000;
/** A whole minute ten minutes ago: recent enough for the TTLs, fixed for the assertions. */
const T0 = Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE;

function evaluation(org: string, overrides: Partial<EvaluationFact> = {}): EvaluationFact {
  const traceId = randomUUID();
  return {
    evaluation_id: `${traceId}:1`,
    org_id: org,
    trace_id: traceId,
    tier: 1,
    evaluated_at: T0 + 30_000,
    trace_timestamp: T0 + 15_000,
    passed: true,
    severity: 'none',
    score: 1,
    latency_us: 100,
    modules: ['safety', 'pii'],
    failed_modules: [],
    finding_kinds: [],
    ...overrides,
  };
}

interface RollupRow {
  minute_ms: number;
  module: string;
  severity: string;
  evaluations: number;
  failed: number;
  avg_latency_us: number;
  p50_us: number;
}

async function rollup(store: FactsStore, org: string): Promise<RollupRow[]> {
  return store.query<RollupRow>(
    `SELECT toUnixTimestamp(minute) * 1000 AS minute_ms, module, severity,
            uniqExactMerge(evaluations) AS evaluations, uniqExactMerge(failed) AS failed,
            avgMerge(latency_avg_us) AS avg_latency_us,
            quantilesMerge(0.5, 0.9, 0.99)(latency_quantiles_us)[1] AS p50_us
     FROM evaluation_rollup_minute_v1 WHERE org_id = {org:String}
     GROUP BY minute, module, severity ORDER BY minute, module, severity`,
    { org },
  );
}

describe('evaluation rollup per minute (chDB)', () => {
  let dir: string;
  let store: FactsStore;
  const backfilledOrg = `org_${randomUUID()}`;
  const backfilled = [
    evaluation(backfilledOrg, { passed: false, severity: 'high', failed_modules: ['safety'], latency_us: 300 }),
    evaluation(backfilledOrg),
  ];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'metronis-rollup-'));
    // First the schema as it was before the rollup, with facts in it; then the full DDL folder.
    const before = join(dir, 'ddl-before');
    await mkdir(before);
    for (const file of ['0001_trace_facts.sql', '0002_evaluation_facts.sql']) await copyFile(join(CLICKHOUSE_DDL_DIR, file), join(before, file));
    const old = createChdbFactsStore({ path: join(dir, 'facts'), ddlDir: before });
    await old.migrate();
    await old.insertEvaluationFacts(backfilled);
    await old.close();
    store = createChdbFactsStore({ path: join(dir, 'facts') });
    await store.migrate();
  });
  afterAll(async () => {
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('is declared as an AggregatingMergeTree keyed by org, minute, module and severity, fed by a view', async () => {
    const [table] = await store.query<{ statement: string }>('SHOW CREATE TABLE evaluation_rollup_minute_v1');
    expect(table!.statement).toContain('ENGINE = AggregatingMergeTree');
    expect(table!.statement).toContain('ORDER BY (org_id, minute, module, severity)');
    expect(table!.statement).toContain('`evaluations` AggregateFunction(uniqExact, String)');
    const [view] = await store.query<{ statement: string }>('SHOW CREATE TABLE evaluation_rollup_minute_mv_v1');
    expect(view!.statement).toMatch(/CREATE MATERIALIZED VIEW .*evaluation_rollup_minute_mv_v1 TO .*evaluation_rollup_minute_v1/);
    const applied = await store.query<{ version: number }>('SELECT DISTINCT version FROM schema_migrations ORDER BY version');
    expect(applied.map((r) => Number(r.version))).toContain(3);
  });

  it('backfills the facts stored before the view existed', async () => {
    expect(await rollup(store, backfilledOrg)).toEqual([
      { minute_ms: T0, module: 'pii', severity: 'high', evaluations: 1, failed: 0, avg_latency_us: 300, p50_us: 300 },
      { minute_ms: T0, module: 'pii', severity: 'none', evaluations: 1, failed: 0, avg_latency_us: 100, p50_us: 100 },
      { minute_ms: T0, module: 'safety', severity: 'high', evaluations: 1, failed: 1, avg_latency_us: 300, p50_us: 300 },
      { minute_ms: T0, module: 'safety', severity: 'none', evaluations: 1, failed: 0, avg_latency_us: 100, p50_us: 100 },
    ]);
  });

  it('counts evaluations, failures and latency per minute, module and severity, one org at a time', async () => {
    const org = `org_${randomUUID()}`;
    const other = `org_${randomUUID()}`;
    await store.insertEvaluationFacts([
      evaluation(org, { latency_us: 100 }),
      evaluation(org, { latency_us: 300 }),
      evaluation(org, { severity: 'medium', passed: false, failed_modules: ['pii'], latency_us: 500 }),
      evaluation(org, { modules: ['safety'], trace_timestamp: T0 + MINUTE + 59_999, latency_us: 700 }),
      evaluation(org, { modules: [], latency_us: 900 }),
      evaluation(other, { modules: ['format'] }),
    ]);
    // A second insert: the view aggregates each insert on its own, the -Merge functions combine them.
    await store.insertEvaluationFacts([evaluation(org, { severity: 'medium', passed: false, failed_modules: ['pii', 'safety'], latency_us: 700 })]);

    expect(await rollup(store, org)).toEqual([
      { minute_ms: T0, module: 'pii', severity: 'medium', evaluations: 2, failed: 2, avg_latency_us: 600, p50_us: 600 },
      { minute_ms: T0, module: 'pii', severity: 'none', evaluations: 2, failed: 0, avg_latency_us: 200, p50_us: 200 },
      { minute_ms: T0, module: 'safety', severity: 'medium', evaluations: 2, failed: 1, avg_latency_us: 600, p50_us: 600 },
      { minute_ms: T0, module: 'safety', severity: 'none', evaluations: 2, failed: 0, avg_latency_us: 200, p50_us: 200 },
      { minute_ms: T0 + MINUTE, module: 'safety', severity: 'none', evaluations: 1, failed: 0, avg_latency_us: 700, p50_us: 700 },
    ]);
    expect((await rollup(store, other)).map((r) => [r.module, r.evaluations])).toEqual([['format', 1]]);
  });

  it('counts a redelivered evaluation once (its latency weighs twice: the latency figures are approximate)', async () => {
    const org = `org_${randomUUID()}`;
    const once = evaluation(org, { modules: ['safety'], passed: false, failed_modules: ['safety'], severity: 'critical', latency_us: 100 });
    const twice = evaluation(org, { modules: ['safety'], passed: false, failed_modules: ['safety'], severity: 'critical', latency_us: 400 });
    await store.insertEvaluationFacts([once, twice]);
    await store.insertEvaluationFacts([twice]);

    const [row] = await rollup(store, org);
    expect(row).toMatchObject({ module: 'safety', severity: 'critical', evaluations: 2, failed: 2 });
    // The facts table itself holds the evaluation once under FINAL.
    const [facts] = await store.query<{ n: number }>('SELECT count() AS n FROM evaluation_facts_v1 FINAL WHERE org_id = {org:String}', { org });
    expect(Number(facts!.n)).toBe(2);
    expect(row!.avg_latency_us).toBe(300);
  });
});
