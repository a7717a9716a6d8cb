/**
 * `npm run bench:search -- --traces 1000000`: trace search at scale on PostgreSQL and PGlite.
 *
 * Seeds N generated traces (scripts/seed/generate.ts: real Tier 1 verdicts) across three
 * organizations into a throwaway PostgreSQL database (on DATABASE_URL's server, dropped after) and an
 * on-disk PGlite in a temporary folder, ANALYZEs, then for each filter shape of GET /v1/traces:
 * - EXPLAIN of the exact statement the store runs, and the indexes its plan uses (the script exits 1
 *   when a shape's plan uses none at N >= 100,000; below that a sequential scan of a small table is
 *   the right plan and only a warning is printed);
 * - p50/p95 of `searchTraces` (a page of 50) over --runs runs, next to a bare SELECT by primary key
 *   (`getTrace`) in the same run.
 * Prints the tables BENCHMARKS.md reports and writes bench-results/search-<time>.json.
 *
 *   npm run bench:search -- [--traces 1000000] [--runs 50] [--engines postgres,pglite] [--keep] [--seed-only]
 *
 * `--keep` seeds into a kept database (`metronis_bench_search_keep_<N>` on DATABASE_URL's server) and
 * a kept PGlite folder (bench-results/search-pglite-<N>) and reuses them when they already hold the N
 * traces, so that the slow seeding can run while the machine is busy and the timings later, when it
 * is quiet; `--seed-only` stops after seeding. Drop the database and the folder by hand when done.
 * `--pglite-from-postgres` fills the kept PGlite by COPYing the kept PostgreSQL database's rows (the
 * same history, seeded there first), table by table in chunks, instead of writing it through the store
 * again: PGlite's single WASM thread took hours for 1M upserts on a shared machine. Its own indexes,
 * generated search column and triggers still build everything derived.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { createPgliteStore, createPostgresStore, searchTracesQuery, type RelationalStore, type TraceSearch } from '@metronis/stores';
import postgres from 'postgres';
import { historyBatches, writeHistory } from '../seed/generate.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const { values } = parseArgs({
  options: {
    traces: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '50' },
    engines: { type: 'string', default: 'postgres,pglite' },
    keep: { type: 'boolean', default: false },
    'seed-only': { type: 'boolean', default: false },
    'pglite-from-postgres': { type: 'boolean', default: false },
  },
});
const traces = Number(values.traces);
const runs = Number(values.runs);
const engines = values.engines.split(',');
const keep = values.keep || values['seed-only'];
const log = (line: string) => process.stderr.write(`[bench:search] ${line}\n`);
const ORGS = ['bench_a', 'bench_b', 'bench_c'];
const ORG = ORGS[0]!;
const NOW = Date.parse('2026-12-01T00:00:00Z');
const DAY = 86_400_000;

interface Engine {
  name: string;
  /** the PGlite instance, for the PGlite engine */
  client?: PGlite;
  store: RelationalStore;
  raw(sql: string, params: unknown[]): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

async function openPostgres(): Promise<Engine> {
  const url = process.env.DATABASE_URL ?? 'postgres://metronis:metronis@127.0.0.1:15432/metronis';
  const database = keep ? `metronis_bench_search_keep_${traces}` : `metronis_bench_search_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  const [exists] = await admin`select 1 from pg_database where datname = ${database}`;
  if (!exists) await admin.unsafe(`create database "${database}"`);
  const target = new URL(url);
  target.pathname = `/${database}`;
  const store = createPostgresStore({ url: target.toString(), max: 4 });
  const sql = postgres(target.toString(), { max: 1, onnotice: () => {} });
  return {
    name: 'postgres',
    store,
    raw: async (text, params) => (await sql.unsafe(text, params as never[])) as unknown as Record<string, unknown>[],
    async close() {
      await store.close();
      await sql.end();
      if (!keep) await admin.unsafe(`drop database if exists "${database}" with (force)`);
      await admin.end();
    },
  };
}

async function openPglite(): Promise<Engine> {
  const dir = keep ? join(ROOT, 'bench-results', `search-pglite-${traces}`) : await mkdtemp(join(tmpdir(), 'metronis-bench-search-'));
  if (keep) await mkdir(dir, { recursive: true });
  const client = new PGlite(dir);
  const store = createPgliteStore({ client });
  return {
    name: 'pglite',
    client,
    store,
    raw: async (text, params) => (await client.query<Record<string, unknown>>(text, params)).rows,
    async close() {
      await store.close();
      if (!keep) await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Fills a PGlite engine with the rows of the kept PostgreSQL database seeded with the same N traces:
 * each table's non-generated columns, COPYed out of PostgreSQL and into PGlite in chunks of traces
 * (verdicts before traces, so the traces' insert trigger finds them, as the sinks order their writes).
 */
async function copyFromPostgres(engine: Engine): Promise<void> {
  if (!(engine.client instanceof PGlite)) throw new Error('--pglite-from-postgres copies into PGlite only');
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://metronis:metronis@127.0.0.1:15432/metronis');
  url.pathname = `/metronis_bench_search_keep_${traces}`;
  const source = postgres(url.toString(), { max: 1, onnotice: () => {} });
  const started = performance.now();
  try {
    const [held] = await source`select count(*)::int as n from traces`;
    if (held?.n !== traces) throw new Error(`${url.pathname.slice(1)} holds ${held?.n ?? 0} traces, not ${traces}: seed PostgreSQL first (--engines postgres --seed-only)`);
    const CHUNK = 20_000;
    for (const table of ['verdicts', 'traces', 'evaluations']) {
      const columns = (await source`select column_name from information_schema.columns where table_name = ${table} and table_schema = 'public' and is_generated = 'NEVER' order by ordinal_position`).map((r) => `"${String(r.column_name)}"`).join(', ');
      for (let from = 0; from < traces; from += CHUNK) {
        // Seeded ids are seed-7-<n>: a chunk is a range of n, so every table splits the same way.
        const range = `substring(trace_id from 8)::int >= ${from} and substring(trace_id from 8)::int < ${from + CHUNK}`;
        const chunks: Buffer[] = [];
        for await (const chunk of await source.unsafe(`copy (select ${columns} from ${table} where ${range}) to stdout`).readable()) chunks.push(chunk as Buffer);
        await engine.client.query(`copy ${table} (${columns}) from '/dev/blob'`, [], { blob: new Blob([Buffer.concat(chunks)]) });
      }
      log(`pglite: copied ${table} from PostgreSQL in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
  } finally {
    await source.end();
  }
}

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

