/**
 * CPU per trace of the three Postgres sinks alone (traces, verdicts, tier results), as the `sinks`
 * worker runs them: an embedded log is first filled with N traces and their verdicts and tier results
 * (not measured), then the sinks drain it through the real runner into PGlite (in this process) or
 * PostgreSQL, and the process's CPU time (user + system) over the drain is divided by N. On
 * PostgreSQL the server backends' CPU over the drain is added from /proc when the server runs on
 * this machine (`n/a` otherwise).
 *
 *   node --conditions=source --import tsx topologies/sinks/bench/postgres-sinks.ts \
 *     [--traces 20000] [--engine pglite|postgres] [--batching adaptive|fixed] [--fetch 500] [--rounds 3]
 *
 * - `--batching fixed` runs the sinks with the batches they had before adaptive batching (500 records
 *   or 20 ms after the first); `adaptive` (default) with their own.
 * - `--fetch` is the records per fetch (the consumer's maxBatchRecords): small values imitate a
 *   trickle, where fetches bring few records each.
 * - The previous upsert path (drizzle) is not in this tree: run this same file from a checkout of the
 *   commit before it (it uses only APIs that exist there) to compare the two.
 *
 * DATABASE_URL (for `--engine postgres`) defaults to the stack's
 * postgres://metronis:metronis@127.0.0.1:15432/metronis; a throwaway database is created and dropped.
 * Run it on a quiet machine: the figure is CPU time, but a busy machine still inflates it (caches, GC).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeTrace, type TierResult, type Trace, type Verdict } from '@metronis/schemas';
import { createPgliteStore, createPostgresStore, type RelationalStore } from '@metronis/stores';
import { createEmbeddedLog, createInProcessRegistry, createSerde, DLQ_TOPIC, runTopology, TOPICS, type Log, type RunnerHandle, type SinkTopology } from '@metronis/streams';
import postgres from 'postgres';
import { postgresEvaluationsSink, postgresTracesSink, postgresVerdictsSink } from '../src/index.js';

const { values: args } = parseArgs({
  options: {
    traces: { type: 'string', default: '20000' },
    engine: { type: 'string', default: 'pglite' },
    batching: { type: 'string', default: 'adaptive' },
    fetch: { type: 'string', default: '500' },
    rounds: { type: 'string', default: '3' },
  },
});
const positive = (name: string, value: string | undefined, max: number): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${name} must be an integer in 1..${max}, got ${value}`);
  return n;
};
const N = positive('traces', args.traces, 10_000_000);
const FETCH = positive('fetch', args.fetch, 100_000);
const ROUNDS = positive('rounds', args.rounds, 100);
const engine = args.engine;
if (engine !== 'pglite' && engine !== 'postgres') throw new Error(`--engine must be pglite or postgres, got ${engine}`);
const batching = args.batching;
if (batching !== 'adaptive' && batching !== 'fixed') throw new Error(`--batching must be adaptive or fixed, got ${batching}`);
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://metronis:metronis@127.0.0.1:15432/metronis';

/** About 2 KB per trace, like a short chat call: the size BENCHMARKS.md's end-to-end runs send. */
function records(org: string, count: number): { traces: Trace[]; verdicts: Verdict[]; results: TierResult[] } {
  const output = 'The answer, in some detail. '.repeat(40);
  const traces = Array.from({ length: count }, (_, i) =>
    makeTrace({ org_id: org, user_id: `user_${i % 50}`, session_id: `s_${i % 200}`, input: { text: `Question ${i} about an invoice`, messages: [] }, output: { content: output, finish_reason: 'stop' } }),
  );
  const now = Date.now();
  return {
    traces,
    verdicts: traces.map((t, i) => ({ trace_id: t.trace_id, org_id: org, tier: 1, decided_at: now, passed: i % 7 !== 0, severity: i % 7 === 0 ? 'high' : 'none', score: i % 7 === 0 ? 0.3 : 1, finding_kinds: i % 7 === 0 ? ['pii.email'] : [], failed_modules: i % 7 === 0 ? ['pii'] : [], application: t.application, environment: t.environment })),
    results: traces.map((t) => ({
      evaluation_id: `${t.trace_id}:1`,
      trace_id: t.trace_id,
      org_id: org,
      tier: 1,
      evaluated_at: now,
      trace_timestamp: t.timestamp,
      passed: true,
      severity: 'none',
      score: 1,
      modules: [{ module: 'pii', version: '1.0.0', passed: true, score: 1, severity: 'none', labels: [], findings: [], latency_us: 40 }],
      latency_us: 90,
    })),
  };
}

