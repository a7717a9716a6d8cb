/**
 * `npm run bench:footprint`: where embedded Metronis's disk and memory go, per call, next to Arize
 * Phoenix on the same calls.
 *
 *   npm run bench:footprint -- [--calls 60000] [--batch 500] [--concurrency 2] [--only metronis,phoenix]
 *                              [--soak-seconds 0] [--soak-rate 100] [--keep]
 *   npm run bench:footprint -- --calls 2000 --only metronis      # a small run that proves it works
 *   npm run bench:footprint -- --analyse <data folder>           # only the disk breakdown of a stopped `npm start` folder
 *   npm run bench:footprint -- --pglite-levers 10000             # the PGlite store alone, each lever on its own (footprint-pglite.ts)
 *
 * For each system, alone and on a fresh data folder: the calls (footprint-calls.ts, OpenInference
 * spans, encoded once) are sent as OTLP protobuf requests; then the script waits until everything is
 * stored (Metronis: every consumer group of the embedded log has committed the N traces and no group
 * has moved for 3 s, so the verdicts, tier results and facts are written too; Phoenix: its span count
 * reaches N), samples the resting RSS after 10 s idle, stops the server (SIGTERM, so both flush and
 * checkpoint as a user's restart would) and measures the data folder.
 *
 * Reported per system: disk in all and per call (allocated blocks, as `du`), peak and resting RSS of
 * the process tree (anonymous and file-backed); for Metronis, per store: PGlite (each table's heap,
 * TOAST and every index, the WAL, the rest of the cluster; the average stored size of the jsonb and
 * tsvector columns), chDB (active parts per table, and what else the folder holds) and the embedded log
 * (per topic). `--soak-seconds S` then keeps sending `--soak-rate` calls/s for S seconds and records the
 * RSS curve (every 5 s), so growth under steady load shows. Writes bench-results/footprint-<time>.json
 * and prints the Markdown tables for BENCHMARKS.md.
 */
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { createChdbFactsStore, PGLITE_START_PARAMS } from '@metronis/stores';
import { callRequests } from './footprint-calls.js';
import { measurePgliteLevers, pgliteLeversTable } from './footprint-pglite.js';
import { machineInfo } from './machine.js';
import { ensurePhoenix, PHOENIX_VERSION, startPhoenix } from './phoenix.js';
import { sampleRss, treeUsage, type TreeUsage } from './proc.js';
import { sendAll } from './send.js';
import { spawnServer, type Spawned } from './spawn.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'apps/cli/dist/main.js');
const KEY = 'mtr_bench_footprint_key_0123456789abcdef';
const TRACES_TOPIC = 'metronis.traces.v1';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '60000' },
    batch: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '2' },
    only: { type: 'string', default: 'metronis,phoenix' },
    'soak-seconds': { type: 'string', default: '0' },
    'soak-rate': { type: 'string', default: '100' },
    keep: { type: 'boolean', default: false },
    analyse: { type: 'string' },
    'pglite-levers': { type: 'string' },
  },
});
const CALLS = Number(values.calls);
const BATCH = Number(values.batch);
const CONCURRENCY = Number(values.concurrency);
const SOAK_SECONDS = Number(values['soak-seconds']);
const SOAK_RATE = Number(values['soak-rate']);
const only = new Set(values.only.split(','));
const log = (line: string) => process.stderr.write(`[bench:footprint] ${line}\n`);
const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

// ---------------------------------------------------------------------------------------------
// Disk

/** Allocated bytes under `path` (st_blocks, as `du` counts them), files and folders. */
async function du(path: string): Promise<number> {
  const stat = await lstat(path).catch(() => undefined);
  if (stat === undefined) return 0;
  let total = stat.blocks * 512;
  if (stat.isDirectory()) for (const entry of await readdir(path)) total += await du(join(path, entry));
  return total;
}

/** Each entry of `dir` with its allocated bytes, largest first. */
async function duEach(dir: string): Promise<Record<string, number>> {
  const out: [string, number][] = [];
  for (const entry of await readdir(dir).catch(() => [] as string[])) out.push([entry, await du(join(dir, entry))]);
  return Object.fromEntries(out.sort((a, b) => b[1] - a[1]));
}

interface Relation {
  table: string;
  /** heap, toast or the index's name */
  part: string;
  bytes: number;
}

