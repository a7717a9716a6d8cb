/**
 * `npm run bench:embedded`: `npm start` (`metronis dev`, the whole pipeline in one process tree) from
 * the first 202 to the last verdict in Postgres (PGlite), batched and single, with the CPU it took
 * per trace: the process's, and per thread (main thread, libuv's pool, the other threads by name).
 *
 *   npm run bench:embedded -- [--traces 20000] [--modes batch,single] [--rounds 2]
 *                             [--compare before=../metronis-before] [--cpu-prof] [--skip-bare]
 *
 * Each run starts `metronis dev` on a fresh data folder, warms it up (a tenth of the traces, to their
 * verdicts), then sends `--traces` traces closed-loop: in batches of 50 over 8 connections, or one per
 * request over 64 connections. Measured from the first request:
 * - accepted/s: traces answered 202, over the time until the last answer;
 * - to verdict/s: traces over the time until the Postgres verdicts sink has committed past every
 *   verdict (its committed offsets, read from the log's group file every 50 ms; the runner commits
 *   only after the upsert returned, so a committed verdict is a stored one);
 * - CPU per trace: user+system time of the process tree over that window, divided by the traces; per
 *   thread group from /proc/<pid>/task (`proc.ts`); peak RSS of the tree.
 *
 * Same-run baselines: the bare node:http server (JSON.parse only) under the same requests, which says
 * how fast this machine is right now; and with `--compare name=<checkout>`, another checkout's build
 * (e.g. the commit before a change), run interleaved with this one (A B A B …), so before and after
 * share the machine's state. The load average is recorded before and after every run: the machine is
 * shared, so compare CPU per trace, which holds on a busy machine where rates do not.
 *
 * `--cpu-prof` runs this checkout's server with `--cpu-prof` (one profile per thread, worker threads
 * included) and prints each profile summarised by self time.
 *
 * Writes bench-results/embedded-<time>.json and prints the Markdown table for BENCHMARKS.md.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { TOPICS } from '../../streams/src/topics.js';
import { postgresVerdictsSink } from '../../topologies/sinks/src/index.js';
import { traceBody } from './gateway.js';
import { machineInfo } from './machine.js';
import { threadGroupDelta, threadTimes, treeUsage } from './proc.js';
import { profileStartUs, summariseProfile, type ProfileSummary } from './profile.js';
import { spawnServer, type Spawned } from './spawn.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KEY = 'mtr_bench_embedded_key_0123456789abcdef';
const BATCH = 50;
const MODES = { batch: { path: '/v1/traces/batch', connections: 8, perRequest: BATCH }, single: { path: '/v1/traces', connections: 64, perRequest: 1 } } as const;
type Mode = keyof typeof MODES;
/** The group whose committed offsets say a verdict is stored (the Postgres verdicts sink's). */
const VERDICTS_GROUP = postgresVerdictsSink({ upsertVerdicts: async () => undefined }).groupId;

const { values } = parseArgs({
  options: {
    traces: { type: 'string', default: '20000' },
    modes: { type: 'string', default: 'batch,single' },
    rounds: { type: 'string', default: '2' },
    compare: { type: 'string', multiple: true, default: [] },
    'cpu-prof': { type: 'boolean', default: false },
    'skip-bare': { type: 'boolean', default: false },
  },
});
const TRACES = Math.ceil(Number(values.traces) / BATCH) * BATCH;
const WARMUP = Math.max(BATCH, Math.ceil(TRACES / 10 / BATCH) * BATCH);
const ROUNDS = Number(values.rounds);
const modes = values.modes.split(',').map((m) => {
  if (!(m in MODES)) throw new Error(`--modes: unknown mode ${m} (batch, single)`);
  return m as Mode;
});
const log = (line: string) => process.stderr.write(`[bench:embedded] ${line}\n`);
const load = () => loadavg().map((l) => Math.round(l * 100) / 100);

/** The variants to run: this checkout, and each `--compare name=<checkout>`. */
const variants = [
  { name: 'this checkout', root: ROOT },
  ...values.compare.map((spec) => {
    const at = spec.indexOf('=');
    if (at < 1) throw new Error(`--compare takes name=<checkout folder>, got ${spec}`);
    return { name: spec.slice(0, at), root: `${resolve(spec.slice(at + 1))}/` };
  }),
];
for (const v of variants) if (!existsSync(join(v.root, 'apps/cli/dist/main.js'))) throw new Error(`${v.root}apps/cli/dist/main.js is missing: run npm run build there first`);

// ---------------------------------------------------------------------------------------------