/** Every index a plan (EXPLAIN FORMAT JSON) uses, and its node types. */
function planIndexes(plan: unknown, out = { indexes: new Set<string>(), nodes: new Set<string>() }) {
  if (Array.isArray(plan)) for (const p of plan) planIndexes(p, out);
  else if (plan !== null && typeof plan === 'object') {
    const node = plan as Record<string, unknown>;
    if (typeof node['Node Type'] === 'string') out.nodes.add(node['Node Type']);
    if (typeof node['Index Name'] === 'string') out.indexes.add(node['Index Name']);
    for (const value of Object.values(node)) if (typeof value === 'object') planIndexes(value, out);
  }
  return out;
}

const base: Pick<TraceSearch, 'sort' | 'order' | 'limit'> = { sort: 'time', order: 'desc', limit: 50 };

async function shapes(engine: Engine): Promise<[string, TraceSearch][]> {
  // Values that occur in the data, read once (the generator decides them).
  const [kind] = await engine.raw("SELECT k FROM (SELECT unnest(finding_kinds) AS k FROM traces WHERE org_id = $1 LIMIT 100000) x GROUP BY k ORDER BY count(*) DESC LIMIT 1", [ORG]);
  const [some] = await engine.raw('SELECT user_id, session_id FROM traces WHERE org_id = $1 ORDER BY timestamp DESC LIMIT 1', [ORG]);
  const lastDay = { from: NOW - DAY, to: NOW };
  return [
    ['newest first (no filter)', { ...base }],
    ['time range (last day)', { ...base, ...lastDay }],
    ['application', { ...base, application: 'checkout-bot' }],
    ['environment', { ...base, environment: 'staging' }],
    ['model provider + name', { ...base, model_provider: 'anthropic', model_name: 'claude-3-5-sonnet' }],
    ['user_id', { ...base, user_id: String(some?.user_id ?? 'user-1') }],
    ['session_id', { ...base, session_id: String(some?.session_id ?? 'x'), sort: 'time', order: 'asc' }],
    ['tag', { ...base, tags: ['beta'] }],
    ['metadata key=value', { ...base, metadata: { region: 'us' } }],
    ['severity exactly', { ...base, severity: 'critical' }],
    ['severity at least, by severity', { ...base, severity_at_least: 'high', sort: 'severity' }],
    ['passed=false', { ...base, passed: false }],
    ['failed module', { ...base, failed_module: 'pii' }],
    ['finding kind', { ...base, finding_kind: String(kind?.k ?? 'pii.email') }],
    ['decided by tier', { ...base, decided_by_tier: 1 }],
    ['full text (common word)', { ...base, text: 'refund' }],
    ['full text (rare)', { ...base, text: '"card 4111"' }],
    ['production failures with PII, last day', { ...base, ...lastDay, environment: 'production', passed: false, failed_module: 'pii' }],
    ['second page (cursor)', { ...base, after: { timestamp: NOW - DAY, trace_id: 'seed-1-0' } }],
  ];
}

const results: Record<string, unknown> = { traces, runs, date: new Date().toISOString() };
let missingIndex = false;

