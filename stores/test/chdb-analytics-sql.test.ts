/**
 * Analytics SQL on chDB (analytics-sql.ts): a user's own SQL runs in a session bound to the
 * organization by row policies and frozen read-only with limits, so it reads that organization's
 * rows only. Every escape the issue lists is tried and each gets a refusal (or another org's rows
 * never appear), and the engine answers normally afterwards.
 *
 * chDB binds one data directory per process: this file shares one store and two organizations.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnalyticsSqlError, analyticsAccessStatements, analyticsObjects, HIDDEN_SYSTEM_TABLES, type AnalyticsSqlProblem } from '../src/clickhouse/analytics-sql.js';
import { createChdbFactsStore } from '../src/clickhouse/chdb.js';
import { CLICKHOUSE_DDL_DIR } from '../src/paths.js';
import type { FactsStore } from '../src/types.js';

const A = `org_sql_a_${randomUUID().slice(0, 6)}`;
const B = `org_sql_b_${randomUUID().slice(0, 6)}`;
let dir: string;
let store: FactsStore;

async function seed(org: string, n: number): Promise<void> {
  const now = Date.now() - 3_600_000;
  const traces = Array.from({ length: n }, (_, i) => `${org}-t${i}`);
  await store.insertTraceFacts(
    traces.map((trace, i) => ({
      org_id: org, trace_id: trace, timestamp: now + i, received_at: now + i, application: `${org}-app`, environment: 'production',
      model_provider: 'openai', model_name: 'gpt-4o', input_tokens: 10, output_tokens: 5, cost_usd: 0.01, latency_ms: 100 + i, user_id: `${org}-user`,
    })),
  );
  await store.insertEvaluationFacts(
    traces.map((trace, i) => ({
      evaluation_id: `${trace}:1`, org_id: org, trace_id: trace, tier: 1, evaluated_at: now + i, trace_timestamp: now + i, passed: i % 2 === 0,
      severity: i % 2 === 0 ? 'none' : 'high', score: 1, latency_us: 10, modules: ['pii'], failed_modules: i % 2 === 0 ? [] : ['pii'], finding_kinds: i % 2 === 0 ? [] : ['pii.email'],
    })),
  );
  await store.insertModuleResultFacts(
    traces.map((trace, i) => ({
      evaluation_id: `${trace}:1`, org_id: org, trace_id: trace, tier: 1, module: 'pii', module_version: '1', evaluated_at: now + i, trace_timestamp: now + i,
      passed: i % 2 === 0, score: 1, severity: i % 2 === 0 ? 'none' : 'high', labels: [], finding_kinds: i % 2 === 0 ? [] : ['pii.email'], latency_us: 10,
    })),
  );
}

const run = (org: string, sql: string) => store.analyticsSql(org, sql);

async function refused(sql: string, problem: AnalyticsSqlProblem | AnalyticsSqlProblem[], org = A): Promise<AnalyticsSqlError> {
  const error = await run(org, sql).then(
    (answer) => new Error(`not refused: ${sql} answered ${JSON.stringify(answer.rows).slice(0, 300)}`),
    (e: unknown) => e,
  );
  expect(error, sql).toBeInstanceOf(AnalyticsSqlError);
  expect([problem].flat(), `${sql}: ${(error as Error).message}`).toContain((error as AnalyticsSqlError).problem);
  return error as AnalyticsSqlError;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'metronis-analytics-sql-'));
  store = createChdbFactsStore({
    path: join(dir, 'facts'),
    analyticsLimits: { maxRowsToRead: 20_000_000, maxBytesToRead: 1024 ** 3, maxResultRows: 1_000, maxResultBytes: 4 * 1024 ** 2, maxMemoryBytes: 256 * 1024 ** 2, maxExecutionSeconds: 1 },
  });
  await store.migrate();
  await seed(A, 6);
  await seed(B, 4);
  // A mutation of org B whose command names B's trace: system.mutations would show it.
  await store.deleteTraces(B, [`${B}-t3`]);
}, 60_000);

afterAll(async () => {
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('analytics SQL on chDB: the organization is bound by the engine', () => {
  it("answers the organization's own rows with columns and statistics", async () => {
    const answer = await run(A, 'SELECT org_id, count() AS n FROM trace_facts_v1 FINAL GROUP BY org_id');
    expect(answer.rows).toEqual([{ org_id: A, n: 6 }]);
    expect(answer.columns).toEqual([{ name: 'org_id', type: 'LowCardinality(String)' }, { name: 'n', type: 'UInt64' }]);
    expect(answer.statistics.rows_read).toBeGreaterThan(0);
    expect((await run(B, 'SELECT count() AS n FROM trace_facts_v1 FINAL')).rows).toEqual([{ n: 3 }]);
  });

  it("shows no other organization's rows in any object of the schema, whatever the SQL asks", async () => {
    const objects = (await store.query<{ name: string }>("SELECT name FROM system.tables WHERE database = currentDatabase() AND name != 'schema_migrations'")).map((r) => r.name);
    expect(objects.sort()).toEqual(analyticsObjects(CLICKHOUSE_DDL_DIR));
    for (const object of objects) {
      const answer = await run(A, `SELECT count() AS n FROM ${object} WHERE org_id != '${A}'`);
      expect(answer.rows, object).toEqual([{ n: 0 }]);
      expect((await store.query<{ n: number }>(`SELECT count() AS n FROM ${object} WHERE org_id = '${B}'`))[0]!.n, `${object} holds org B rows to hide`).toBeGreaterThan(0);
    }
    const escapes = [
      `SELECT count() AS n FROM trace_facts_v1 WHERE org_id = '${B}'`,
      `SELECT count() AS n FROM trace_facts_v1 AS t JOIN evaluation_facts_v1 AS e ON e.trace_id = t.trace_id WHERE e.org_id = '${B}' OR t.org_id = '${B}'`,
      `SELECT count() AS n FROM evaluation_facts_v1 WHERE trace_id IN (SELECT trace_id FROM trace_facts_v1 WHERE org_id = '${B}')`,
      `SELECT count() AS n FROM (SELECT org_id FROM trace_facts_v1 UNION ALL SELECT org_id FROM module_result_facts_v1) WHERE org_id = '${B}'`,
      `WITH others AS (SELECT * FROM module_rollup_minute_v1 WHERE org_id = '${B}') SELECT count() AS n FROM others`,
      `SELECT count() AS n FROM merge(currentDatabase(), '_v1$') WHERE org_id = '${B}'`,
      `SELECT count() AS n FROM view(SELECT * FROM trace_facts_v1 WHERE org_id = '${B}')`,
      `SELECT count() AS n FROM trace_facts_v1 FINAL WHERE user_id = '${B}-user'`,
    ];
    for (const sql of escapes) expect((await run(A, sql)).rows, sql).toEqual([{ n: 0 }]);
    expect((await run(A, `SELECT count() AS n FROM trace_facts_v1 FINAL WHERE org_id = '${B}' OR 1 = 1`)).rows, 'only its own rows, whatever the WHERE').toEqual([{ n: 6 }]);
  });

  it('hides system tables that could show another organization, and keeps the binding out of reach', async () => {
    expect((await store.query<{ n: number }>('SELECT count() AS n FROM system.mutations'))[0]!.n, 'org B deletion left a mutation to hide').toBeGreaterThan(0);
    for (const table of ['mutations', 'processes', 'errors']) {
      expect(HIDDEN_SYSTEM_TABLES).toContain(table);
      expect((await run(A, `SELECT count() AS n FROM system.${table}`)).rows, table).toEqual([{ n: 0 }]);
    }
    expect((await run(A, "SELECT getSetting('log_comment') AS bound")).rows).toEqual([{ bound: `metronis_org:${A}` }]);
    for (const sql of [
      `SELECT count() AS n FROM trace_facts_v1 SETTINGS log_comment = 'metronis_org:${B}'`,
      "SELECT count() AS n FROM trace_facts_v1 SETTINGS log_comment = ''",
      'SELECT count() AS n FROM trace_facts_v1 SETTINGS readonly = 0',
      `SET log_comment = 'metronis_org:${B}'`,
      'SET readonly = 0',
      // A subquery's SETTINGS escaped readonly under ClickHouse's new analyzer: the bound session uses the old one.
      `SELECT count() AS n FROM (SELECT * FROM trace_facts_v1 SETTINGS log_comment = 'metronis_org:${B}')`,
      "SELECT count() AS n FROM (SELECT * FROM trace_facts_v1 SETTINGS log_comment = '')",
      `WITH x AS (SELECT * FROM trace_facts_v1 SETTINGS log_comment = 'metronis_org:${B}') SELECT count() AS n FROM x`,
      `SELECT count() AS n FROM trace_facts_v1 WHERE trace_id IN (SELECT trace_id FROM trace_facts_v1 SETTINGS log_comment = '')`,
      'SELECT * FROM (SELECT count() FROM numbers(100000000000) SETTINGS max_rows_to_read = 0)',
      'SELECT * FROM (SELECT 1 SETTINGS enable_analyzer = 1)',
    ]) {
      await refused(sql, sql.includes("log_comment = 'metronis_org") && !sql.startsWith('SET') ? 'forbidden' : ['forbidden', 'invalid']);
    }
  });

  it('refuses the file() function, which clickhouse-local lets read any file of the host', async () => {
    for (const sql of ["SELECT file('/etc/hostname') AS f", "SELECT FILE('/etc/hostname') AS f", "SELECT arrayMap(p -> file(p), ['/etc/hostname']) AS f", "SELECT length(file('/etc/passwd')) AS n FROM trace_facts_v1 LIMIT 1"]) {
      const error = await refused(sql, 'forbidden');
      expect(error.message, sql).toMatch(/reaches the host's files/);
    }
    expect((await run(A, "SELECT 'file' AS file, lower('FILE') AS x")).rows).toEqual([{ file: 'file', x: 'file' }]);
  });

  it('refuses table functions that reach files, URLs and other servers', async () => {
    for (const sql of [
      "SELECT * FROM file('/etc/passwd', 'LineAsString')",
      "SELECT * FROM url('http://127.0.0.1:9/x', 'LineAsString')",
      "SELECT * FROM remote('127.0.0.1:9000', system.one)",
      "SELECT * FROM s3('http://127.0.0.1:9/bucket/key.csv', 'CSV', 'a String')",
      "SELECT * FROM postgresql('127.0.0.1:5432', 'db', 'traces', 'u', 'p')",
      "SELECT * FROM executable('id', 'TSV', 'a String')",
    ]) {
      const error = await run(A, sql).catch((e: unknown) => e);
      expect(error, sql).toBeInstanceOf(AnalyticsSqlError);
      expect(['forbidden', 'invalid'], `${sql}: ${(error as Error).message}`).toContain((error as AnalyticsSqlError).problem);
    }
  });

  it('refuses writes, DDL and several statements, and changes nothing', async () => {
    await refused(`INSERT INTO trace_facts_v1 (org_id, trace_id) VALUES ('${A}', 'forged')`, ['invalid', 'forbidden']);
    await refused(`ALTER TABLE trace_facts_v1 DELETE WHERE org_id = '${B}'`, ['invalid', 'forbidden']);
    await refused('DROP TABLE trace_facts_v1', ['invalid', 'forbidden']);
    await refused('TRUNCATE TABLE evaluation_facts_v1', ['invalid', 'forbidden']);
    await refused('CREATE TABLE stolen (a String) ENGINE = Memory', ['invalid', 'forbidden']);
    await refused('CREATE TEMPORARY TABLE stolen (a String)', ['invalid', 'forbidden']);
    await refused('OPTIMIZE TABLE trace_facts_v1 FINAL', ['invalid', 'forbidden']);
    const several = await refused(`SELECT 1; INSERT INTO trace_facts_v1 (org_id, trace_id) VALUES ('${A}', 'forged2')`, 'invalid');
    expect(several.message).toMatch(/one statement/i);
    expect(await store.query('SELECT org_id, count() AS n FROM trace_facts_v1 FINAL GROUP BY org_id ORDER BY org_id')).toEqual(
      [{ org_id: A, n: 6 }, { org_id: B, n: 3 }].sort((x, y) => (x.org_id < y.org_id ? -1 : 1)),
    );
    await refused('SELEC count() FROM trace_facts_v1', 'invalid');
    // Statements a read-only session would still run, refused by the engine's grammar (they are run as a subquery).
    const outfile = join(dir, 'outfile.txt');
    await refused(`SELECT 1 INTO OUTFILE '${outfile}'`, 'invalid');
    expect(existsSync(outfile), 'INTO OUTFILE wrote a file').toBe(false);
    await refused('KILL QUERY WHERE 1', 'invalid');
    await refused("DESCRIBE TABLE file('/etc/passwd', 'LineAsString')", ['invalid', 'forbidden']);
    await refused('SHOW TABLES', 'invalid');
    await refused('EXPLAIN SELECT 1', 'forbidden');
    const format = await refused('SELECT 1 FORMAT TSV', 'invalid');
    expect(format.message).toMatch(/Only a query can run here/);
    await refused('   ', 'invalid');
  });

  it('stops huge results and slow queries with a limit, and the engine answers normally afterwards', async () => {
    const big = await refused('SELECT number FROM numbers(100000)', 'limit');
    expect(big.message).toMatch(/result|rows/i);
    await refused('SELECT count() FROM numbers(100000000000)', 'limit');
    await refused('SELECT count() FROM system.numbers', 'limit');
    await refused('SELECT number FROM numbers(100000) SETTINGS max_result_rows = 0', ['limit', 'forbidden']);
    await refused('SELECT sleepEachRow(0.5) FROM numbers(10)', 'limit');
    await refused('SELECT groupArray(number) FROM numbers(15000000)', 'limit');
    expect((await run(A, 'SELECT count() AS n FROM trace_facts_v1 FINAL')).rows).toEqual([{ n: 6 }]);
    await store.ping();
  }, 60_000);

  it('gives ClickHouse server statements that current ClickHouse parses', async () => {
    const statements = analyticsAccessStatements("acme'; DROP", { database: 'metronis', password: "p'w\\", objects: analyticsObjects(CLICKHOUSE_DDL_DIR) });
    expect(statements.length).toBeGreaterThan(3);
    for (const statement of statements) {
      const [row] = await store.query<{ q: string }>('SELECT formatQuerySingleLine({s:String}) AS q', { s: statement });
      expect(row!.q.length, statement).toBeGreaterThan(10);
    }
    expect(statements.join('\n')).toMatch(/USING org_id = 'acme\\'; DROP'/);
  });
});