/** Sends `count` traces closed-loop from trace number `first`; answers the statuses and latencies. */
async function send(url: string, mode: Mode, first: number, count: number): Promise<{ seconds: number; status: Record<string, number>; latencyMs: { p50: number; p99: number } }> {
  const { path, connections, perRequest } = MODES[mode];
  const pool = new Pool(url, { connections, pipelining: 1 });
  const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
  const requests = count / perRequest;
  const status: Record<string, number> = {};
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  try {
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (next < requests) {
          const i = first / perRequest + next++;
          const body = JSON.stringify(perRequest === 1 ? traceBody(i) : { traces: Array.from({ length: perRequest }, (_, j) => traceBody(i * perRequest + j)) });
          const t0 = performance.now();
          const response = await pool.request({ path, method: 'POST', headers, body });
          await response.body.dump();
          latencies.push(performance.now() - t0);
          status[response.statusCode] = (status[response.statusCode] ?? 0) + 1;
        }
      }),
    );
  } finally {
    await pool.close();
  }
  const sorted = latencies.sort((a, b) => a - b);
  const at = (p: number) => Math.round((sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? NaN) * 100) / 100;
  return { seconds: (performance.now() - started) / 1000, status, latencyMs: { p50: at(0.5), p99: at(0.99) } };
}

/** Verdicts the Postgres verdicts sink has committed, from the group's file in the embedded log (streams/src/embedded/README.md). */
async function committedVerdicts(dataDir: string): Promise<number> {
  try {
    const file = JSON.parse(await readFile(join(dataDir, 'log', 'groups', `${Buffer.from(VERDICTS_GROUP).toString('hex')}.json`), 'utf8')) as { offsets: Record<string, Record<string, string>> };
    return Object.values(file.offsets[TOPICS.verdicts.name] ?? {}).reduce((sum, offset) => sum + Number(offset), 0);
  } catch {
    return 0; // not written yet, or replaced at this moment
  }
}

