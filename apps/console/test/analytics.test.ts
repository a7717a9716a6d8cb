/**
 * The analytics API and analytics SQL over HTTP (analytics.ts) on real parts: chDB with the
 * repository's DDL, PGlite for keys. Two organizations hold facts at the same times with the same
 * ids; each answer counts its own only, a redelivered row once, and each bad query is a 400 naming
 * the parameter. Analytics SQL answers the engine's refusals as 4xx.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiKeyAuthenticator, hashApiKey } from '@metronis/ingest-gateway';
import type { ModuleResult, TierResult } from '@metronis/schemas';
import { createChdbFactsStore, createPgliteStore, toEvaluationFact, toModuleResultFacts, type FactsStore, type RelationalStore, type TraceFact } from '@metronis/stores';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleApp } from '../src/index.js';

const A = 'org_analytics_a';
const B = 'org_analytics_b';
const KEYS = { a: 'mtr_analytics_a_read_0123456789', b: 'mtr_analytics_b_read_0123456789', aIngest: 'mtr_analytics_a_ingest_012345' } as const;
const DAY0 = Date.parse('2026-11-23T00:00:00Z');
const HOUR = 3_600_000;
const NOW = DAY0 + 7 * 24 * HOUR;

let dir: string;
let store: RelationalStore;
let facts: FactsStore;
let app: ReturnType<typeof createConsoleApp>;

const MODELS = [
  { provider: 'openai', name: 'gpt-4o' },
  { provider: 'anthropic', name: 'claude-3' },
];

function moduleResult(module: string, passed: boolean, kinds: string[]): ModuleResult {
  return { module, version: '1', passed, score: passed ? 1 : 0.2, severity: passed ? 'none' : 'high', labels: [], findings: kinds.map((kind) => ({ kind, message: kind, field: 'output', start: null, end: null, confidence: null })), latency_us: 50 };
}

/** Org `org`: 2 traces an hour for 7 days; every 4th fails PII; org B has 3x the volume and no failures. */
async function seed(org: string, perHour: number, failEvery: number): Promise<void> {
  const traces: TraceFact[] = [];
  const results: TierResult[] = [];
  for (let h = 0; h < 7 * 24; h++) {
    for (let k = 0; k < perHour; k++) {
      const i = h * perHour + k;
      const model = MODELS[i % 2]!;
      const timestamp = DAY0 + h * HOUR + k * 1000;
      const trace_id = `t-${i}`;
      traces.push({ org_id: org, trace_id, timestamp, received_at: timestamp, application: i % 3 === 0 ? 'checkout-bot' : 'faq-bot', environment: 'production', model_provider: model.provider, model_name: model.name, input_tokens: 100 + (i % 10), output_tokens: 20, cost_usd: 0.001, latency_ms: model.provider === 'openai' ? 300 : 900, user_id: `u${i % 5}` });
      const fails = failEvery > 0 && i % failEvery === 0;
      const modules = [moduleResult('pii', !fails, fails ? ['pii.email'] : []), moduleResult('format', true, [])];
      results.push({ evaluation_id: `${trace_id}:1`, trace_id, org_id: org, tier: 1, evaluated_at: timestamp + 5, trace_timestamp: timestamp, passed: !fails, severity: fails ? 'high' : 'none', score: fails ? 0.2 : 1, modules, latency_us: 100 });
    }
  }
  await facts.insertTraceFacts(traces);
  await facts.insertEvaluationFacts(results.map((r) => toEvaluationFact(r)));
  await facts.insertModuleResultFacts(results.flatMap((r) => toModuleResultFacts(r)));
  // Redelivery of the first day: the same rows again (ReplacingMergeTree collapses them under FINAL).
  const firstDay = (t: { timestamp?: number; trace_timestamp?: number }) => (t.timestamp ?? t.trace_timestamp!) < DAY0 + 24 * HOUR;
  await facts.insertTraceFacts(traces.filter(firstDay));
  await facts.insertEvaluationFacts(results.filter(firstDay).map((r) => toEvaluationFact(r)));
  await facts.insertModuleResultFacts(results.filter(firstDay).flatMap((r) => toModuleResultFacts(r)));
}

async function get(path: string, key: string = KEYS.a): Promise<{ status: number; body: any }> {
  const response = await app.request(path, { headers: { authorization: `Bearer ${key}` } });
  return { status: response.status, body: await response.json() };
}

