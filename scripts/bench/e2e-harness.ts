/**
 * What the end-to-end load bench (`npm run bench:e2e`) and the fault suite (`npm run test:faults`)
 * share: a private service stack (its own `METRONIS_STACK_DIR` and ports, started through
 * `scripts/stack.sh`, so the stack the other tests use is never touched), the distributed pipeline as
 * separate `metronis` processes from the build, an open-loop load generator, a watcher of end and
 * committed offsets (consumer lag over time, and when each record became durable), and per-process
 * CPU and memory from /proc.
 *
 * @example
 *   const stack = isolatedStack('.stack-faults', 23000);
 *   await stack.up(['postgres', 'kafka', 'registry']);
 *   const pipeline = await startPipeline(stack, { tier1Workers: 2 });
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKafkaLog, TOPICS, type Log, type TopicPartitionOffset } from '@metronis/streams';
import postgres from 'postgres';
import { Pool } from 'undici';
import { spawn } from 'node:child_process';
import { CLI, runCli, type Running } from '../../apps/cli/test/process.js';
import { isolatedPorts } from '../../infra/stack/test/run.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

// ---------------------------------------------------------------------------------------------
// The private stack

export type Service = 'postgres' | 'kafka' | 'registry' | 'clickhouse' | 'redis';

export interface IsolatedStack {
  dir: string;
  /** METRONIS_STACK_DIR and the METRONIS_*_PORT variables that scripts/stack.sh reads. */
  stackEnv: Record<string, string>;
  kafkaBrokers: string;
  registryUrl: string;
  databaseUrl: string;
  /** Runs `bash scripts/stack.sh <args>` on this stack; rejects with its output when it fails. */
  stack(...args: string[]): Promise<string>;
  up(services: Service[]): Promise<void>;
  /** Every process of a service's session (the service runs in its own session), from its pid file. */
  pids(service: Service): Promise<number[]>;
}

/** A stack in `<repo>/<dirName>` on ports `base + 92` (Kafka), `base + 81` (registry), `base + 32` (Postgres)... */
export function isolatedStack(dirName: string, base: number): IsolatedStack {
  const dir = join(ROOT, dirName);
  const stackEnv = { METRONIS_STACK_DIR: dir, ...isolatedPorts(base) };
  const stack = (...args: string[]) =>
    new Promise<string>((resolve, reject) => {
      execFile('bash', [join(ROOT, 'scripts/stack.sh'), ...args], { cwd: ROOT, env: { ...process.env, ...stackEnv }, timeout: 300_000 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`stack.sh ${args.join(' ')} failed: ${error.message}\n${stderr}\n${stdout}`));
        else resolve(`${stdout}${stderr}`);
      });
    });
  return {
    dir,
    stackEnv,
    kafkaBrokers: `127.0.0.1:${stackEnv.METRONIS_KAFKA_PORT}`,
    registryUrl: `http://127.0.0.1:${stackEnv.METRONIS_REGISTRY_PORT}/apis/ccompat/v7`,
    databaseUrl: `postgres://metronis:metronis@127.0.0.1:${stackEnv.METRONIS_PG_PORT}/metronis`,
    stack,
    async up(services) {
      await mkdir(dir, { recursive: true });
      // the registry keeps its schemas in Postgres: start it after Postgres answers
      const first = services.filter((s) => s !== 'registry');
      await Promise.all(first.map((s) => stack('start', s)));
      if (services.includes('registry')) await stack('start', 'registry');
    },
    async pids(service) {
      const status = await stack('status').catch((error: Error) => error.message);
      const match = new RegExp(`^${service}\\s+\\S+\\s+pid (\\d+)`, 'm').exec(status);
      if (match === null) return [];
      return sessionPids(Number(match[1]));
    },
  };
}

/**
 * Processes whose session id is `sid` (a service and its children), and the direct children of `sid`
 * (PostgreSQL's backends each start a session of their own).
 */
async function sessionPids(sid: number): Promise<number[]> {
  const out: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[3]) === sid || Number(fields[1]) === sid) out.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The pipeline: metronis migrate, gateway, tier1 workers, sinks worker

export interface PipelineOptions {
  tier1Workers: number;
  /** Node.js options per role, e.g. ['--cpu-prof', '--cpu-prof-dir=...'] (not allowed in NODE_OPTIONS). */
  nodeArgs?: Partial<Record<'gateway' | 'tier1' | 'sinks', string[]>>;
  logLevel?: string;
}