/** PGlite's folder: every public relation (heap with its free-space and visibility maps, TOAST with its index, each index), row counts, column sizes. */
async function analysePglite(dir: string) {
  const db = new PGlite(dir, { startParams: [...PGLITE_START_PARAMS] });
  try {
    const q = async <T>(text: string) => (await db.query<T>(text)).rows;
    const tables = await q<{ table: string; heap: number; toast: number; live: number; dead: number }>(`
      SELECT c.relname AS table,
             (pg_relation_size(c.oid) + pg_relation_size(c.oid, 'fsm') + pg_relation_size(c.oid, 'vm'))::float8 AS heap,
             coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0)::float8 AS toast,
             coalesce(s.n_live_tup, 0)::float8 AS live, coalesce(s.n_dead_tup, 0)::float8 AS dead
      FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
      WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace`);
    const indexes = await q<{ table: string; index: string; bytes: number }>(`
      SELECT t.relname AS table, i.relname AS index, pg_relation_size(i.oid)::float8 AS bytes
      FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
      WHERE t.relnamespace = 'public'::regnamespace`);
    const relations: Relation[] = [];
    for (const t of tables) {
      relations.push({ table: t.table, part: 'heap', bytes: t.heap });
      if (t.toast > 0) relations.push({ table: t.table, part: 'toast', bytes: t.toast });
    }
    for (const i of indexes) relations.push({ table: i.table, part: i.index, bytes: i.bytes });
    const rows: Record<string, number> = {};
    for (const t of ['traces', 'verdicts', 'evaluations']) rows[t] = Number((await q<{ n: number }>(`SELECT count(*)::float8 AS n FROM ${t}`))[0]!.n);
    const [columns] = await q<Record<string, number>>(`
      SELECT avg(pg_column_size(record))::float8 AS traces_record_stored, avg(octet_length(record::text))::float8 AS traces_record_text,
             avg(pg_column_size(search_tsv))::float8 AS traces_search_tsv_stored,
             (SELECT avg(pg_column_size(record)) FROM verdicts)::float8 AS verdicts_record_stored,
             (SELECT avg(octet_length(record::text)) FROM verdicts)::float8 AS verdicts_record_text,
             (SELECT avg(pg_column_size(record)) FROM evaluations)::float8 AS evaluations_record_stored,
             (SELECT avg(octet_length(record::text)) FROM evaluations)::float8 AS evaluations_record_text
      FROM traces`);
    const [database] = await q<{ bytes: number }>(`SELECT pg_database_size(current_database())::float8 AS bytes`);
    const settings = Object.fromEntries(
      (await q<{ name: string; setting: string }>(`SELECT name, setting FROM pg_settings WHERE name IN ('shared_buffers', 'max_wal_size', 'min_wal_size', 'wal_level', 'default_toast_compression', 'server_version')`)).map((s) => [s.name, s.setting]),
    );
    return { relations: relations.sort((a, b) => b.bytes - a.bytes), tables, rows, columns: Object.fromEntries(Object.entries(columns ?? {}).map(([k, v]) => [k, Math.round(Number(v))])), database_bytes: database!.bytes, settings };
  } finally {
    await db.close();
  }
}

/** chDB's folder: active parts per table, and what inactive parts still hold. */
async function analyseChdb(dir: string) {
  const facts = createChdbFactsStore({ path: dir });
  try {
    const parts = await facts.query<{ table: string; active: number; parts: number; rows: number; bytes: number }>(
      `SELECT table, active, count() AS parts, sum(rows) AS rows, sum(bytes_on_disk) AS bytes FROM system.parts WHERE database = currentDatabase() GROUP BY table, active ORDER BY bytes DESC`,
    );
    return { parts: parts.map((p) => ({ ...p, active: Boolean(Number(p.active)), parts: Number(p.parts), rows: Number(p.rows), bytes: Number(p.bytes) })) };
  } finally {
    await facts.close();
  }
}