async function fill(log: Log, org: string): Promise<void> {
  const serde = createSerde(createInProcessRegistry());
  const producer = log.producer();
  const [traceSerde, verdictSerde, resultSerde] = await Promise.all([serde.forTopic(TOPICS.traces), serde.forTopic(TOPICS.verdicts), serde.forTopic(TOPICS.evaluations)]);
  for (let done = 0; done < N; done += 1_000) {
    const part = records(org, Math.min(1_000, N - done));
    await producer.send([
      ...part.traces.map((t) => ({ topic: TOPICS.traces.name, key: t.trace_id, value: traceSerde.encode(t) })),
      ...part.verdicts.map((v) => ({ topic: TOPICS.verdicts.name, key: v.trace_id, value: verdictSerde.encode(v) })),
      ...part.results.map((r) => ({ topic: TOPICS.evaluations.name, key: r.trace_id, value: resultSerde.encode(r) })),
    ]);
  }
  await producer.close();
}

/** CPU seconds of the server backends serving `url`'s database, from /proc; null when they are not on this machine. */
async function backendCpu(admin: postgres.Sql, database: string): Promise<number | null> {
  const pids = await admin<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${database}`;
  const ticks = Number(process.env.CLK_TCK ?? 100);
  let total = 0;
  for (const { pid } of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / ticks; // utime, stime
    } catch {
      return null;
    }
  }
  return total;
}

async function round(index: number): Promise<{ cpuUs: number; serverUs: number | null; wallMs: number; writes: number }> {
  const root = await mkdtemp(join(tmpdir(), 'metronis-sinks-bench-'));
  const database = `metronis_sinkbench_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = engine === 'postgres' ? postgres(DATABASE_URL, { max: 1, onnotice: () => {} }) : undefined;
  let store: RelationalStore | undefined;
  const log = await createEmbeddedLog({ dir: join(root, 'log') });
  try {
    await log.admin.createTopics([...[TOPICS.traces, TOPICS.verdicts, TOPICS.evaluations].map((t) => ({ name: t.name, partitions: t.partitions })), { name: DLQ_TOPIC, partitions: 1 }]);
    await fill(log, `org_bench_${index}`);
    if (admin) {
      await admin.unsafe(`create database "${database}"`);
      const url = new URL(DATABASE_URL);
      url.pathname = `/${database}`;
      store = createPostgresStore({ url: url.toString() });
    } else {
      store = createPgliteStore();
    }
    await store.migrate();

    const serde = createSerde(createInProcessRegistry());
    const logger = { info() {}, warn() {}, error() {} };
    const sinks: SinkTopology[] = [postgresTracesSink(store), postgresVerdictsSink(store), postgresEvaluationsSink(store)].map((s) =>
      batching === 'fixed' ? { ...s, batch: { maxRecords: 500, maxWaitMs: 20 } } : s,
    ) as SinkTopology[];
    const serverBefore = admin ? await backendCpu(admin, database) : null;
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const runners: RunnerHandle[] = sinks.map((s) => runTopology(s, { log, serde, logger, consumer: { maxBatchRecords: FETCH } }));
    while (runners.some((r) => r.stats().processed + r.stats().dlq < N)) await new Promise((resolve) => setTimeout(resolve, 5));
    const wallMs = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    const serverAfter = admin ? await backendCpu(admin, database) : null;
    const writes = runners.reduce((sum, r) => sum + r.stats().batches, 0);
    await Promise.all(runners.map((r) => r.stop()));
    const dlq = runners.reduce((sum, r) => sum + r.stats().dlq, 0);
    if (dlq > 0) throw new Error(`${dlq} records went to the DLQ: the bench's records must all be written`);
    return {
      cpuUs: (cpu.user + cpu.system) / N,
      serverUs: serverBefore === null || serverAfter === null ? null : ((serverAfter - serverBefore) * 1e6) / N,
      wallMs,
      writes,
    };
  } finally {
    await store?.close();
    await log.close();
    if (admin) {
      await admin.unsafe(`drop database if exists "${database}" with (force)`);
      await admin.end();
    }
    await rm(root, { recursive: true, force: true });
  }
}

console.log(`Postgres sinks, ${N.toLocaleString('en')} traces (+ as many verdicts and tier results), ${engine}, ${batching} batching, ${FETCH} records per fetch`);
for (let i = 0; i < ROUNDS; i++) {
  const r = await round(i);
  console.log(
    `round ${i + 1}: sinks process ${r.cpuUs.toFixed(0)} µs CPU per trace` +
      (engine === 'postgres' ? `, server backends ${r.serverUs === null ? 'n/a' : `${r.serverUs.toFixed(0)} µs`}` : '') +
      `; ${r.writes} writes; drained in ${(r.wallMs / 1000).toFixed(1)} s (${Math.round((N / r.wallMs) * 1000)} traces/s)`,
  );
}