async function sql(text: unknown, key: string = KEYS.a): Promise<{ status: number; body: any }> {
  const response = await app.request('/v1/analytics/sql', { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ sql: text }) });
  return { status: response.status, body: await response.json() };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'metronis-console-analytics-'));
  store = createPgliteStore();
  await store.migrate();
  facts = createChdbFactsStore({ path: join(dir, 'facts') });
  await facts.migrate();
  for (const [org, key, scopes] of [
    [A, KEYS.a, ['read']],
    [B, KEYS.b, ['read']],
    [A, KEYS.aIngest, ['ingest']],
  ] as const) {
    await store.ensureOrganization(org, org);
    await store.putApiKey({ id: `key_${key.slice(14, 30)}`, org_id: org, hash: hashApiKey(key), prefix: key.slice(0, 8), scopes: [...scopes] });
  }
  await seed(A, 2, 4);
  await seed(B, 6, 0);
  app = createConsoleApp({ store, facts, authenticate: createApiKeyAuthenticator({ store }), ready: async () => ({}), now: () => NOW });
}, 120_000);

afterAll(async () => {
  await store?.close();
  await facts?.close();
  await rm(dir, { recursive: true, force: true });
});

const week = `from=${new Date(DAY0).toISOString()}&to=${new Date(NOW).toISOString()}`;

describe('GET /v1/analytics/traces', () => {
  it('charts the failure rate by model over a week, by day, counting redelivered rows once', async () => {
    const { status, body } = await get(`/v1/analytics/traces?${week}&bucket=day&group_by=model`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ bucket: 'day', group_by: 'model', from: new Date(DAY0).toISOString() });
    expect(body.items).toHaveLength(14);
    const day1 = body.items.filter((i: any) => i.time === new Date(DAY0).toISOString());
    expect(day1).toEqual([
      { time: new Date(DAY0).toISOString(), group: { model: { provider: 'anthropic', name: 'claude-3' } }, traces: 24, evaluated: 24, failed: 0, failure_rate: 0, severity: { none: 24, low: 0, medium: 0, high: 0, critical: 0 } },
      { time: new Date(DAY0).toISOString(), group: { model: { provider: 'openai', name: 'gpt-4o' } }, traces: 24, evaluated: 24, failed: 12, failure_rate: 0.5, severity: { none: 12, low: 0, medium: 0, high: 12, critical: 0 } },
    ]);
  });

  it('answers by hour for the last 24 hours by default, and filters', async () => {
    const { body } = await get('/v1/analytics/traces');
    expect(body.bucket).toBe('hour');
    expect(body.items).toHaveLength(24);
    expect(body.items.every((i: any) => i.traces === 2 && i.group === null)).toBe(true);
    const checkout = await get(`/v1/analytics/traces?${week}&bucket=none&application=checkout-bot&group_by=application`);
    expect(checkout.body.items).toEqual([expect.objectContaining({ time: null, group: { application: 'checkout-bot' }, traces: 112 })]);
  });

  it('refuses bad parameters with a 400 naming each', async () => {
    for (const [query, path] of [
      ['bucket=week', '$.query.bucket'],
      ['group_by=user', '$.query.group_by'],
      ['from=2026-12-01T00:00:00Z&to=2026-11-01T00:00:00Z', '$.query.from'],
      ['from=monday', '$.query.from'],
      // years no store can hold (year 0; the default day before 0000-01-01 would be year -1)
      ['to=0000-01-01T00:00:00Z', '$.query.to'],
      ['from=1969-12-31T23:59:59Z', '$.query.from'],
      ['to=1970-01-01T00:00:00Z', '$.query.from'],
      ['bucket=minute&from=2026-01-01T00:00:00Z&to=2026-12-01T00:00:00Z', '$.query.bucket'],
      ['module=pii', '$.query.module'],
      ['application=', '$.query.application'],
    ]) {
      const { status, body } = await get(`/v1/analytics/traces?${query}`);
      expect(status, query).toBe(400);
      expect(body.error.issues.map((i: any) => i.path), query).toContain(path);
    }
  });
});