export interface Pipeline {
  key: string;
  database: string;
  databaseUrl: string;
  /** chDB folder of the sinks worker (CLICKHOUSE_URL=chdb:<factsDir>): the facts engine lives in that process. */
  factsDir: string;
  gatewayUrl: string;
  gateway: Running;
  tier1: Running[];
  sinks: Running;
  sql: postgres.Sql;
  startTier1(): Promise<Running>;
  startSinks(): Promise<Running>;
  /** The pids of the metronis processes by role, for CPU and memory sampling. */
  pids(): Record<string, number[]>;
  /** Writes the output of every process started so far to `<stack dir>/logs/<database>/`; returns the folder. */
  saveLogs(): Promise<string>;
  /** Stops every process (SIGTERM), drops the database and the facts folder unless `keep`. */
  stop(options?: { keep?: boolean }): Promise<void>;
}

export async function startPipeline(stack: IsolatedStack, options: PipelineOptions): Promise<Pipeline> {
  const key = `mtr_e2e_${randomUUID().replaceAll('-', '')}`;
  const database = `metronis_e2e_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const dbUrl = new URL(stack.databaseUrl);
  dbUrl.pathname = `/${database}`;
  const databaseUrl = dbUrl.toString();
  const factsDir = join(stack.dir, 'facts', database);
  await mkdir(factsDir, { recursive: true });
  const admin = postgres(stack.databaseUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${database}"`);
  await admin.end();

  const logLevel = options.logLevel ?? 'warn';
  const env = { KAFKA_BROKERS: stack.kafkaBrokers, SCHEMA_REGISTRY_URL: stack.registryUrl, DATABASE_URL: databaseUrl, CLICKHOUSE_URL: `chdb:${factsDir}`, METRONIS_DEV_API_KEY: key, METRONIS_LOG_LEVEL: logLevel };
  const all: Array<Running & { args: string[] }> = [];
  const start = (args: string[], extra: Record<string, string> = {}, nodeArgs: string[] = []) => {
    const child = nodeArgs.length === 0 ? runCli(args, { ...env, ...extra }) : withNodeArgs(nodeArgs, args, { ...env, ...extra });
    all.push({ ...child, args });
    return child;
  };

  const migrate = start(['migrate']);
  if ((await migrate.exited) !== 0) throw new Error(`metronis migrate failed:\n${migrate.output()}`);

  // 'info' for the line that says the process is ready; the rest of the output is kept in memory only
  const startTier1 = async () => {
    const worker = start(['worker', '--topology', 'tier1'], { METRONIS_LOG_LEVEL: 'info' }, options.nodeArgs?.tier1);
    await worker.waitFor(/"msg":"topology running"/, 120_000);
    return worker;
  };
  const startSinks = async () => {
    const worker = start(['worker', '--topology', 'sinks'], { METRONIS_LOG_LEVEL: 'info' }, options.nodeArgs?.sinks);
    await worker.waitFor(/"msg":"topology running"/, 120_000);
    return worker;
  };
  const gateway = start(['gateway'], { METRONIS_PORT: '0', METRONIS_LOG_LEVEL: 'info' }, options.nodeArgs?.gateway);
  const gatewayUrl = (await gateway.waitFor(/"url":"(http:\/\/[^"]+)","msg":"gateway listening"/, 120_000))[1]!;
  const sinks = await startSinks();
  const tier1: Running[] = [];
  for (let i = 0; i < options.tier1Workers; i++) tier1.push(await startTier1());
  const sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });
  let stopped = false;

  const pipeline: Pipeline = {
    key,
    database,
    databaseUrl,
    factsDir,
    gatewayUrl,
    gateway,
    tier1,
    sinks,
    sql,
    startTier1,
    startSinks,
    pids() {
      const alive = (r: Running) => r.child.exitCode === null && r.child.signalCode === null && r.child.pid !== undefined;
      return {
        gateway: [pipeline.gateway].filter(alive).map((r) => r.child.pid!),
        tier1: pipeline.tier1.filter(alive).map((r) => r.child.pid!),
        sinks: [pipeline.sinks].filter(alive).map((r) => r.child.pid!),
      };
    },
    async saveLogs() {
      const folder = join(stack.dir, 'logs', database);
      await mkdir(folder, { recursive: true });
      await Promise.all(all.map((p, i) => writeFile(join(folder, `${String(i).padStart(2, '0')}-${p.args.join('-')}.log`), p.output())));
      return folder;
    },
    async stop(stopOptions = {}) {
      if (stopped) return;
      stopped = true;
      await Promise.all(all.map((p) => p.kill('SIGTERM')));
      await sql.end({ timeout: 5 });
      if (stopOptions.keep) return;
      const drop = postgres(stack.databaseUrl, { max: 1, onnotice: () => {} });
      await drop.unsafe(`drop database if exists "${database}" with (force)`).catch(() => undefined);
      await drop.end();
      await rm(factsDir, { recursive: true, force: true });
    },
  };
  return pipeline;
}

