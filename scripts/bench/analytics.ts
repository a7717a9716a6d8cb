/**
 * `npm run bench:analytics -- --module-facts 10000000`: the analytics API at scale on chDB.
 *
 * Generates the facts in the engine itself (INSERT … SELECT FROM numbers(), in chunks): N module
 * result facts, i.e. N/5 traces (five modules each) with their trace and evaluation facts, across
 * three organizations over 30 days, a fifth of them failing PII; the materialized views fill the
 * per-minute rollups as the pipeline's inserts would. Then each endpoint of the analytics API is
 * called through the console's HTTP handler (in process) --runs times for one organization, and its
 * p50/p95 is printed next to two baselines from the same run: a bare scoped query (`SELECT 1` through
 * the facts store) and `GET /v1/org` (one Postgres read through the same HTTP stack).
 * Writes bench-results/analytics-<time>.json.
 *
 * The ClickHouse server of the stack (18.16) cannot hold the facts schema; these figures are chDB's.
 *
 *   npm run bench:analytics -- [--module-facts 10000000] [--runs 20] [--keep] [--seed-only]
 *
 * `--keep` generates into a kept chDB folder (bench-results/analytics-chdb-<N>) and reuses it when it
 * already holds the N facts, so the generation can run while the machine is busy and the timings
 * later; `--seed-only` stops after generating. Remove the folder by hand when done.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createConsoleApp } from '@metronis/console';
import { createApiKeyAuthenticator, hashApiKey } from '@metronis/ingest-gateway';
import { createChdbFactsStore, createPgliteStore } from '@metronis/stores';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const { values } = parseArgs({
  options: {
    'module-facts': { type: 'string', default: '10000000' },
    runs: { type: 'string', default: '20' },
    keep: { type: 'boolean', default: false },
    'seed-only': { type: 'boolean', default: false },
  },
});
const moduleFacts = Number(values['module-facts']);
const runs = Number(values.runs);
if (!Number.isInteger(moduleFacts) || moduleFacts < 5) throw new Error('--module-facts must be an integer of at least 5');
const traces = Math.floor(moduleFacts / 5);
const log = (line: string) => process.stderr.write(`[bench:analytics] ${line}\n`);
const NOW = Date.parse('2026-12-01T00:00:00Z');
const DAY = 86_400_000;
const START = NOW - 30 * DAY;
const KEY = 'mtr_bench_analytics_0123456789abcdef';
const CHUNK = 250_000;

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

const keep = values.keep || values['seed-only'];
const dir = keep ? join(ROOT, 'bench-results', `analytics-chdb-${moduleFacts}`) : await mkdtemp(join(tmpdir(), 'metronis-bench-analytics-'));
if (keep) await mkdir(dir, { recursive: true });
const facts = createChdbFactsStore({ path: join(dir, 'facts') });
const store = createPgliteStore();
try {
  await facts.migrate();
  await store.migrate();
  await store.ensureOrganization('bench_a', 'bench_a');
  await store.putApiKey({ id: 'key_bench', org_id: 'bench_a', hash: hashApiKey(KEY), prefix: KEY.slice(0, 8), scopes: ['read'] });

  const [held] = await facts.query<{ n: string }>('SELECT toString(count()) AS n FROM module_result_facts_v1');
  const already = Number(held?.n ?? 0);
  if (already !== 0 && already !== traces * 5) throw new Error(`${dir} holds ${already} module result facts, not 0 or ${traces * 5}: remove it and run again`);
  if (already !== 0) log(`reusing the ${already} module result facts generated before`);
  const started = performance.now();
  const orgOf = (n: string) => `['bench_a', 'bench_b', 'bench_c'][${n} % 3 + 1]`;
  const timeOf = (n: string) => `fromUnixTimestamp64Milli(toInt64(${START} + intDiv(${n} * ${30 * DAY}, ${traces})), 'UTC')`;
  const fails = (n: string) => `(cityHash64(${n}, 2) % 5 = 0)`;
  for (let from = 0; already === 0 && from < traces; from += CHUNK) {
    const count = Math.min(CHUNK, traces - from);
    const n = `(number + ${from})`;
    await facts.query(`SELECT 1`); // keeps the engine warm between chunks
    await insert(`INSERT INTO trace_facts_v1 (org_id, trace_id, timestamp, received_at, application, environment, model_provider, model_name, input_tokens, output_tokens, cost_usd, latency_ms, user_id, session_id)
      SELECT ${orgOf(n)}, concat('t', toString(${n})), ${timeOf(n)}, ${timeOf(n)},
             ['checkout-bot', 'support-bot', 'search-assistant', 'hr-helper'][cityHash64(${n}, 1) % 4 + 1], if(cityHash64(${n}, 3) % 4 = 0, 'staging', 'production'),
             ['openai', 'openai', 'anthropic', 'mistral'][cityHash64(${n}, 4) % 4 + 1], ['gpt-4o', 'gpt-4o-mini', 'claude-3-5-sonnet', 'mistral-large'][cityHash64(${n}, 4) % 4 + 1],
             20 + cityHash64(${n}, 5) % 400, 10 + cityHash64(${n}, 6) % 300, (cityHash64(${n}, 7) % 1000) / 1e6, 200 + cityHash64(${n}, 8) % 1500, concat('user-', toString(cityHash64(${n}, 9) % 500)),
             concat('session-', toString(cityHash64(${n}, 9) % 500), '-', toString(intDiv(${n}, 5000)))
      FROM numbers(${count})`);
    await insert(`INSERT INTO evaluation_facts_v1 (evaluation_id, org_id, trace_id, tier, evaluated_at, trace_timestamp, passed, severity, score, latency_us, modules, failed_modules, finding_kinds)
      SELECT concat('t', toString(${n}), ':1'), ${orgOf(n)}, concat('t', toString(${n})), 1, ${timeOf(n)}, ${timeOf(n)}, NOT ${fails(n)}, if(${fails(n)}, 'high', 'none'), if(${fails(n)}, 0.2, 1),
             200 + cityHash64(${n}, 10) % 300, ['format', 'safety', 'pii', 'consistency', 'quality'], if(${fails(n)}, ['pii'], []), if(${fails(n)}, ['pii.email'], [])
      FROM numbers(${count})`);
    const t = `(intDiv(number, 5) + ${from})`;
    await insert(`INSERT INTO module_result_facts_v1 (evaluation_id, org_id, trace_id, tier, module, module_version, evaluated_at, trace_timestamp, passed, score, severity, labels, finding_kinds, latency_us)
      SELECT concat('t', toString(${t}), ':1'), ${orgOf(t)}, concat('t', toString(${t})), 1, ['format', 'safety', 'pii', 'consistency', 'quality'][number % 5 + 1], '1', ${timeOf(t)}, ${timeOf(t)},
             NOT (number % 5 = 2 AND ${fails(t)}), if(number % 5 = 2 AND ${fails(t)}, 0.2, 1), if(number % 5 = 2 AND ${fails(t)}, 'high', 'none'), [],
             if(number % 5 = 2 AND ${fails(t)}, ['pii.email'], []), 20 + cityHash64(number, 11) % 200
      FROM numbers(${count * 5})`);
    log(`generated ${Math.min(from + CHUNK, traces) * 5} / ${traces * 5} module result facts in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }

  if (values['seed-only']) log('generated; run again with --keep (without --seed-only) to time the endpoints');
  else {
    const app = createConsoleApp({ store, facts, authenticate: createApiKeyAuthenticator({ store }), ready: async () => ({}), now: () => NOW });
    const week = `from=${new Date(NOW - 7 * DAY).toISOString()}&to=${new Date(NOW).toISOString()}`;
    const get = (path: string) => async () => {
      const response = await app.request(path, { headers: { authorization: `Bearer ${KEY}` } });
      if (response.status !== 200) throw new Error(`${path}: ${response.status} ${await response.text()}`);
      await response.arrayBuffer();
    };
    const sql = (text: string) => async () => {
      const response = await app.request('/v1/analytics/sql', { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ sql: text }) });
      if (response.status !== 200) throw new Error(`sql: ${response.status} ${await response.text()}`);
      await response.arrayBuffer();
    };
    const cases: [string, () => Promise<void>][] = [
      ['baseline: scoped SELECT 1 (facts store)', async () => void (await facts.forOrg('bench_a').query('SELECT 1 AS one WHERE {org_id:String} != \'\''))],
      ['baseline: GET /v1/org (Postgres read, same HTTP stack)', get('/v1/org')],
      ['traces: failure rate by model per day, 1 week', get(`/v1/analytics/traces?${week}&bucket=day&group_by=model`)],
      ['traces: volume per hour, last 24 h (default)', get('/v1/analytics/traces')],
      ['traces: by application per day, 1 week, environment filter', get(`/v1/analytics/traces?${week}&bucket=day&group_by=application&environment=production`)],
      ['modules: per hour, 1 week (rollup)', get(`/v1/analytics/modules?${week}&bucket=hour`)],
      ['modules: per day, 1 week, application filter (facts FINAL)', get(`/v1/analytics/modules?${week}&bucket=day&application=checkout-bot`)],
      ['finding kinds: top 20, 1 week', get(`/v1/analytics/finding-kinds?${week}`)],
      ['models: latency, tokens, cost percentiles, 1 week', get(`/v1/analytics/models?${week}`)],
      ['analytics SQL: failure rate by model per day (user SQL, bound session)', sql("SELECT toDate(t.timestamp) AS day, t.model_name, countIf(NOT e.passed) / count() AS failure_rate FROM trace_facts_v1 AS t FINAL JOIN evaluation_facts_v1 AS e FINAL ON e.trace_id = t.trace_id WHERE t.timestamp >= now() - INTERVAL 400 DAY GROUP BY day, t.model_name ORDER BY day, t.model_name")],
    ];
    const rows: { endpoint: string; p50_ms: number; p95_ms: number }[] = [];
    for (const [name, call] of cases) {
      await call(); // warm
      const times: number[] = [];
      for (let r = 0; r < runs; r++) {
        const t = performance.now();
        await call();
        times.push(performance.now() - t);
      }
      rows.push({ endpoint: name, p50_ms: percentile(times, 50), p95_ms: percentile(times, 95) });
      log(`${name}: p50 ${percentile(times, 50).toFixed(1)} ms`);
    }
    process.stdout.write(`\n### chDB: ${(traces * 5).toLocaleString('en')} module result facts (${traces.toLocaleString('en')} traces, 3 orgs, 30 days), one org's queries, ${runs} runs\n\n| endpoint | p50 ms | p95 ms |\n|---|---:|---:|\n`);
    for (const row of rows) process.stdout.write(`| ${row.endpoint} | ${row.p50_ms.toFixed(1)} | ${row.p95_ms.toFixed(1)} |\n`);
    await mkdir(join(ROOT, 'bench-results'), { recursive: true });
    const file = join(ROOT, 'bench-results', `analytics-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    await writeFile(file, JSON.stringify({ module_facts: traces * 5, traces, runs, date: new Date().toISOString(), rows }, null, 2));
    log(`wrote ${file}`);
  }
} finally {
  await facts.close();
  await store.close();
  if (!keep) await rm(dir, { recursive: true, force: true });
}

async function insert(statement: string): Promise<void> {
  // The unscoped store query runs any statement; its answer (none for INSERT) is ignored.
  await facts.query(statement);
}
