/**
 * The example queries of docs/analytics-sql.md run as a user's analytics SQL on chDB, over a small
 * generated history, and answer rows: the documentation cannot drift from the schema unnoticed. The
 * columns the page lists are the columns the tables have.
 */
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChdbFactsStore } from '../src/clickhouse/chdb.js';
import type { FactsStore } from '../src/types.js';

const DOC = fileURLToPath(new URL('../../docs/analytics-sql.md', import.meta.url));
const ORG = 'org_docs';
let dir: string;
let store: FactsStore;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'metronis-analytics-docs-'));
  store = createChdbFactsStore({ path: join(dir, 'facts') });
  await store.migrate();
  const now = Date.now() - 60_000;
  const ids = Array.from({ length: 20 }, (_, i) => `d${i}`);
  await store.insertTraceFacts(ids.map((trace_id, i) => ({ org_id: ORG, trace_id, timestamp: now - i * 1000, received_at: now, application: i % 2 ? 'a' : 'b', environment: 'production', model_provider: 'openai', model_name: 'gpt-4o', input_tokens: 10, output_tokens: 5, cost_usd: 0.01, latency_ms: 100, user_id: 'u', session_id: `s${i % 3}` })));
  await store.insertEvaluationFacts(ids.map((trace_id, i) => ({ evaluation_id: `${trace_id}:1`, org_id: ORG, trace_id, tier: 1, evaluated_at: now, trace_timestamp: now - i * 1000, passed: i % 4 !== 0, severity: i % 4 ? 'none' : 'high', score: 1, latency_us: 10, modules: ['pii'], failed_modules: i % 4 ? [] : ['pii'], finding_kinds: i % 4 ? [] : ['pii.email'] })));
  await store.insertModuleResultFacts(ids.map((trace_id, i) => ({ evaluation_id: `${trace_id}:1`, org_id: ORG, trace_id, tier: 1, module: 'pii', module_version: '1', evaluated_at: now, trace_timestamp: now - i * 1000, passed: i % 4 !== 0, score: 1, severity: i % 4 ? 'none' : 'high', labels: [], finding_kinds: i % 4 ? [] : ['pii.email'], latency_us: 10 })));
}, 60_000);

afterAll(async () => {
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('docs/analytics-sql.md', () => {
  it('has example queries that run as analytics SQL and answer rows', async () => {
    const text = await readFile(DOC, 'utf8');
    const queries = [...text.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
    expect(queries.length).toBeGreaterThanOrEqual(5);
    for (const sql of queries) {
      const answer = await store.analyticsSql(ORG, sql);
      expect(answer.rows.length, sql).toBeGreaterThan(0);
    }
  });

  it('lists every column of the fact tables', async () => {
    const text = await readFile(DOC, 'utf8');
    for (const table of ['trace_facts_v1', 'evaluation_facts_v1', 'module_result_facts_v1', 'module_rollup_minute_v1']) {
      const columns = await store.query<{ name: string }>('SELECT name FROM system.columns WHERE database = currentDatabase() AND table = {t:String}', { t: table });
      for (const { name } of columns) expect(text, `${table}.${name}`).toContain(`\`${name}\``);
    }
  });
});