/**
 * `runCli` with options for node itself: the same Running handle over `node <nodeArgs> main.js <args>`.
 * runCli spawns `node main.js <args>`; this wraps the same contract around another spawn.
 */
function withNodeArgs(nodeArgs: string[], args: string[], env: Record<string, string>): Running {
  const child = spawn(process.execPath, [...nodeArgs, CLI, ...args], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const onData = (chunk: Buffer) => (output += chunk.toString('utf8'));
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    exited,
    async waitFor(pattern, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = output.match(pattern);
        if (match !== null) return match;
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`metronis ${args.join(' ')} exited with ${child.exitCode} before ${pattern}:\n${output}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern} in:\n${output}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Offsets: lag over time, and when each record became durable in each consumer group

/** The consumer groups of the pipeline, by the topic they read. */
export const GROUPS: Array<{ group: string; topic: string; stage: string }> = [
  { group: 'metronis.tier1.v1', topic: TOPICS.traces.name, stage: 'tier1' },
  { group: 'metronis.sink.postgres-traces.v1', topic: TOPICS.traces.name, stage: 'pg traces' },
  { group: 'metronis.sink.clickhouse-trace-facts.v1', topic: TOPICS.traces.name, stage: 'ch trace facts' },
  { group: 'metronis.sink.postgres-evaluations.v1', topic: TOPICS.evaluations.name, stage: 'pg evaluations' },
  { group: 'metronis.sink.clickhouse-evaluation-facts.v1', topic: TOPICS.evaluations.name, stage: 'ch evaluation facts' },
  { group: 'metronis.sink.clickhouse-module-result-facts.v1', topic: TOPICS.evaluations.name, stage: 'ch module facts' },
  { group: 'metronis.sink.postgres-verdicts.v1', topic: TOPICS.verdicts.name, stage: 'pg verdicts' },
];

export interface LagSample {
  /** epoch ms */
  at: number;
  /** records not yet committed, by stage */
  lag: Record<string, number>;
}

function toMap(offsets: TopicPartitionOffset[]): Map<number, bigint> {
  return new Map(offsets.map((o) => [o.partition, o.offset]));
}

/**
 * Polls end offsets and every group's committed offsets. Committed offsets move only after the
 * effect is durable (the runner commits after the write), so the first poll at which a group's
 * committed offset passes a record's offset bounds the time the record became durable there, to
 * within one poll interval.
 */
export class OffsetWatcher {
  readonly samples: LagSample[] = [];
  /** group -> partition -> [time, committed offset] in time order */
  private readonly commits = new Map<string, Map<number, Array<[number, bigint]>>>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  errors = 0;

  private constructor(private readonly log: Log, private readonly intervalMs: number) {}

  static async start(brokers: string, intervalMs = 200): Promise<OffsetWatcher> {
    const log = await createKafkaLog({ brokers: brokers.split(','), clientId: 'metronis-e2e-watcher' });
    const watcher = new OffsetWatcher(log, intervalMs);
    watcher.timer = setInterval(() => void watcher.poll(), intervalMs);
    return watcher;
  }

  /** Lag by stage now (one poll). */
  async lag(): Promise<Record<string, number>> {
    const ends = new Map<string, Map<number, bigint>>();
    for (const topic of new Set(GROUPS.map((g) => g.topic))) ends.set(topic, toMap(await this.log.admin.endOffsets(topic)));
    const lag: Record<string, number> = {};
    const now = Date.now();
    for (const { group, topic, stage } of GROUPS) {
      const committed = toMap(await this.log.admin.committedOffsets(group, topic));
      let behind = 0n;
      for (const [partition, end] of ends.get(topic)!) {
        const at = committed.get(partition) ?? 0n;
        behind += end > at ? end - at : 0n;
        let series = this.commits.get(group);
        if (series === undefined) this.commits.set(group, (series = new Map()));
        let list = series.get(partition);
        if (list === undefined) series.set(partition, (list = []));
        if (list.length === 0 || list[list.length - 1]![1] !== at) list.push([now, at]);
      }
      lag[stage] = Number(behind);
    }
    return lag;
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const lag = await this.lag();
      this.samples.push({ at: Date.now(), lag });
    } catch {
      this.errors++;
    } finally {
      this.polling = false;
    }
  }

  /** Epoch ms of the first poll that saw `group` committed past `offset` on `partition`; undefined if not yet. */
  durableAt(group: string, partition: number, offset: bigint): number | undefined {
    const list = this.commits.get(group)?.get(partition);
    if (list === undefined) return undefined;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]![1] > offset) hi = mid;
      else lo = mid + 1;
    }
    return lo < list.length ? list[lo]![0] : undefined;
  }

  /** Waits until every group has committed everything (lag 0 everywhere) twice in a row; returns the time it took, or throws. */
  async waitForZeroLag(timeoutMs: number, progress?: (lag: Record<string, number>, elapsedMs: number) => void): Promise<number> {
    const started = Date.now();
    let zeros = 0;
    let last: Record<string, number> = {};
    while (Date.now() - started < timeoutMs) {
      try {
        last = await this.lag();
        progress?.(last, Date.now() - started);
        zeros = Object.values(last).every((n) => n === 0) ? zeros + 1 : 0;
        if (zeros >= 2) return Date.now() - started;
      } catch {
        zeros = 0;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`consumer lag did not return to zero within ${timeoutMs} ms: ${JSON.stringify(last)}`);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    while (this.polling) await new Promise((r) => setTimeout(r, 20));
    await this.log.close();
  }
}

/**
 * Reads a topic from its start to the end offsets of the moment of the call, with a throwaway
 * consumer group; returns every record (key, partition, offset, headers, value).
 */
export async function readTopic(brokers: string, topic: string, keep: (key: string | null) => boolean = () => true) {
  const log = await createKafkaLog({ brokers: brokers.split(','), clientId: 'metronis-e2e-reader' });
  try {
    const ends = toMap(await log.admin.endOffsets(topic));
    const remaining = new Map([...ends].filter(([, end]) => end > 0n));
    const consumer = log.consumer({ groupId: `metronis-e2e-reader-${randomUUID()}`, topics: [topic], start: 'earliest', maxWaitMs: 200, maxBatchRecords: 5000 });
    const out: Array<{ key: string | null; partition: number; offset: bigint; headers: Record<string, string>; value: Buffer | null; timestamp: number }> = [];
    const deadline = Date.now() + 120_000;
    try {
      for await (const batch of consumer.batches()) {
        for (const r of batch) {
          if (keep(r.key)) out.push({ key: r.key, partition: r.partition, offset: r.offset, headers: r.headers, value: r.value, timestamp: r.timestamp });
          if (r.offset + 1n >= (ends.get(r.partition) ?? 0n)) remaining.delete(r.partition);
        }
        if (remaining.size === 0) break;
        if (Date.now() > deadline) throw new Error(`reading ${topic}: partitions ${[...remaining.keys()].join(',')} not read to their end within 120 s`);
      }
    } finally {
      await consumer.close();
    }
    return out;
  } finally {
    await log.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Open-loop load: request i is due at start + i / rate, whether or not earlier ones were answered,
// and its latency counts from that intended time (no coordinated omission).

export interface Due {
  /** index of the request */
  i: number;
  /** performance.now() at which it was due */
  intendedAt: number;
}

export interface OpenLoopResult {
  scheduled: number;
  /** requests actually started by the end of the window (below `scheduled` when the generator fell behind) */
  started: number;
  seconds: number;
  /** how late the generator started requests, worst case, ms */
  maxStartDelayMs: number;
}

/** Calls `fire(due)` for every due request for `durationMs`, without awaiting answers; `stop()` ends early. */
export async function openLoop(ratePerSecond: number, durationMs: number, fire: (due: Due) => void, stop: { stopped?: boolean } = {}): Promise<OpenLoopResult> {
  const t0 = performance.now();
  const interval = 1000 / ratePerSecond;
  const scheduled = Math.floor((durationMs / 1000) * ratePerSecond);
  let i = 0;
  let maxStartDelayMs = 0;
  while (i < scheduled && !stop.stopped) {
    const now = performance.now();
    while (i < scheduled && t0 + i * interval <= now) {
      const intendedAt = t0 + i * interval;
      maxStartDelayMs = Math.max(maxStartDelayMs, now - intendedAt);
      fire({ i, intendedAt });
      i++;
    }
    const next = t0 + i * interval - performance.now();
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(next, 5))));
  }
  return { scheduled, started: i, seconds: (performance.now() - t0) / 1000, maxStartDelayMs };
}

export function httpPool(url: string, connections: number): Pool {
  return new Pool(url, { connections, pipelining: 1, headersTimeout: 30_000, bodyTimeout: 30_000, keepAliveTimeout: 10_000 });
}

// ---------------------------------------------------------------------------------------------
// Per-process CPU and memory from /proc

const TICKS = 100; // USER_HZ on Linux

/**
 * A process's CPU ticks and resident memory. Memory is the proportional set size (PSS: each shared
 * page divided among the processes that map it) where /proc gives it, so a group of processes that
 * share memory (PostgreSQL's backends and its shared buffers) is not counted once per process;
 * otherwise the RSS.
 */
async function procTimes(pid: number): Promise<{ cpuTicks: number; rssKiB: number } | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '');
    const pss = /^Pss:\s+(\d+)/m.exec(rollup);
    const rss = pss ?? /VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
    return { cpuTicks: Number(fields[11]) + Number(fields[12]), rssKiB: rss ? Number(rss[1]) : 0 };
  } catch {
    return undefined;
  }
}

export interface ProcessUsage {
  /** mean CPU over the window, percent of one core */
  cpuPct: number;
  /** CPU time used in the window, seconds (user + system, every process of the group) */
  cpuSeconds: number;
  /** the largest resident memory seen (PSS where readable, see procTimes), MiB */
  maxRssMiB: number;
}

/** Resident memory of each group at one moment of a run (seconds since the sampler started). */
export interface RssPoint {
  t: number;
  rssMiB: Record<string, number>;
}

/**
 * Samples the CPU time and resident memory of named groups of processes once a second (one sample
 * at a time: a slow /proc read under load delays the next one instead of overlapping it). CPU is
 * the ticks each process used between its first and last sample, over the window. With
 * `rssEverySeconds`, it also keeps each group's resident memory at that interval (a soak's curve).
 */
export class ProcessSampler {
  private readonly ticks = new Map<string, Map<number, { first: number; last: number }>>();
  private readonly maxRss = new Map<string, number>();
  private readonly lastRss = new Map<string, number>();
  readonly rssSeries: RssPoint[] = [];
  private startedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> | undefined;

  constructor(
    private readonly groups: () => Record<string, number[]> | Promise<Record<string, number[]>>,
    private readonly rssEverySeconds = 0,
  ) {}

  start(): this {
    this.startedAt = performance.now();
    this.sampling = this.sample();
    this.timer = setInterval(() => {
      if (this.sampling === undefined) this.sampling = this.sample().finally(() => (this.sampling = undefined));
    }, 1000);
    return this;
  }

  private async sample(): Promise<void> {
    for (const [name, pids] of Object.entries(await this.groups())) {
      let group = this.ticks.get(name);
      if (group === undefined) this.ticks.set(name, (group = new Map()));
      let rss = 0;
      for (const pid of pids) {
        const t = await procTimes(pid);
        if (t === undefined) continue;
        const seen = group.get(pid);
        if (seen === undefined) group.set(pid, { first: t.cpuTicks, last: t.cpuTicks });
        else seen.last = t.cpuTicks;
        rss += t.rssKiB;
      }
      this.maxRss.set(name, Math.max(this.maxRss.get(name) ?? 0, rss));
      this.lastRss.set(name, rss);
    }
    const t = (performance.now() - this.startedAt) / 1000;
    const due = this.rssEverySeconds > 0 && (this.rssSeries.length === 0 || t - this.rssSeries[this.rssSeries.length - 1]!.t >= this.rssEverySeconds);
    if (due) this.rssSeries.push({ t: Math.round(t), rssMiB: Object.fromEntries([...this.lastRss].map(([name, kib]) => [name, Math.round(kib / 1024)])) });
  }

  /** Usage from the start to now, sampling on. */
  async usage(): Promise<Record<string, ProcessUsage>> {
    await this.sampling;
    await this.sample();
    const seconds = (performance.now() - this.startedAt) / 1000;
    const out: Record<string, ProcessUsage> = {};
    for (const [name, group] of this.ticks) {
      let used = 0;
      for (const { first, last } of group.values()) used += last - first;
      out[name] = {
        cpuPct: seconds > 0 ? Math.round((used / TICKS / seconds) * 1000) / 10 : 0,
        cpuSeconds: used / TICKS,
        maxRssMiB: Math.round((this.maxRss.get(name) ?? 0) / 1024),
      };
    }
    return out;
  }

  async stop(): Promise<Record<string, ProcessUsage>> {
    clearInterval(this.timer);
    return this.usage();
  }
}

// ---------------------------------------------------------------------------------------------

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function percentiles(values: number[]): { n: number; p50: number; p95: number; p99: number; max: number } {
  const sorted = Float64Array.from(values).sort();
  const r = (x: number) => (Number.isFinite(x) ? Math.round(x * 10) / 10 : x);
  return { n: values.length, p50: r(percentile(sorted, 50)), p95: r(percentile(sorted, 95)), p99: r(percentile(sorted, 99)), max: r(sorted[sorted.length - 1] ?? NaN) };
}