async function analyseMetronis(dataDir: string, calls: number) {
  const folders = await duEach(dataDir);
  const total = Object.values(folders).reduce((s, b) => s + b, 0);
  const pgFolders = await duEach(join(dataDir, 'postgres'));
  const logTopics = await duEach(join(dataDir, 'log', 'topics'));
  const chFolders = await duEach(join(dataDir, 'clickhouse'));
  // measured before opening: opening writes (chDB's access files, PGlite's start-up)
  const pglite = await analysePglite(join(dataDir, 'postgres'));
  const chdb = await analyseChdb(join(dataDir, 'clickhouse'));
  const perCall = (bytes: number) => Math.round(bytes / calls);
  return {
    total_bytes: total,
    bytes_per_call: perCall(total),
    folders,
    stores: {
      postgres: { bytes: folders.postgres ?? 0, per_call: perCall(folders.postgres ?? 0), folders: pgFolders, ...pglite, relations: pglite.relations.map((r) => ({ ...r, per_call: perCall(r.bytes) })) },
      clickhouse: { bytes: folders.clickhouse ?? 0, per_call: perCall(folders.clickhouse ?? 0), folders: chFolders, parts: chdb.parts.map((p) => ({ ...p, per_call: perCall(p.bytes) })) },
      log: { bytes: folders.log ?? 0, per_call: perCall(folders.log ?? 0), topics: Object.fromEntries(Object.entries(logTopics).map(([t, b]) => [t, { bytes: b, per_call: perCall(b) }])) },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Load

/** Every group's committed offsets in the embedded log (groups/*.json), as "group topic" → sum over partitions. */
async function committed(dataDir: string): Promise<Map<string, number>> {
  const dir = join(dataDir, 'log', 'groups');
  const out = new Map<string, number>();
  for (const file of await readdir(dir).catch(() => [] as string[])) {
    if (!file.endsWith('.json')) continue;
    try {
      const parsed = JSON.parse(await readFile(join(dir, file), 'utf8')) as { group: string; offsets: Record<string, Record<string, string>> };
      for (const [topic, partitions] of Object.entries(parsed.offsets)) out.set(`${parsed.group} ${topic}`, Object.values(partitions).reduce((s, o) => s + Number(o), 0));
    } catch {
      // being replaced
    }
  }
  return out;
}

/** Until every group reading the traces topic committed `calls` and no group moved for 3 s. */
async function settled(dataDir: string, calls: number): Promise<void> {
  const deadline = Date.now() + 60 * 60_000;
  let previous = '';
  let stableSince = Date.now();
  for (;;) {
    const offsets = await committed(dataDir);
    const tracesGroups = [...offsets].filter(([k]) => k.endsWith(` ${TRACES_TOPIC}`));
    const snapshot = JSON.stringify([...offsets].sort());
    if (snapshot !== previous) {
      previous = snapshot;
      stableSince = Date.now();
    }
    if (tracesGroups.length > 0 && tracesGroups.every(([, n]) => n >= calls) && Date.now() - stableSince >= 3000) return;
    if (Date.now() > deadline) throw new Error(`not settled within an hour: ${snapshot}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

interface Memory {
  peak: TreeUsage & { at_s: number };
  resting: TreeUsage;
  curve: { t_s: number; rss_mib: number }[];
}

const roundUsage = (u: TreeUsage) => ({ rss_mib: Math.round(u.rssMiB), rss_anon_mib: Math.round(u.rssAnonMiB), rss_file_mib: Math.round(u.rssFileMiB) });

async function soak(post: (body: Uint8Array) => Promise<Response>): Promise<number> {
  if (SOAK_SECONDS <= 0) return 0;
  const perRequest = Math.max(1, Math.round(SOAK_RATE / 10)); // ten requests a second
  const bodies = callRequests({ calls: SOAK_SECONDS * SOAK_RATE, batch: perRequest, seed: 2, start: Date.now() });
  log(`soak: ${SOAK_RATE} calls/s for ${SOAK_SECONDS} s`);
  const started = performance.now();
  for (let i = 0; i < bodies.length; i++) {
    const due = started + i * 100;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const response = await post(bodies[i]!);
    await response.arrayBuffer();
  }
  return SOAK_SECONDS * SOAK_RATE;
}

async function benchMetronis(requests: Uint8Array[]) {
  const dataDir = await mkdtemp(join(tmpdir(), 'metronis-bench-footprint-'));
  const server: Spawned = await spawnServer(process.execPath, [CLI, 'dev'], { METRONIS_DATA_DIR: dataDir, METRONIS_PORT: '0', METRONIS_DEV_API_KEY: KEY, METRONIS_LOG_LEVEL: 'warn', METRONIS_RATE_LIMITS: JSON.stringify({ traces_per_second: 1_000_000, traces_burst: 1_000_000 }) }, /listening on (http:\/\/\S+)/);
  const pid = server.child.pid!;
  const rss = sampleRss(pid);
  const post = (body: Uint8Array) => fetch(`${server.url}/otlp/v1/traces`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/x-protobuf' }, body });
  try {
    const started = performance.now();
    await sendAll(requests, CONCURRENCY, post);
    log(`metronis: accepted ${CALLS} calls in ${((performance.now() - started) / 1000).toFixed(1)} s; waiting until stored`);
    await settled(dataDir, CALLS);
    const storedS = (performance.now() - started) / 1000;
    log(`metronis: stored in ${storedS.toFixed(1)} s`);
    const soaked = await soak(post);
    if (soaked > 0) await settled(dataDir, CALLS + soaked);
    await new Promise((r) => setTimeout(r, 10_000));
    const memory: Memory = { peak: rss.peak(), resting: await treeUsage(pid), curve: rss.curve() };
    rss.stop();
    await server.stop();
    const disk = await analyseMetronis(dataDir, CALLS + soaked);
    return { system: 'Metronis `npm start`', calls: CALLS + soaked, seconds_to_stored: Math.round(storedS), memory: { peak: { ...roundUsage(memory.peak), at_s: memory.peak.at_s }, resting: roundUsage(memory.resting), curve: memory.curve }, disk, data_dir: values.keep ? dataDir : undefined };
  } finally {
    rss.stop();
    await server.stop();
    if (!values.keep) await rm(dataDir, { recursive: true, force: true });
  }
}

async function benchPhoenix(requests: Uint8Array[]) {
  const workDir = await mkdtemp(join(tmpdir(), 'phoenix-bench-footprint-'));
  const phoenix = await startPhoenix(ensurePhoenix(ROOT, log), workDir);
  const pid = phoenix.server.child.pid!;
  const rss = sampleRss(pid);
  const post = (body: Uint8Array) => fetch(`${phoenix.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
  try {
    const started = performance.now();
    await sendAll(requests, CONCURRENCY, post);
    while ((await phoenix.spanCount()) < CALLS) await new Promise((r) => setTimeout(r, 1000));
    const storedS = (performance.now() - started) / 1000;
    log(`phoenix: stored in ${storedS.toFixed(1)} s`);
    const soaked = await soak(post);
    while ((await phoenix.spanCount()) < CALLS + soaked) await new Promise((r) => setTimeout(r, 1000));
    await new Promise((r) => setTimeout(r, 10_000));
    const memory: Memory = { peak: rss.peak(), resting: await treeUsage(pid), curve: rss.curve() };
    rss.stop();
    await phoenix.server.stop();
    const files = await duEach(workDir);
    const total = Object.values(files).reduce((s, b) => s + b, 0);
    return { system: `Arize Phoenix ${PHOENIX_VERSION}`, calls: CALLS + soaked, seconds_to_stored: Math.round(storedS), memory: { peak: { ...roundUsage(memory.peak), at_s: memory.peak.at_s }, resting: roundUsage(memory.resting), curve: memory.curve }, disk: { total_bytes: total, bytes_per_call: Math.round(total / (CALLS + soaked)), files } };
  } finally {
    rss.stop();
    await phoenix.server.stop();
    if (!values.keep) await rm(workDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

type MetronisDisk = Awaited<ReturnType<typeof analyseMetronis>>;

function metronisTables(disk: MetronisDisk, calls: number): string {
  const { postgres, clickhouse, log: eventLog } = disk.stores;
  const per = (b: number) => Math.round(b / calls).toLocaleString('en');
  const lines = [
    `Metronis data folder, ${calls.toLocaleString('en')} calls: ${mib(disk.total_bytes)} MiB, ${per(disk.total_bytes)} bytes per call`,
    '',
    '| store | MiB | bytes per call |',
    '| --- | ---: | ---: |',
    ...Object.entries(disk.folders).map(([name, b]) => `| ${name} | ${mib(b)} | ${per(b)} |`),
    '',
    '| PGlite: what | MiB | bytes per call |',
    '| --- | ---: | ---: |',
    ...Object.entries(postgres.folders).filter(([name]) => name !== 'base').map(([name, b]) => `| ${name}/ | ${mib(b)} | ${per(b)} |`),
    `| base/ (the databases) | ${mib(postgres.folders.base ?? 0)} | ${per(postgres.folders.base ?? 0)} |`,
    ...postgres.relations.filter((r) => r.bytes >= 64 * 1024).map((r) => `| ${r.table} ${r.part} | ${mib(r.bytes)} | ${per(r.bytes)} |`),
    '',
    `Rows: ${Object.entries(postgres.rows).map(([t, n]) => `${t} ${n}`).join(', ')}; dead tuples: ${postgres.tables.filter((t) => t.dead > 0).map((t) => `${t.table} ${t.dead}`).join(', ') || 'none counted'}.`,
    `Average stored column sizes (bytes): ${Object.entries(postgres.columns).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
    `Settings: ${Object.entries(postgres.settings).map(([k, v]) => `${k}=${v}`).join(', ')}.`,
    '',
    '| chDB: table (parts) | MiB | bytes per call |',
    '| --- | ---: | ---: |',
    ...clickhouse.parts.map((p) => `| ${p.table}${p.active ? '' : ' (inactive)'} (${p.parts}) | ${mib(p.bytes)} | ${per(p.bytes)} |`),
    ...Object.entries(clickhouse.folders).map(([name, b]) => `| folder ${name}/ | ${mib(b)} | ${per(b)} |`),
    '',
    '| embedded log: topic | MiB | bytes per call |',
    '| --- | ---: | ---: |',
    ...Object.entries(eventLog.topics).map(([t, v]) => `| ${t} | ${mib(v.bytes)} | ${v.per_call} |`),
  ];
  return lines.join('\n');
}

if (values['pglite-levers'] !== undefined) {
  const traces = Number(values['pglite-levers']);
  const machine = machineInfo(ROOT);
  const levers = await measurePgliteLevers(traces, log);
  await mkdir(join(ROOT, 'bench-results'), { recursive: true });
  const file = join(ROOT, 'bench-results', `footprint-pglite-${machine.date.replaceAll(':', '-')}.json`);
  await writeFile(file, `${JSON.stringify({ machine, traces, levers }, null, 2)}\n`);
  process.stdout.write(`${pgliteLeversTable(traces, levers)}\n`);
  log(`written ${file}`);
  process.exit(0);
}

if (values.analyse !== undefined) {
  const disk = await analyseMetronis(values.analyse, CALLS);
  process.stdout.write(`${metronisTables(disk, CALLS)}\n`);
  process.exit(0);
}

if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
const machine = machineInfo(ROOT);
log(`building ${Math.ceil(CALLS / BATCH)} OTLP requests of ${BATCH} calls`);
const requests = callRequests({ calls: CALLS, batch: BATCH, seed: 1, start: Date.now() - 3_600_000 });
const otlpBytes = requests.reduce((s, r) => s + r.length, 0);
const workload = { calls: CALLS, batch: BATCH, concurrency: CONCURRENCY, otlp_bytes_per_call: Math.round(otlpBytes / CALLS), soak_seconds: SOAK_SECONDS, soak_rate: SOAK_RATE };
const results: Record<string, unknown>[] = [];
const summary: string[] = ['| system | calls | disk MiB | disk bytes per call | peak RSS MiB | resting RSS MiB | stored after |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: |'];
let details = '';
if (only.has('metronis')) {
  const r = await benchMetronis(requests);
  results.push(r);
  summary.push(`| ${r.system} | ${r.calls} | ${mib(r.disk.total_bytes)} | ${r.disk.bytes_per_call} | ${r.memory.peak.rss_mib} | ${r.memory.resting.rss_mib} | ${r.seconds_to_stored} s |`);
  details = metronisTables(r.disk, r.calls);
}
if (only.has('phoenix')) {
  const r = await benchPhoenix(requests);
  results.push(r);
  summary.push(`| ${r.system} | ${r.calls} | ${mib(r.disk.total_bytes)} | ${r.disk.bytes_per_call} | ${r.memory.peak.rss_mib} | ${r.memory.resting.rss_mib} | ${r.seconds_to_stored} s |`);
}
await mkdir(join(ROOT, 'bench-results'), { recursive: true });
const file = join(ROOT, 'bench-results', `footprint-${machine.date.replaceAll(':', '-')}.json`);
await writeFile(file, `${JSON.stringify({ machine, workload, results }, null, 2)}\n`);
process.stdout.write(`${JSON.stringify({ machine, workload }, null, 2)}\n\n${summary.join('\n')}\n\n${details}\n`);
log(`written ${file}`);