describe('GET /v1/analytics/modules, finding-kinds, models', () => {
  it('reads modules from the rollup, or from the facts when a trace filter applies, with the same counts', async () => {
    const rollup = await get(`/v1/analytics/modules?${week}&bucket=none`);
    expect(rollup.body.source).toBe('rollup');
    expect(rollup.body.items.find((i: any) => i.module === 'pii')).toMatchObject({ evaluations: 336, failed: 84, failure_rate: 0.25, severity: { none: 252, high: 84 } });
    const viaFacts = await get(`/v1/analytics/modules?${week}&bucket=none&environment=production&module=pii`);
    expect(viaFacts.body.source).toBe('facts');
    expect(viaFacts.body.items).toEqual([expect.objectContaining({ module: 'pii', evaluations: 336, failed: 84, failure_rate: 0.25 })]);
    expect(viaFacts.body.items[0].latency_us).toEqual({ avg: 50, p50: 50, p90: 50, p99: 50 });
  });

  it('ranks finding kinds and gives latency, tokens and cost by model', async () => {
    expect((await get(`/v1/analytics/finding-kinds?${week}`)).body.items).toEqual([{ time: null, finding_kind: 'pii.email', traces: 84, results: 84, modules: ['pii'] }]);
    const byDay = (await get(`/v1/analytics/finding-kinds?${week}&bucket=day`)).body.items;
    expect(byDay).toHaveLength(7);
    expect(byDay[0]).toEqual({ time: new Date(DAY0).toISOString(), finding_kind: 'pii.email', traces: 12, results: 12, modules: ['pii'] });
    expect((await get(`/v1/analytics/finding-kinds?${week}`, KEYS.b)).body.items).toEqual([]);
    const { body } = await get(`/v1/analytics/models?${week}`);
    expect(body.items).toHaveLength(2);
    expect(body.items.find((m: any) => m.model.provider === 'anthropic')).toMatchObject({ traces: 168, latency_ms: { p50: 900, p95: 900, p99: 900 }, output_tokens: { p50: 20, total: 3360 } });
    expect((await get(`/v1/analytics/models?${week}`, KEYS.b)).body.items.map((m: any) => m.traces)).toEqual([504, 504]);
  });

  it("never counts another organization's facts, on any route", async () => {
    for (const path of ['traces', 'modules', 'finding-kinds', 'models']) {
      const a = JSON.stringify((await get(`/v1/analytics/${path}?${week}&bucket=none`.replace('&bucket=none', path === 'traces' || path === 'modules' ? '&bucket=none' : ''))).body);
      const b = JSON.stringify((await get(`/v1/analytics/${path}?${week}${path === 'traces' || path === 'modules' ? '&bucket=none' : ''}`, KEYS.b)).body);
      expect(a, path).not.toEqual(b);
    }
    expect((await get(`/v1/analytics/traces?${week}&bucket=none`)).body.items[0].traces).toBe(336);
    expect((await get(`/v1/analytics/traces?${week}&bucket=none`, KEYS.b)).body.items[0].traces).toBe(1008);
    expect((await get('/v1/analytics/models', KEYS.aIngest)).status).toBe(403);
  });
});

describe('POST /v1/analytics/sql', () => {
  it("runs the organization's own SQL over its rows only", async () => {
    const { status, body } = await sql("SELECT org_id, count() AS n FROM trace_facts_v1 FINAL WHERE org_id IN ('org_analytics_a', 'org_analytics_b') GROUP BY org_id");
    expect(status).toBe(200);
    expect(body.rows).toEqual([{ org_id: A, n: 336 }]);
    expect(body.columns).toEqual([{ name: 'org_id', type: 'LowCardinality(String)' }, { name: 'n', type: 'UInt64' }]);
    expect((await sql('SELECT count() AS n FROM trace_facts_v1 FINAL', KEYS.b)).body.rows).toEqual([{ n: 1008 }]);
  });

  it('answers each escape with a clear 4xx and keeps serving', async () => {
    const cases: [string, number, string][] = [
      ["SELECT * FROM file('/etc/passwd', 'LineAsString')", 403, 'sql_not_allowed'],
      ['INSERT INTO trace_facts_v1 (org_id, trace_id) VALUES (1, 2)', 400, 'invalid_sql'],
      ['DROP TABLE trace_facts_v1', 400, 'invalid_sql'],
      ['KILL QUERY WHERE 1', 400, 'invalid_sql'],
      ["SELECT count() FROM (SELECT * FROM trace_facts_v1 SETTINGS log_comment = 'metronis_org:org_analytics_b')", 403, 'sql_not_allowed'],
      ["SELECT 1 SETTINGS log_comment = 'metronis_org:org_analytics_b'", 403, 'sql_not_allowed'],
      ['SELECT 1; SELECT 2', 400, 'invalid_sql'],
      ['SELEKT 1', 400, 'invalid_sql'],
      ['SELECT number FROM numbers(20000)', 422, 'query_limit_exceeded'],
    ];
    for (const [text, status, code] of cases) {
      const answer = await sql(text);
      expect(answer.status, `${text}: ${JSON.stringify(answer.body)}`).toBe(status);
      expect(answer.body.error.code, text).toBe(code);
      expect(answer.body.error.message, text).not.toMatch(/DB::Exception|version 2\d\./);
    }
    expect((await sql('')).status).toBe(400);
    expect((await sql(42)).status).toBe(400);
    expect((await sql('SELECT 1 AS one')).body.rows).toEqual([{ one: 1 }]);
  });
});
