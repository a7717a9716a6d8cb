/**
 * The facts store on chDB (the ClickHouse engine in this process) with the real DDL of
 * sql/clickhouse. chDB binds one data directory per process, so this file uses one directory and
 * reopens that same directory to prove persistence.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRetriable } from '../../streams/src/errors.js';
import type { TierResult } from '@metronis/schemas';
import { createChdbFactsStore } from '../src/clickhouse/chdb.js';
import { toEvaluationFact } from '../src/clickhouse/rows.js';
import { InvalidRecordError, StoreError } from '../src/errors.js';
import type { FactsStore, TraceFact } from '../src/types.js';

const DAY = 86_400_000;

function fact(overrides: Partial<TraceFact> = {}): TraceFact {
  const now = Date.now();
  return {
    org_id: 'org_a',
    trace_id: randomUUID(),
    timestamp: now - 60_000,
    received_at: now,
    application: 'search',
    environment: 'prod',
    model_provider: 'openai',
    model_name: 'gpt-4o-mini',
    input_tokens: 120,
    output_tokens: 80,
    cost_usd: 0.00042,
    latency_ms: 900,
    user_id: 'u1',
    ...overrides,
  };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: Error) => e,
  );
}

describe('chDB facts store', () => {
  let dir: string;
  let store: FactsStore;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'metronis-chdb-'));
    store = createChdbFactsStore({ path: join(dir, 'facts') });
  });
  afterAll(async () => {
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('migrates, and migrating again applies nothing twice', async () => {
    await store.migrate();
    await store.migrate();
    const applied = await store.query<{ version: number; name: string; n: number }>(
      'SELECT version, name, count() AS n FROM schema_migrations GROUP BY version, name ORDER BY version',
    );
    expect(applied).toEqual([
      { version: 1, name: '0001_trace_facts', n: 1 },
      { version: 2, name: '0002_evaluation_facts', n: 1 },
      { version: 3, name: '0003_evaluation_rollup_minute', n: 1 },
      { version: 4, name: '0004_module_result_facts', n: 1 },
      { version: 5, name: '0005_module_rollup_minute', n: 1 },
      { version: 6, name: '0006_retention_by_received_at', n: 1 },
      { version: 7, name: '0007_trace_facts_session', n: 1 },
    ]);
    await store.ping();
  });

  it('declares the table for current ClickHouse: LowCardinality, DateTime64, ReplacingMergeTree, monthly partitions, TTL', async () => {
    const [row] = await store.query<{ statement: string }>('SHOW CREATE TABLE trace_facts_v1');
    const ddl = row!.statement;
    expect(ddl).toContain('`org_id` LowCardinality(String)');
    expect(ddl).toContain('`model_name` LowCardinality(String)');
    expect(ddl).toContain("`timestamp` DateTime64(3, 'UTC')");
    expect(ddl).toContain('ENGINE = ReplacingMergeTree(received_at)');
    expect(ddl).toContain('PARTITION BY toYYYYMM(timestamp)');
    expect(ddl).toMatch(/ORDER BY \(org_id, /);
    expect(ddl).toContain("TTL toDateTime(least(received_at, toDateTime64('2095-01-01 00:00:00', 3, 'UTC'))) + toIntervalDay(retention_days)");
    expect(ddl).toContain('`retention_days` UInt16 DEFAULT 90');
  });

  it('lands rows inserted twice (and repeated inside a batch) once each under FINAL', async () => {
    const org = `org_${randomUUID()}`;
    const rows = [fact({ org_id: org }), fact({ org_id: org }), fact({ org_id: org })];
    await store.insertTraceFacts([...rows, rows[0]!]);
    await store.insertTraceFacts(rows);
    const got = await store.query<{ trace_id: string; n: number }>(
      'SELECT trace_id, count() AS n FROM trace_facts_v1 FINAL WHERE org_id = {org:String} GROUP BY trace_id ORDER BY trace_id',
      { org },
    );
    expect(got).toEqual(rows.map((r) => ({ trace_id: r.trace_id, n: 1 })).sort((a, b) => (a.trace_id < b.trace_id ? -1 : 1)));
  });

  it('keeps every value, timestamps to the millisecond', async () => {
    const row = fact({ org_id: `org_${randomUUID()}`, timestamp: Date.now() - 1234, user_id: 'nul\u0000inside', retention_days: 30 });
    await store.insertTraceFacts([row]);
    const [got] = await store.query<Record<string, unknown>>(
      `SELECT * EXCEPT (timestamp, received_at), toUnixTimestamp64Milli(timestamp) AS timestamp, toUnixTimestamp64Milli(received_at) AS received_at
       FROM trace_facts_v1 FINAL WHERE org_id = {org:String}`,
      { org: row.org_id },
    );
    expect(got).toEqual({ ...row, session_id: '' });
    const withSession = { ...row, trace_id: `${row.trace_id}-s`, session_id: 'session-1' };
    await store.insertTraceFacts([withSession]);
    const [stored] = await store.query<{ session_id: string }>('SELECT session_id FROM trace_facts_v1 FINAL WHERE org_id = {org:String} AND trace_id = {id:String}', { org: row.org_id, id: withSession.trace_id });
    expect(stored?.session_id).toBe('session-1');
  });

  it('binds parameters of several types and scopes by them', async () => {
    const org = `org_${randomUUID()}`;
    const now = Date.now();
    await store.insertTraceFacts([
      fact({ org_id: org, model_name: 'small', timestamp: now - 2 * DAY }),
      fact({ org_id: org, model_name: 'large', timestamp: now - 60_000 }),
      fact({ org_id: `org_${randomUUID()}`, model_name: 'large' }),
    ]);
    const rows = await store.query<{ model_name: string; n: number }>(
      `SELECT model_name, count() AS n FROM trace_facts_v1 FINAL
       WHERE org_id = {org:String} AND timestamp >= {since:DateTime64(3, 'UTC')} AND model_name IN {models:Array(String)}
       GROUP BY model_name`,
      { org, since: new Date(now - DAY).toISOString().replace('T', ' ').replace('Z', ''), models: ['small', 'large'] },
    );
    expect(rows).toEqual([{ model_name: 'large', n: 1 }]);
  });

  it('drops rows past their retention through the TTL, keeps the others', async () => {
    const org = `org_${randomUUID()}`;
    const old = Date.now() - 3 * DAY;
    // Retention counts from when the trace was received, whatever its own timestamp says.
    const expired = fact({ org_id: org, timestamp: Date.now(), received_at: old, retention_days: 1 });
    const kept = fact({ org_id: org, timestamp: old - 400 * DAY, received_at: old, retention_days: 30 });
    await store.insertTraceFacts([expired, kept]);
    await store.query('OPTIMIZE TABLE trace_facts_v1 FINAL');
    const rows = await store.query<{ trace_id: string }>('SELECT trace_id FROM trace_facts_v1 WHERE org_id = {org:String}', { org });
    expect(rows).toEqual([{ trace_id: kept.trace_id }]);
  });

  it('reports bad SQL and a missing parameter as store errors that are not retriable', async () => {
    const syntax = await rejection(store.query('SELEC 1'));
    expect(syntax).toBeInstanceOf(StoreError);
    expect(syntax.message).toMatch(/^chdb query: .*Syntax error/);
    expect(isRetriable(syntax)).toBe(false);
    const missing = await rejection(store.query('SELECT {x:UInt8} AS x', { y: 1 }));
    expect(missing.message).toMatch(/x/);
    expect(isRetriable(missing)).toBe(false);
  });

  it('refuses an invalid fact naming the row and field', async () => {
    const error = await rejection(store.insertTraceFacts([fact(), fact({ input_tokens: -1 })]));
    expect(error).toBeInstanceOf(InvalidRecordError);
    expect(error.message).toMatch(/row 1 .*input_tokens must be an integer/);
    expect((error as InvalidRecordError).recordIndex).toBe(1);
    const noTime = await rejection(store.insertTraceFacts([fact({ timestamp: undefined as unknown as number })]));
    expect(noTime.message).toMatch(/timestamp must be epoch milliseconds/);
  });

  it('refuses a DDL folder holding a file not named NNNN_name.sql', async () => {
    const ddlDir = join(dir, 'bad-ddl');
    await import('node:fs/promises').then((fs) => fs.mkdir(ddlDir));
    await writeFile(join(ddlDir, 'trace_facts.sql'), 'SELECT 1;');
    // The same data path (chDB allows one per process), another DDL folder.
    const other = createChdbFactsStore({ path: join(dir, 'facts'), ddlDir });
    try {
      const error = await rejection(other.migrate());
      expect(error.message).toMatch(/trace_facts\.sql .*is not named NNNN_name\.sql/);
    } finally {
      await other.close();
    }
  });

  it('lands evaluation facts once per evaluation id, built from a tier result', async () => {
    const org = `org_${randomUUID()}`;
    const traceId = randomUUID();
    const result = (tier: number, passed: boolean): TierResult => ({
      evaluation_id: `${traceId}:${tier}`,
      trace_id: traceId,
      org_id: org,
      tier,
      evaluated_at: Date.now(),
      trace_timestamp: Date.now() - 1000,
      passed,
      severity: passed ? 'none' : 'high',
      score: passed ? 1 : 0.2,
      latency_us: 850,
      modules: [
        { module: 'pii', version: '1', passed, score: 1, severity: 'none', labels: [], latency_us: 10, findings: passed ? [] : [{ kind: 'pii.email', message: 'email', field: 'output', start: 0, end: 5, confidence: 1 }] },
        { module: 'format', version: '1', passed: true, score: 1, severity: 'none', labels: [], latency_us: 5, findings: [] },
      ],
    });
    const facts = [toEvaluationFact(result(1, false)), toEvaluationFact(result(2, true), 30)];
    expect(facts[0]).toMatchObject({ modules: ['pii', 'format'], failed_modules: ['pii'], finding_kinds: ['pii.email'] });
    await store.insertEvaluationFacts(facts);
    await store.insertEvaluationFacts([facts[0]!]);
    const rows = await store.query<Record<string, unknown>>(
      `SELECT * EXCEPT (evaluated_at, trace_timestamp), toUnixTimestamp64Milli(evaluated_at) AS evaluated_at,
              toUnixTimestamp64Milli(trace_timestamp) AS trace_timestamp
       FROM evaluation_facts_v1 FINAL WHERE org_id = {org:String} ORDER BY tier`,
      { org },
    );
    expect(rows).toEqual([{ ...facts[0], retention_days: 90 }, facts[1]]);
    const [ddl] = await store.query<{ statement: string }>('SHOW CREATE TABLE evaluation_facts_v1');
    expect(ddl!.statement).toContain("TTL toDateTime(least(evaluated_at, toDateTime64('2095-01-01 00:00:00', 3, 'UTC'))) + toIntervalDay(retention_days)");
    expect(ddl!.statement).toContain('`severity` LowCardinality(String)');
  });

  it('refuses an evaluation fact with an unknown severity, naming it', async () => {
    const fact = toEvaluationFact({
      evaluation_id: 'e1', trace_id: 't1', org_id: 'o1', tier: 1, evaluated_at: Date.now(), trace_timestamp: Date.now(),
      passed: true, severity: 'none', score: 1, latency_us: 1, modules: [],
    });
    const error = await rejection(store.insertEvaluationFacts([{ ...fact, severity: 'fatal' as 'high' }]));
    expect(error).toBeInstanceOf(InvalidRecordError);
    expect(error.message).toMatch(/row 0 \(evaluation "e1"\): severity must be one of none, low, medium, high, critical, got "fatal"/);
  });

  it('keeps the data when the path is closed and opened again', async () => {
    const org = `org_${randomUUID()}`;
    const row = fact({ org_id: org });
    await store.insertTraceFacts([row]);
    await store.close();
    store = createChdbFactsStore({ path: join(dir, 'facts') });
    await store.migrate();
    const rows = await store.query<{ trace_id: string }>('SELECT trace_id FROM trace_facts_v1 FINAL WHERE org_id = {org:String}', { org });
    expect(rows).toEqual([{ trace_id: row.trace_id }]);
  });
});