async function untilVerdicts(dataDir: string, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await committedVerdicts(dataDir)) < count) {
    if (Date.now() > deadline) throw new Error(`only ${await committedVerdicts(dataDir)} of ${count} verdicts stored within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Run {
  variant: string;
  mode: Mode;
  round: number;
  traces: number;
  accepted: number;
  statuses: Record<string, number>;
  accepted_per_s: number;
  to_verdict_per_s: number;
  ingest_latency_ms: { p50: number; p99: number };
  cpu_ms_per_trace: number;
  /** CPU ms per trace by thread group (main, libuv-worker, node = worker threads and V8 helpers, chDB's pools by name) */
  cpu_ms_per_trace_by_thread: Record<string, number>;
  /** CPU of the tree over the window as cores busy (2 = both cores of this machine) */
  cores_busy: number;
  peak_rss_mib: number;
  load_average: { before: number[]; after: number[] };
  /** seconds from the server's spawn to the start and the end of the measured window (for its profiles) */
  window: [number, number];
}

async function runOnce(variant: (typeof variants)[number], mode: Mode, round: number, profileDir?: string): Promise<Run> {
  const dataDir = await mkdtemp(join(tmpdir(), 'metronis-bench-embedded-'));
  const nodeArgs = profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];
  let server: Spawned | undefined;
  const spawned = performance.now();
  try {
    server = await spawnServer(
      process.execPath,
      [...nodeArgs, join(variant.root, 'apps/cli/dist/main.js'), 'dev'],
      { METRONIS_DATA_DIR: dataDir, METRONIS_PORT: '0', METRONIS_DEV_API_KEY: KEY, METRONIS_LOG_LEVEL: 'warn', METRONIS_RATE_LIMITS: JSON.stringify({ requests_per_second: 1_000_000, requests_burst: 1_000_000, traces_per_second: 1_000_000, traces_burst: 1_000_000 }) },
      /listening on (http:\/\/\S+)/,
    );
    const pid = server.child.pid!;
    const warm = await send(server.url, mode, 0, WARMUP);
    if ((warm.status['202'] ?? 0) !== WARMUP / MODES[mode].perRequest) throw new Error(`warm-up answered ${JSON.stringify(warm.status)}`);
    await untilVerdicts(dataDir, WARMUP, 300_000);

    const loadBefore = load();
    const cpuBefore = await treeUsage(pid);
    const threadsBefore = await threadTimes(pid);
    let peak = cpuBefore.rssMiB;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, (await treeUsage(pid)).rssMiB);
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    const started = performance.now();
    const sent = await send(server.url, mode, WARMUP, TRACES);
    await untilVerdicts(dataDir, WARMUP + TRACES, 600_000);
    const seconds = (performance.now() - started) / 1000;
    const cpuAfter = await treeUsage(pid);
    const threadsAfter = await threadTimes(pid);
    sampling = false;
    await sampler;

    const accepted = (sent.status['202'] ?? 0) * MODES[mode].perRequest;
    const perTrace = (cpuSeconds: number) => Math.round((cpuSeconds * 1e6) / TRACES) / 1000;
    const byThread = Object.fromEntries(
      Object.entries(threadGroupDelta(threadsBefore, threadsAfter))
        .filter(([, s]) => s > 0)
        .sort((a, b) => b[1] - a[1])
        .map(([group, s]) => [group, perTrace(s)]),
    );
    return {
      variant: variant.name,
      mode,
      round,
      traces: TRACES,
      accepted,
      statuses: sent.status,
      accepted_per_s: Math.round(accepted / sent.seconds),
      to_verdict_per_s: Math.round(TRACES / seconds),
      ingest_latency_ms: sent.latencyMs,
      cpu_ms_per_trace: perTrace(cpuAfter.cpuSeconds - cpuBefore.cpuSeconds),
      cpu_ms_per_trace_by_thread: byThread,
      cores_busy: Math.round(((cpuAfter.cpuSeconds - cpuBefore.cpuSeconds) / seconds) * 100) / 100,
      peak_rss_mib: Math.round(peak),
      load_average: { before: loadBefore, after: load() },
      window: [(started - spawned) / 1000, (started - spawned) / 1000 + seconds],
    };
  } finally {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** The bare node:http baseline under the same requests: traces answered per second. */
async function bare(mode: Mode): Promise<{ mode: Mode; accepted_per_s: number; latency_ms: { p50: number; p99: number } }> {
  const server = await spawnServer(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/bench/bare-server.ts')], {}, /listening on (http:\/\/\S+)/);
  try {
    await send(server.url, mode, 0, WARMUP);
    const sent = await send(server.url, mode, WARMUP, TRACES);
    return { mode, accepted_per_s: Math.round(((sent.status['202'] ?? 0) * MODES[mode].perRequest) / sent.seconds), latency_ms: sent.latencyMs };
  } finally {
    await server.stop();
  }
}

// ---------------------------------------------------------------------------------------------

const machine = machineInfo(ROOT);
log(`${TRACES} traces per run after ${WARMUP} to warm up; modes ${modes.join(', ')}; ${ROUNDS} round(s); variants: ${variants.map((v) => v.name).join(', ')}; load average ${load().join(' / ')}`);
const baselines = [];
if (!values['skip-bare']) for (const mode of modes) baselines.push(await bare(mode));
const runs: Run[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  for (const mode of modes) {
    // Alternate which variant goes first, so neither always runs on the warmer (or busier) machine.
    const order = round % 2 === 1 ? variants : [...variants].reverse();
    for (const variant of order) {
      log(`round ${round}, ${mode}, ${variant.name} (load average ${load().join(' / ')})`);
      const run = await runOnce(variant, mode, round);
      log(`  ${run.to_verdict_per_s} traces/s to verdict, ${run.cpu_ms_per_trace} ms CPU per trace ${JSON.stringify(run.cpu_ms_per_trace_by_thread)}`);
      runs.push(run);
    }
  }
}
let profiles: Record<string, ProfileSummary> | undefined;
let profiled: Run | undefined;
if (values['cpu-prof']) {
  const dir = await mkdtemp(join(tmpdir(), 'metronis-bench-embedded-prof-'));
  log(`profiling this checkout (${modes[0]}) into ${dir}`);
  profiled = await runOnce(variants[0]!, modes[0]!, 0, dir);
  log(`  ${profiled.to_verdict_per_s} traces/s to verdict, ${profiled.cpu_ms_per_trace} ms CPU per trace (profiled)`);
  profiles = {};
  // One file per thread (`CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile`; thread 0 is the main
  // thread), each summarised over the measured window.
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).sort();
  const main = files.find((f) => f.split('.')[4] === '0') ?? files[0]!;
  const start = await profileStartUs(join(dir, main));
  for (const file of files) profiles[file] = await summariseProfile(join(dir, file), ROOT, { topN: 30, windowUs: [start + profiled.window[0] * 1e6, start + profiled.window[1] * 1e6] });
}

await mkdir(join(ROOT, 'bench-results'), { recursive: true });
const out = join(ROOT, 'bench-results', `embedded-${machine.date.replaceAll(':', '-')}.json`);
await writeFile(out, `${JSON.stringify({ machine, traces: TRACES, warmup: WARMUP, baselines, runs, profiled, profiles, load_average_at_end: load() }, null, 2)}\n`);
const threads = (r: Run) => Object.entries(r.cpu_ms_per_trace_by_thread).map(([g, ms]) => `${g} ${ms}`).join(', ');
const table = [
  '| variant | mode | round | accepted/s | to verdict/s | CPU per trace | by thread (ms) | cores busy | peak RSS | load avg before → after |',
  '| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- |',
  ...runs.map((r) => `| ${r.variant} | ${r.mode} | ${r.round} | ${r.accepted_per_s} | ${r.to_verdict_per_s} | ${r.cpu_ms_per_trace} ms | ${threads(r)} | ${r.cores_busy} | ${r.peak_rss_mib} MiB | ${r.load_average.before[0]} → ${r.load_average.after[0]} |`),
  '',
  ...baselines.map((b) => `bare node:http, ${b.mode}: ${b.accepted_per_s} traces/s (p50 ${b.latency_ms.p50} ms, p99 ${b.latency_ms.p99} ms)`),
].join('\n');
process.stdout.write(`${table}\n`);
if (profiles !== undefined) process.stdout.write(`\nprofiles: ${JSON.stringify(profiles, null, 1)}\n`);
log(`written ${out}`);
