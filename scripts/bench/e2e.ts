/**
 * `npm run bench:e2e`: the real distributed pipeline under open-loop load, every process on this
 * machine (gateway, tier1 worker, sinks worker with chDB, Kafka, Apicurio, PostgreSQL, and the load
 * generator itself), on a private stack (`.stack-bench`, ports 24xxx, wiped at the start of each run).
 *
 * For each fixed rate (traces/s) and mode (one trace per request, or batches of 50), held for
 * `--seconds`: ingest latency from the *intended* send time (open loop, so a slow answer delays no
 * later request and cannot hide latency: no coordinated omission), the time from the 202 to the
 * verdict durable in Postgres and to the facts durable in ClickHouse (chDB), consumer lag over time,
 * CPU and memory per process, errors; and whether the rate was sustained with bounded lag.
 * Baselines in the same run: a bare node:http server doing the same JSON parse at the same rates,
 * and Kafka's own ProducerPerformance and ConsumerPerformance on the same broker. Last, a CPU profile
 * (`--cpu-prof`) of every metronis process at the highest sustained rate, summarised by self time.
 *
 *   npm run bench:e2e                      # 500, 1000, 2000, 5000 traces/s, 60 s each (about 25 minutes)
 *   npm run bench:e2e -- --quick           # 200, 500 traces/s for 10 s: to check the harness
 *   npm run bench:e2e -- --rates 500,1000 --seconds 60 --modes single --no-profile --tier1-workers 2
 *   npm run bench:e2e -- --rates 1000 --modes batch --soak-seconds 600   # then 10 minutes at the highest sustained rate
 *
 * CPU per trace is each process's CPU time from the start of a step until the pipeline drained, over
 * the traces accepted in it: the figure that holds on a noisy machine, where rates do not.
 *
 * "Durable in Postgres / ClickHouse" is read from the sinks' committed offsets: the runner commits a
 * record only after the write that holds it returned, so the first offset poll (every 200 ms) that
 * sees the group past the record bounds the time it became durable (resolution: the poll interval).
 * A record's partition and offset per topic come from a consumer of the topics in this process.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createKafkaLog, TOPICS, type LogConsumer } from '@metronis/streams';
import {
  GROUPS,
  httpPool,
  isolatedStack,
  OffsetWatcher,
  openLoop,
  percentiles,
  ProcessSampler,
  ROOT,
  startPipeline,
  type IsolatedStack,
  type Pipeline,
  type RssPoint,
} from './e2e-harness.js';
import { traceBody } from './gateway.js';
import { summariseProfile, type ProfileSummary } from './profile.js';
import { runToEnd, spawnServer } from './spawn.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    rates: { type: 'string' },
    modes: { type: 'string', default: 'single,batch' },
    'bare-seconds': { type: 'string' },
    'drain-seconds': { type: 'string' },
    'tier1-workers': { type: 'string', default: '1' },
    'no-profile': { type: 'boolean', default: false },
    'no-baselines': { type: 'boolean', default: false },
    'keep-stack': { type: 'boolean', default: false },
    'soak-seconds': { type: 'string' },
    'soak-rate': { type: 'string' },
    'soak-mode': { type: 'string', default: 'batch' },
  },
});
const quick = args.quick;
const seconds = Number(args.seconds ?? (quick ? 10 : 60));
const rates = (args.rates ?? (quick ? '200,500' : '500,1000,2000,5000')).split(',').map(Number);
const modes = args.modes.split(',') as Array<'single' | 'batch'>;
const bareSeconds = Number(args['bare-seconds'] ?? (quick ? 5 : 15));
const drainSeconds = Number(args['drain-seconds'] ?? (quick ? 30 : 120));
const tier1Workers = Number(args['tier1-workers']);
/** A soak after the steps: one rate held this long, each process's resident memory every 10 s. */
const soakSeconds = args['soak-seconds'] === undefined ? 0 : Number(args['soak-seconds']);
const soakMode = args['soak-mode'] as 'single' | 'batch';
const BATCH = 50;
/** Requests waiting for an answer beyond which the generator stops queueing more (they count as errors). */
const MAX_INFLIGHT = 4096;
const log = (line: string) => process.stderr.write(`[bench:e2e ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

// ---------------------------------------------------------------------------------------------

interface HttpStep {
  rate: number;
  mode: 'single' | 'batch';
  requests: number;
  seconds: number;
  /** request latency from the intended send time, ms */
  latency: ReturnType<typeof percentiles>;
  status: Record<string, number>;
  maxStartDelayMs: number;
  /** epoch ms of each accepted trace's 202, by trace id */
  acks: Map<string, number>;
}

/** Open-loop load at `rate` traces/s against `url` for `secs`. */
async function drive(url: string, key: string, rate: number, mode: 'single' | 'batch', secs: number, idPrefix: string): Promise<HttpStep> {
  const pool = httpPool(url, 256);
  const latencies: number[] = [];
  const status: Record<string, number> = {};
  const acks = new Map<string, number>();
  const inflight = new Set<Promise<void>>();
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const requestRate = mode === 'single' ? rate : rate / BATCH;
  const body = (id: string, i: number) => JSON.stringify({ ...traceBody(i), trace_id: id });
  const loop = await openLoop(requestRate, secs * 1000, ({ i, intendedAt }) => {
    if (inflight.size >= MAX_INFLIGHT) {
      // the target is this far behind: count the request as failed rather than queue without bound
      status['not sent (4,096 requests already waiting)'] = (status['not sent (4,096 requests already waiting)'] ?? 0) + 1;
      return;
    }
    const ids = mode === 'single' ? [`${idPrefix}${i}`] : Array.from({ length: BATCH }, (_, j) => `${idPrefix}${i}-${j}`);
    const payload = mode === 'single' ? body(ids[0]!, i) : `{"traces":[${ids.map((id, j) => body(id, i * BATCH + j)).join(',')}]}`;
    const p = pool
      .request({ path: mode === 'single' ? '/v1/traces' : '/v1/traces/batch', method: 'POST', headers, body: payload })
      .then(async (res) => {
        const text = await res.body.text();
        const done = performance.now();
        const at = Date.now();
        latencies.push(done - intendedAt);
        status[res.statusCode] = (status[res.statusCode] ?? 0) + 1;
        if (res.statusCode !== 202) return;
        if (mode === 'single') acks.set(ids[0]!, at);
        else if (text.startsWith('{"accepted"') || text.includes('"accepted"')) for (const a of (JSON.parse(text) as { accepted: Array<{ trace_id: string }> }).accepted) acks.set(a.trace_id, at);
      })
      .catch((error: { code?: string }) => {
        latencies.push(performance.now() - intendedAt);
        const code = error.code ?? 'error';
        status[code] = (status[code] ?? 0) + 1;
      });
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  });
  while (inflight.size > 0) await Promise.allSettled([...inflight]);
  await pool.close();
  const notSent = Object.entries(status).filter(([k]) => k.startsWith('not sent')).reduce((a, [, n]) => a + n, 0);
  return { rate, mode, requests: latencies.length + notSent, seconds: Math.round(loop.seconds * 10) / 10, latency: percentiles(latencies), status, maxStartDelayMs: Math.round(loop.maxStartDelayMs), acks };
}

// ---------------------------------------------------------------------------------------------
// Where each trace's records landed: partition and offset per topic, from the topics themselves

class Positions {
  readonly traces = new Map<string, [number, bigint]>();
  readonly evaluations = new Map<string, [number, bigint]>();
  readonly verdicts = new Map<string, [number, bigint]>();
  private consumer: LogConsumer | undefined;
  private running: Promise<void> | undefined;

  static async start(brokers: string): Promise<Positions> {
    const positions = new Positions();
    const kafka = await createKafkaLog({ brokers: [brokers], clientId: 'metronis-bench-positions' });
    positions.consumer = kafka.consumer({ groupId: `metronis-bench-positions-${Date.now()}`, topics: [TOPICS.traces.name, TOPICS.evaluations.name, TOPICS.verdicts.name], start: 'earliest', maxBatchRecords: 5000, maxWaitMs: 100 });
    positions.running = (async () => {
      try {
        for await (const batch of positions.consumer!.batches()) {
          for (const r of batch) {
            if (r.key === null) continue;
            const map = r.topic === TOPICS.traces.name ? positions.traces : r.topic === TOPICS.evaluations.name ? positions.evaluations : positions.verdicts;
            map.set(r.key, [r.partition, r.offset]);
          }
        }
      } finally {
        await kafka.close();
      }
    })();
    return positions;
  }

  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.close().catch(() => undefined);
    await this.running?.catch(() => undefined);
  }
}

const groupOf = (stage: string) => GROUPS.find((g) => g.stage === stage)!.group;

/**
 * After a step the pipeline could not drain in time: stop the workers, move every consumer group to
 * the end of its topic, start the workers again, so the next step starts without the backlog.
 * Returns how many records were skipped.
 */
async function skipBacklog(pipeline: Pipeline, stack: IsolatedStack): Promise<number> {
  await Promise.all([...pipeline.tier1, pipeline.sinks].map((w) => w.kill('SIGTERM')));
  const kafka = await createKafkaLog({ brokers: [stack.kafkaBrokers], clientId: 'metronis-bench-skip' });
  let skipped = 0n;
  try {
    for (const { group, topic } of GROUPS) {
      const committed = new Map((await kafka.admin.committedOffsets(group, topic)).map((o) => [o.partition, o.offset]));
      for (const end of await kafka.admin.resetOffsets(group, topic, 'latest')) skipped += end.offset - (committed.get(end.partition) ?? 0n);
    }
  } finally {
    await kafka.close();
  }
  pipeline.sinks = await pipeline.startSinks();
  for (let i = 0; i < pipeline.tier1.length; i++) pipeline.tier1[i] = await pipeline.startTier1();
  return Number(skipped);
}

/** Time from each trace's 202 to its verdict durable in Postgres and its facts durable in ClickHouse. */
function endToEnd(acks: Map<string, number>, positions: Positions, watcher: OffsetWatcher) {
  const verdict: number[] = [];
  const facts: number[] = [];
  const pgTrace: number[] = [];
  for (const [id, ackAt] of acks) {
    const tp = positions.traces.get(id);
    const ev = positions.evaluations.get(id);
    const vd = positions.verdicts.get(id);
    const at = (stage: string, pos: [number, bigint] | undefined) => (pos === undefined ? undefined : watcher.durableAt(groupOf(stage), pos[0], pos[1]));
    const v = at('pg verdicts', vd);
    verdict.push(v === undefined ? Infinity : Math.max(0, v - ackAt));
    const t = at('pg traces', tp);
    pgTrace.push(t === undefined ? Infinity : Math.max(0, t - ackAt));
    const f = [at('ch trace facts', tp), at('ch evaluation facts', ev), at('ch module facts', ev)];
    facts.push(f.some((x) => x === undefined) ? Infinity : Math.max(0, Math.max(...(f as number[])) - ackAt));
  }
  return { pgTrace: percentiles(pgTrace), verdict: percentiles(verdict), facts: percentiles(facts), incomplete: verdict.filter((x) => x === Infinity).length };
}

// ---------------------------------------------------------------------------------------------
// Baselines

async function kafkaTools(stack: IsolatedStack) {
  const kafka = await createKafkaLog({ brokers: [stack.kafkaBrokers], clientId: 'metronis-bench-tools' });
  const topic = `bench-e2e-perf-${Date.now()}`;
  const records = quick ? 50_000 : 200_000;
  try {
    await kafka.admin.createTopics([{ name: topic, partitions: 6 }]);
  } finally {
    await kafka.close();
  }
  const tool = (cls: string, toolArgs: string[]) => runToEnd('bash', [join(ROOT, 'scripts/kafka-tool.sh'), cls, ...toolArgs], stack.stackEnv);
  log(`kafka ProducerPerformance: ${records} records of 1,300 bytes, acks=all, idempotent`);
  const produced = await tool('org.apache.kafka.tools.ProducerPerformance', ['--topic', topic, '--num-records', String(records), '--record-size', '1300', '--throughput', '-1', '--producer-props', `bootstrap.servers=${stack.kafkaBrokers}`, 'acks=all', 'enable.idempotence=true']);
  const p = /([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th/.exec(produced.trim().split('\n').pop() ?? '');
  log('kafka ConsumerPerformance');
  const consumed = await tool('org.apache.kafka.tools.ConsumerPerformance', ['--bootstrap-server', stack.kafkaBrokers, '--topic', topic, '--messages', String(records), '--timeout', '60000']);
  const lines = consumed.trim().split('\n').filter((l) => l.includes(','));
  const header = lines.find((l) => l.includes('nMsg.sec'))?.split(',').map((s) => s.trim()) ?? [];
  const row = lines[lines.length - 1]?.split(',').map((s) => s.trim()) ?? [];
  const field = (name: string) => Number(row[header.indexOf(name)]);
  return {
    records,
    record_bytes: 1300,
    producer: p === null ? { raw: produced.trim().split('\n').pop() } : { records_per_s: Math.round(Number(p[1])), mb_per_s: Number(p[2]), latency_ms: { avg: Number(p[3]), p50: Number(p[5]), p95: Number(p[6]), p99: Number(p[7]), max: Number(p[4]) } },
    consumer: header.length === 0 ? { raw: lines.pop() } : { records_per_s: Math.round(field('nMsg.sec')), mb_per_s: field('MB.sec') },
  };
}

async function bareBaseline(): Promise<Array<Omit<HttpStep, 'acks'>>> {
  const bare = await spawnServer(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/bench/bare-server.ts')], {}, /listening on (http:\/\/\S+)/);
  const out: Array<Omit<HttpStep, 'acks'>> = [];
  try {
    for (const rate of rates) {
      for (const mode of modes) {
        log(`bare node:http: ${rate} traces/s, ${mode}, ${bareSeconds} s`);
        const { acks: _acks, ...step } = await drive(bare.url, 'bare', rate, mode, bareSeconds, `bare-${rate}-${mode}-`);
        out.push(step);
      }
    }
  } finally {
    await bare.stop();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// CPU profile summary: self time by function and by package

async function summariseProfiles(dir: string): Promise<Record<string, ProfileSummary>> {
  const out: Record<string, ProfileSummary> = {};
  for (const role of await readdir(dir).catch(() => [] as string[])) {
    const files = (await readdir(join(dir, role))).filter((f) => f.endsWith('.cpuprofile'));
    if (files.length === 0) continue;
    out[role] = await summariseProfile(join(dir, role, files[0]!), ROOT);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

interface PipelineStep {
  rate: number;
  mode: 'single' | 'batch';
  http: Omit<HttpStep, 'acks'>;
  accepted: number;
  errors: number;
  /** ms from the 202 to: the trace row, the verdict (Postgres), every fact (ClickHouse) */
  e2e: ReturnType<typeof endToEnd>;
  lag: { maxByStage: Record<string, number>; endByStage: Record<string, number>; series: Array<{ t: number; total: number; worst: string }> };
  backlogAtStart: number;
  drainedSeconds: number | null;
  /** records skipped after the step because it did not drain within --drain-seconds */
  skippedBacklog: number;
  sustained: boolean;
  why: string;
  usage: Record<string, { cpuPct: number; maxRssMiB: number }>;
  /**
   * CPU time per accepted trace, µs, per process group and in total (without the load generator):
   * from the start of the step until the pipeline drained, so a backlog's work is counted where it is
   * done. Postgres counts the postmaster and every backend.
   */
  cpuPerTraceUs: Record<string, number>;
  /** resident memory every 10 s (soak only) */
  rssSeries?: RssPoint[];
  /** the machine's 1-minute load average at the end of the step (2 cores: above 2 means waiting for CPU) */
  loadAverage: number;
}

async function runStep(pipeline: Pipeline, stack: IsolatedStack, watcher: OffsetWatcher, positions: Positions, rate: number, mode: 'single' | 'batch', secs: number, rssEverySeconds = 0): Promise<PipelineStep> {
  const backlog = await watcher.lag().catch(() => ({}) as Record<string, number>);
  const backlogAtStart = Object.values(backlog).reduce((a, b) => a + b, 0);
  // the services' processes, found once per step (stack.sh status is slow on a loaded machine)
  const services = { kafka: await stack.pids('kafka'), registry: await stack.pids('registry'), postgres: await stack.pids('postgres') };
  const sampler = new ProcessSampler(() => ({ ...pipeline.pids(), ...services, [GENERATOR]: [process.pid] }), rssEverySeconds).start();
  const startedAt = Date.now();
  const http = await drive(pipeline.gatewayUrl, pipeline.key, rate, mode, secs, `e2e-${rate}-${mode}-${Date.now()}-`);
  const endedAt = Date.now();
  const usage = await sampler.usage();
  const loadAtEnd = loadavg()[0]!;
  const window = watcher.samples.filter((s) => s.at >= startedAt && s.at <= endedAt);
  const maxByStage: Record<string, number> = {};
  for (const s of window) for (const [stage, n] of Object.entries(s.lag)) maxByStage[stage] = Math.max(maxByStage[stage] ?? 0, n);
  const last = window.slice(Math.floor(window.length * 0.75));
  const endByStage: Record<string, number> = {};
  for (const s of last) for (const [stage, n] of Object.entries(s.lag)) endByStage[stage] = Math.max(endByStage[stage] ?? 0, n);
  const series = window.filter((_, i) => i % Math.max(1, Math.round(window.length / 30)) === 0).map((s) => {
    const worst = Object.entries(s.lag).sort((a, b) => b[1] - a[1])[0] ?? ['-', 0];
    return { t: Math.round((s.at - startedAt) / 1000), total: Object.values(s.lag).reduce((a, b) => a + b, 0), worst: `${worst[0]} ${worst[1]}` };
  });

  log(`  ${rate}/s ${mode}: answered, waiting up to ${drainSeconds} s for the pipeline to catch up`);
  let drainedSeconds: number | null = null;
  try {
    drainedSeconds = Math.round((await watcher.waitForZeroLag(drainSeconds * 1000)) / 100) / 10;
  } catch {
    drainedSeconds = null;
  }
  await new Promise((r) => setTimeout(r, 500)); // the positions consumer reads the last verdicts
  const through = await sampler.stop();
  const e2e = endToEnd(http.acks, positions, watcher);
  let skippedBacklog = 0;
  if (drainedSeconds === null) {
    skippedBacklog = await skipBacklog(pipeline, stack);
    log(`  not drained within ${drainSeconds} s: skipped a backlog of ${skippedBacklog} records (workers restarted at the end of the topics)`);
  }
  const accepted = http.acks.size;
  // every trace the generator sent and did not get a 202 for (error statuses, timeouts, refused items)
  const errors = http.requests * (mode === 'single' ? 1 : BATCH) - accepted;
  const bound = 3 * rate; // three seconds of traffic: the ClickHouse sinks alone batch for up to a second
  const unbounded = Object.entries(endByStage).filter(([, n]) => n > bound);
  const late = http.maxStartDelayMs > 1000;
  const sustained = errors === 0 && unbounded.length === 0 && !late;
  const why = [errors > 0 ? `${errors} traces not accepted` : '', unbounded.length > 0 ? `lag over ${bound} in the last quarter: ${unbounded.map(([s, n]) => `${s} ${n}`).join(', ')}` : '', late ? `generator ${http.maxStartDelayMs} ms behind schedule` : '']
    .filter(Boolean)
    .join('; ');
  for (const id of http.acks.keys()) {
    positions.traces.delete(id);
    positions.evaluations.delete(id);
    positions.verdicts.delete(id);
  }
  const { acks: _acks, ...httpOut } = http;
  const cpuPerTraceUs: Record<string, number> = {};
  for (const [name, u] of Object.entries(through)) if (name !== GENERATOR) cpuPerTraceUs[name] = accepted > 0 ? Math.round((u.cpuSeconds * 1e6) / accepted) : NaN;
  cpuPerTraceUs.total = Object.values(cpuPerTraceUs).reduce((a, b) => a + b, 0);
  return {
    rate,
    mode,
    http: httpOut,
    accepted,
    errors,
    e2e,
    lag: { maxByStage, endByStage, series },
    backlogAtStart,
    drainedSeconds,
    skippedBacklog,
    sustained,
    why: why || 'ok',
    usage,
    cpuPerTraceUs,
    ...(rssEverySeconds > 0 ? { rssSeries: sampler.rssSeries } : {}),
    loadAverage: Math.round(loadAtEnd * 10) / 10,
  };
}

const GENERATOR = 'load generator (this process)';

function fmt(n: number): string {
  if (!Number.isFinite(n)) return '—';
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : String(n);
}

function table(results: { bare: Array<Omit<HttpStep, 'acks'>>; steps: PipelineStep[] }): string {
  const lines = [
    '| traces/s | mode | target | requests | 202 | ingest p50 / p95 / p99 / max ms | 202→verdict in PG p50 / p95 / p99 ms | 202→facts in CH p50 / p95 / p99 ms | max lag (stage) | drained in | sustained |',
    '| ---: | --- | --- | ---: | ---: | --- | --- | --- | --- | ---: | --- |',
  ];
  for (const b of results.bare) {
    lines.push(`| ${fmt(b.rate)} | ${b.mode} | bare node:http | ${fmt(b.requests)} | ${fmt(b.status['202'] ?? 0)} | ${b.latency.p50} / ${b.latency.p95} / ${b.latency.p99} / ${fmt(b.latency.max)} | | | | | |`);
    const s = results.steps.find((x) => x.rate === b.rate && x.mode === b.mode);
    if (s === undefined) continue;
    const worst = Object.entries(s.lag.maxByStage).sort((a, c) => c[1] - a[1])[0] ?? ['-', 0];
    const l = s.http.latency;
    lines.push(
      `| ${fmt(s.rate)} | ${s.mode} | **metronis** | ${fmt(s.http.requests)} | ${fmt(s.http.status['202'] ?? 0)} | ${l.p50} / ${l.p95} / ${fmt(l.p99)} / ${fmt(l.max)} | ${fmt(s.e2e.verdict.p50)} / ${fmt(s.e2e.verdict.p95)} / ${fmt(s.e2e.verdict.p99)} | ${fmt(s.e2e.facts.p50)} / ${fmt(s.e2e.facts.p95)} / ${fmt(s.e2e.facts.p99)} | ${fmt(worst[1])} (${worst[0]}) | ${s.drainedSeconds === null ? `> ${drainSeconds} s (${fmt(s.skippedBacklog)} skipped)` : `${s.drainedSeconds} s`} | ${s.sustained ? 'yes' : `no: ${s.why}`} |`,
    );
  }
  return lines.join('\n');
}

function usageTable(steps: PipelineStep[]): string {
  const roles = [...new Set(steps.flatMap((s) => Object.keys(s.usage)))];
  const lines = [`| traces/s | mode | ${roles.join(' | ')} | load avg |`, `| ---: | --- | ${roles.map(() => '---:').join(' | ')} | ---: |`];
  for (const s of steps) lines.push(`| ${fmt(s.rate)} | ${s.mode} | ${roles.map((r) => (s.usage[r] ? `${s.usage[r]!.cpuPct}% / ${s.usage[r]!.maxRssMiB} MiB` : '')).join(' | ')} | ${s.loadAverage} |`);
  return lines.join('\n');
}

function cpuTable(steps: PipelineStep[]): string {
  const roles = [...new Set(steps.flatMap((s) => Object.keys(s.cpuPerTraceUs)))];
  const lines = [`| traces/s | mode | ${roles.join(' | ')} |`, `| ---: | --- | ${roles.map(() => '---:').join(' | ')} |`];
  for (const s of steps) lines.push(`| ${fmt(s.rate)} | ${s.mode} | ${roles.map((r) => (s.cpuPerTraceUs[r] === undefined ? '' : fmt(s.cpuPerTraceUs[r]!))).join(' | ')} |`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const machine = {
    date: new Date().toISOString(),
    commit: execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim(),
    dirty: execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT }).toString().trim().length > 0,
    nproc: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memory_gib: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    load_average_at_start: loadavg().map((l) => Math.round(l * 10) / 10),
    options: { seconds, rates, modes, bareSeconds, drainSeconds, tier1Workers, quick, soakSeconds, soakMode },
  };
  log(`${machine.nproc} × ${machine.cpu}, ${machine.memory_gib} GiB, commit ${machine.commit}${machine.dirty ? ' (with uncommitted changes)' : ''}, load ${machine.load_average_at_start.join(' ')}`);

  const stack = isolatedStack('.stack-bench', 24000);
  log('private stack .stack-bench: wiping and starting Postgres, Kafka, Apicurio');
  await stack.stack('down');
  await rm(stack.dir, { recursive: true, force: true });
  await stack.up(['postgres', 'kafka', 'registry']);

  const results: Record<string, unknown> = { machine };
  const bare = args['no-baselines'] ? [] : await bareBaseline();
  results.bare = bare;
  if (!args['no-baselines']) results.kafka_tools = await kafkaTools(stack);

  log(`pipeline: gateway, ${tier1Workers} tier1 worker(s), sinks worker (chDB)`);
  let pipeline = await startPipeline(stack, { tier1Workers });
  const watcher = await OffsetWatcher.start(stack.kafkaBrokers, 200);
  let positions = await Positions.start(stack.kafkaBrokers);
  const steps: PipelineStep[] = [];
  try {
    // warm-up: JIT, connections, caches
    await drive(pipeline.gatewayUrl, pipeline.key, 200, 'single', quick ? 3 : 10, `warmup-${Date.now()}-`);
    await watcher.waitForZeroLag(60_000).catch(() => undefined);
    for (const rate of rates) {
      for (const mode of modes) {
        log(`pipeline: ${rate} traces/s, ${mode === 'single' ? 'one trace per request' : `batches of ${BATCH}`}, ${seconds} s`);
        const step = await runStep(pipeline, stack, watcher, positions, rate, mode, seconds);
        steps.push(step);
        log(`  ingest p50 ${step.http.latency.p50} p99 ${step.http.latency.p99} ms; 202→verdict p50 ${step.e2e.verdict.p50} p99 ${step.e2e.verdict.p99} ms; 202→facts p50 ${step.e2e.facts.p50} p99 ${step.e2e.facts.p99} ms; sustained: ${step.sustained ? 'yes' : step.why}`);
      }
    }
    results.steps = steps;
    log(`process logs in ${await pipeline.saveLogs()}`);
    const sustained = steps.filter((s) => s.sustained).map((s) => s.rate);
    const highest: Record<string, number | null> = {};
    for (const mode of modes) {
      const ok = steps.filter((s) => s.mode === mode && s.sustained).map((s) => s.rate);
      highest[mode] = ok.length === 0 ? null : Math.max(...ok);
    }
    results.highest_sustained = highest;

    if (soakSeconds > 0) {
      const rate = Number(args['soak-rate'] ?? highest[soakMode] ?? rates[0]);
      log(`soak: ${rate} traces/s, ${soakMode}, ${soakSeconds} s, resident memory every 10 s`);
      const soak = await runStep(pipeline, stack, watcher, positions, rate, soakMode, soakSeconds, 10);
      results.soak = soak;
      const first = soak.rssSeries?.find((p) => p.t >= 60) ?? soak.rssSeries?.[0];
      const last = soak.rssSeries?.[soak.rssSeries.length - 1];
      log(`  soak sustained: ${soak.sustained ? 'yes' : soak.why}; RSS MiB at ${first?.t} s → ${last?.t} s: ${Object.keys(last?.rssMiB ?? {}).map((k) => `${k} ${first?.rssMiB[k]} → ${last?.rssMiB[k]}`).join(', ')}`);
    }

    if (!args['no-profile']) {
      const rate = sustained.length > 0 ? Math.max(...sustained) : rates[0]!;
      const profileDir = join(stack.dir, 'profiles');
      await rm(profileDir, { recursive: true, force: true });
      for (const role of ['gateway', 'tier1', 'sinks']) await mkdir(join(profileDir, role), { recursive: true });
      log(`profile: restarting the metronis processes with --cpu-prof, ${rate} traces/s single for ${quick ? 10 : 30} s`);
      await positions.stop();
      await pipeline.stop();
      const nodeArgs = Object.fromEntries(['gateway', 'tier1', 'sinks'].map((role) => [role, ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, role)}`]]));
      pipeline = await startPipeline(stack, { tier1Workers, nodeArgs });
      positions = await Positions.start(stack.kafkaBrokers);
      const profiled = await runStep(pipeline, stack, watcher, positions, rate, 'single', quick ? 10 : 30);
      await positions.stop();
      log(`process logs in ${await pipeline.saveLogs()}`);
      await pipeline.stop(); // SIGTERM: each process writes its profile as it exits
      results.profile = { rate, step: profiled, summary: await summariseProfiles(profileDir) };
    }
  } finally {
    await positions.stop();
    await watcher.stop();
    await pipeline.stop().catch(() => undefined);
    if (!args['keep-stack']) await stack.stack('down').catch(() => undefined);
  }

  await mkdir(join(ROOT, 'bench-results'), { recursive: true });
  const file = join(ROOT, 'bench-results', `e2e-${machine.date.replaceAll(':', '-')}.json`);
  await writeFile(file, `${JSON.stringify(results, (_k, v) => (typeof v === 'bigint' ? Number(v) : v === Infinity ? 'Infinity' : v), 2)}\n`);
  process.stdout.write(`\n${table({ bare, steps })}\n\n${usageTable(steps)}\n\nCPU µs per trace (step start until drained):\n${cpuTable(steps)}\n\nhighest sustained: ${JSON.stringify(results.highest_sustained)}\n`);
  if (results.kafka_tools) process.stdout.write(`kafka tools: ${JSON.stringify(results.kafka_tools)}\n`);
  if (results.profile) process.stdout.write(`profile: ${JSON.stringify((results.profile as { summary: unknown }).summary, null, 1)}\n`);
  log(`written ${file}`);
}

await main();