const opened: Engine[] = [];
try {
  for (const name of engines) opened.push(name === 'postgres' ? await openPostgres() : await openPglite());
  for (const engine of opened) {
    await engine.store.migrate();
    for (const org of ORGS) await engine.store.ensureOrganization(org, org);
  }
  // A kept engine that already holds the N traces is reused; one that holds some of them is refused
  // (its history would not be the generator's), so drop it and seed again.
  const held = await Promise.all(opened.map(async (engine) => Number((await engine.raw('SELECT count(*)::bigint AS n FROM traces', []))[0]?.n ?? 0)));
  const seeding = opened.filter((_, i) => held[i] !== traces);
  for (const [i, engine] of opened.entries()) {
    if (held[i] !== 0 && held[i] !== traces) throw new Error(`${engine.name} holds ${held[i]} traces, not 0 or ${traces}: drop the kept database or folder and run again`);
    if (held[i] === traces) log(`${engine.name}: reusing the ${traces} traces seeded before`);
  }
  const started = performance.now();
  let written = 0;
  const copied = values['pglite-from-postgres'] ? seeding.filter((e) => e.name === 'pglite') : [];
  for (const engine of copied) await copyFromPostgres(engine);
  if (seeding.length > copied.length) {
    for (const batch of historyBatches({ orgs: ORGS, traces, days: 30, now: NOW, seed: 7 }, 5000)) {
      for (const engine of seeding) if (!copied.includes(engine)) await writeHistory({ store: engine.store }, batch);
      written += batch.traces.length;
      if (written % 50_000 === 0 || written === traces) log(`seeded ${written} / ${traces} traces into ${seeding.filter((e) => !copied.includes(e)).map((e) => e.name).join(' and ')} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
  }
  const timed = values['seed-only'] ? [] : opened;
  if (values['seed-only']) {
    for (const engine of seeding) await engine.raw('ANALYZE', []);
    log('seeded; run again with --keep (without --seed-only) to time the shapes');
  }
  const ids = Array.from({ length: runs }, (_, i) => `seed-7-${Math.floor(((i + 0.5) / runs) * traces)}`);
  for (const engine of timed) {
    await engine.raw('ANALYZE', []);
    const rows: Record<string, unknown>[] = [];
    const scope = engine.store.forOrg(ORG);
    // The baseline: a bare SELECT by primary key (each id is in one of the orgs; absent ids cost the same lookup).
    const pk: number[] = [];
    for (const id of ids) {
      const t = performance.now();
      await scope.getTrace(id);
      pk.push(performance.now() - t);
    }
    rows.push({ shape: 'baseline: SELECT by primary key (getTrace)', p50_ms: percentile(pk, 50), p95_ms: percentile(pk, 95), indexes: 'traces_pkey' });
    for (const [shape, query] of await shapes(engine)) {
      const statement = searchTracesQuery(ORG, query);
      const [explained] = await engine.raw(`EXPLAIN (FORMAT JSON) ${statement.sql}`, statement.params);
      const plan = planIndexes(explained?.['QUERY PLAN'] ?? explained);
      if (plan.indexes.size === 0) {
        missingIndex = true;
        log(`${engine.name}: "${shape}" uses no index (${[...plan.nodes].join(', ')})`);
      }
      await scope.searchTraces(query); // warm
      const times: number[] = [];
      let found = 0;
      for (let r = 0; r < runs; r++) {
        const t = performance.now();
        found = (await scope.searchTraces(query)).length;
        times.push(performance.now() - t);
      }
      rows.push({ shape, p50_ms: percentile(times, 50), p95_ms: percentile(times, 95), rows: found, indexes: [...plan.indexes].join(', ') || `none (${[...plan.nodes].join(', ')})` });
    }
    results[engine.name] = rows;
    process.stdout.write(`\n### ${engine.name}: ${traces.toLocaleString('en')} traces (3 orgs), page of 50, ${runs} runs\n\n| filter shape | p50 ms | p95 ms | rows | indexes in the plan |\n|---|---:|---:|---:|---|\n`);
    for (const row of rows) process.stdout.write(`| ${row.shape} | ${(row.p50_ms as number).toFixed(2)} | ${(row.p95_ms as number).toFixed(2)} | ${row.rows ?? ''} | ${row.indexes} |\n`);
  }
  if (timed.length > 0) {
    await mkdir(join(ROOT, 'bench-results'), { recursive: true });
    const file = join(ROOT, 'bench-results', `search-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    await writeFile(file, JSON.stringify(results, null, 2));
    log(`wrote ${file}`);
  }
} finally {
  for (const engine of opened) await engine.close().catch((error: unknown) => log(`closing ${engine.name}: ${String(error)}`));
}
if (missingIndex) {
  if (traces >= 100_000) {
    log('a filter shape used no index: see above');
    process.exitCode = 1;
  } else log(`(at ${traces} traces a sequential scan can be the right plan; the check applies from 100,000)`);
}
