/**
 * The fault suite (`npm run test:faults`, the last step of `npm test`): the distributed pipeline
 * (gateway, two tier1 workers, the sinks worker) under steady open-loop load on a private stack, with
 * one fault at a time and then all of them together:
 *   1. Kafka: kill -9 the broker, start it again;
 *   2. tier1: kill -9 one of the two workers (its partitions move to the other: a rebalance), start it again;
 *   3. PostgreSQL: restart it;
 *   4. "ClickHouse": kill -9 the sinks worker and start it again. Debian's ClickHouse server (18.16) is
 *      too old for the facts schema, so the facts live in chDB, the ClickHouse engine inside the sinks
 *      worker (CLICKHOUSE_URL=chdb:<folder>): killing that process is what restarting ClickHouse is here;
 *   5. poison records produced straight to the traces topic: bytes that are not Avro, an unknown schema
 *      id, and a valid Avro trace that makes Tier 1 throw (an empty org id fails the policy lookup; the
 *      sinks refuse it too). A module that throws is not poison by design: the tier labels that module
 *      module_error and the trace still gets its verdict (topologies/tier1 tests it);
 *   6. all together: kill -9 Kafka, a tier1 worker, PostgreSQL and the sinks worker at once, more poison.
 * Then, from the stores and the log (never from logs): every trace answered 202 has one row in
 * Postgres, one verdict, one tier result, and its facts in ClickHouse without duplicates (FINAL);
 * every trace answered with an error is either absent everywhere or present everywhere (never half
 * written); every poison record is in the DLQ with its reason; consumer lag is back to zero.
 *
 * The stack is `.stack-faults` on ports 23xxx (below the ephemeral range, so that no client socket
 * holds them), started with scripts/stack.sh and left running for the next run like the main stack;
 * `METRONIS_STACK_DIR=.stack-faults METRONIS_KAFKA_PORT=23092 ... bash scripts/stack.sh down` stops it.
 * The process logs of each run land in `.stack-faults/logs/<database>/`.
 */
import { randomUUID } from 'node:crypto';
import { makeTrace } from '@metronis/schemas';
import { createChdbFactsStore, type FactsStore } from '@metronis/stores';
import { createConfluentRegistry, createKafkaLog, createSerde, DLQ_HEADERS, DLQ_TOPIC, TOPICS, type Log } from '@metronis/streams';
import type { Pool } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Running } from '../../apps/cli/test/process.js';
import { eventually } from '../../apps/cli/test/process.js';
import { httpPool, isolatedStack, OffsetWatcher, openLoop, readTopic, startPipeline, type Pipeline } from '../bench/e2e-harness.js';

const stack = isolatedStack(process.env.METRONIS_FAULTS_STACK_DIR ?? '.stack-faults', Number(process.env.METRONIS_FAULTS_PORT_BASE ?? 23000));
const RUN = randomUUID().slice(0, 8);
const PREFIX = `faults-${RUN}-`;
const POISON_PREFIX = `faults-poison-${RUN}-`;
/** Requests per second; every fifth request is a batch of 10, so about 80 traces/s. */
const REQUESTS_PER_S = Number(process.env.METRONIS_FAULTS_RPS ?? 30);

type Outcome = { ok: true } | { ok: false; why: string };

/** Steady open-loop load: single traces and batches of 10, every answer recorded per trace id. */
class Load {
  readonly outcomes = new Map<string, Outcome>();
  accepted = 0;
  errors = 0;
  private readonly stopFlag = { stopped: false };
  private readonly inflight = new Set<Promise<void>>();
  private loop: Promise<unknown> | undefined;

  constructor(private readonly pool: Pool, private readonly key: string) {}

  start(): void {
    this.loop = openLoop(REQUESTS_PER_S, 3_600_000, ({ i }) => {
      const p = i % 5 === 4 ? this.batch(Array.from({ length: 10 }, (_, j) => `${PREFIX}${i}-${j}`)) : this.single(`${PREFIX}${i}`);
      this.inflight.add(p);
      void p.finally(() => this.inflight.delete(p));
    }, this.stopFlag);
  }

  private record(id: string, outcome: Outcome): void {
    this.outcomes.set(id, outcome);
    if (outcome.ok) this.accepted++;
    else this.errors++;
  }

  private async post(path: string, body: unknown): Promise<{ status: number; text: string }> {
    const res = await this.pool.request({ path, method: 'POST', headers: { authorization: `Bearer ${this.key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.statusCode, text: await res.body.text() };
  }

  private trace(id: string) {
    return { trace_id: id, application: 'faults', input: { messages: [{ role: 'user', content: `Summarise ticket ${id}` }] }, output: { content: 'The customer asks for a refund of the duplicate charge; approved.', finish_reason: 'stop' }, model: { provider: 'openai', name: 'gpt-4o-mini' }, usage: { input_tokens: 20, output_tokens: 14, cost_usd: 0.00002 } };
  }

  private async single(id: string): Promise<void> {
    try {
      const { status, text } = await this.post('/v1/traces', this.trace(id));
      this.record(id, status === 202 ? { ok: true } : { ok: false, why: `${status} ${text.slice(0, 80)}` });
    } catch (error) {
      this.record(id, { ok: false, why: (error as { code?: string }).code ?? String(error) });
    }
  }

  private async batch(ids: string[]): Promise<void> {
    try {
      const { status, text } = await this.post('/v1/traces/batch', { traces: ids.map((id) => this.trace(id)) });
      if (status !== 202) {
        for (const id of ids) this.record(id, { ok: false, why: `${status} ${text.slice(0, 80)}` });
        return;
      }
      const body = JSON.parse(text) as { accepted: Array<{ trace_id: string }>; rejected: Array<{ index: number }> };
      const accepted = new Set(body.accepted.map((a) => a.trace_id));
      for (const id of ids) this.record(id, accepted.has(id) ? { ok: true } : { ok: false, why: 'rejected in batch' });
    } catch (error) {
      for (const id of ids) this.record(id, { ok: false, why: (error as { code?: string }).code ?? String(error) });
    }
  }

  /** Resolves once `n` more traces have been accepted (the pipeline answers 202 again). */
  async moreAccepted(n: number, timeoutMs: number, what: string): Promise<void> {
    const target = this.accepted + n;
    await eventually(async () => (this.accepted >= target ? true : undefined), timeoutMs, what);
  }

  async stop(): Promise<void> {
    this.stopFlag.stopped = true;
    await this.loop;
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }
}

let pipeline: Pipeline;
let pool: Pool;
let load: Load;
let watcher: OffsetWatcher;
let kafka: Log;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Processes this suite killed on purpose; any other exit is a crash and fails the suite. */
const killedOnPurpose = new Set<Running>();
const crashes: string[] = [];
const poison: Array<{ key: string; kind: 'not-avro' | 'unknown-schema-id' | 'tier1-throws' }> = [];
const log = (line: string) => process.stdout.write(`[faults] ${line}\n`);

function watch(role: string, running: Running): Running {
  void running.exited.then((code) => {
    if (!killedOnPurpose.has(running)) crashes.push(`${role} exited with ${code}:\n${running.output().slice(-3000)}`);
  });
  return running;
}

async function killWorker(running: Running): Promise<void> {
  killedOnPurpose.add(running);
  await running.kill('SIGKILL');
}

async function producePoison(): Promise<void> {
  const registry = createConfluentRegistry({ url: stack.registryUrl });
  const traces = await createSerde(registry).forTopic(TOPICS.traces);
  const producer = kafka.producer();
  try {
    const n = poison.length;
    const batch = [
      { key: `${POISON_PREFIX}${n}-not-avro`, kind: 'not-avro' as const, value: Buffer.from('this is not avro') },
      // the Confluent wire format (magic byte 0, a 4-byte schema id) with an id the registry never issued
      { key: `${POISON_PREFIX}${n + 1}-unknown-schema-id`, kind: 'unknown-schema-id' as const, value: Buffer.concat([Buffer.from([0, 0x3b, 0x9a, 0xc9, 0xff]), Buffer.from('payload')]) },
      { key: `${POISON_PREFIX}${n + 2}-tier1-throws`, kind: 'tier1-throws' as const, value: traces.encode(makeTrace({ org_id: '', trace_id: `${POISON_PREFIX}${n + 2}-tier1-throws` })) },
    ];
    await producer.send(batch.map(({ key, value }) => ({ topic: TOPICS.traces.name, key, value })));
    for (const { key, kind } of batch) poison.push({ key, kind });
  } finally {
    await producer.close();
  }
}

beforeAll(async () => {
  log(`private stack in ${stack.stackEnv.METRONIS_STACK_DIR} (Kafka ${stack.kafkaBrokers}, Postgres port ${stack.stackEnv.METRONIS_PG_PORT})`);
  await stack.up(['postgres', 'kafka', 'registry']);
  pipeline = await startPipeline(stack, { tier1Workers: 2 });
  watch('gateway', pipeline.gateway);
  watch('sinks', pipeline.sinks);
  pipeline.tier1.forEach((w, i) => watch(`tier1 #${i}`, w));
  kafka = await createKafkaLog({ brokers: [stack.kafkaBrokers], clientId: 'metronis-faults' });
  watcher = await OffsetWatcher.start(stack.kafkaBrokers, 1000);
  pool = httpPool(pipeline.gatewayUrl, 64);
  load = new Load(pool, pipeline.key);
  load.start();
  await load.moreAccepted(200, 60_000, 'load running');
  log(`load running at ${REQUESTS_PER_S} requests/s (${pipeline.gatewayUrl})`);
}, 300_000);

afterAll(async () => {
  await load?.stop();
  await pool?.close();
  await watcher?.stop();
  await kafka?.close();
  if (pipeline !== undefined) log(`process logs in ${await pipeline.saveLogs()}`);
  await pipeline?.stop();
}, 120_000);

let stepStarted = 0;
beforeEach(() => {
  stepStarted = Date.now();
});
afterEach(async (context) => {
  const lag = await watcher.lag().catch(() => ({}));
  log(`${context.task.name.split(':')[0]}: ${Math.round((Date.now() - stepStarted) / 1000)} s; so far ${load.accepted} traces answered 202, ${load.errors} with an error; lag now ${JSON.stringify(lag)}`);
});

describe('the pipeline under faults, one at a time and all together', () => {
  it('1. Kafka: kill -9 the broker, start it again', async () => {
    await stack.stack('kill', 'kafka');
    const errorsBefore = load.errors;
    await sleep(8_000);
    await stack.stack('start', 'kafka');
    await load.moreAccepted(200, 120_000, '202s again after the broker restarted');
    log(`kafka: ${load.errors - errorsBefore} traces answered with an error while the broker was down`);
  });

  it('2. tier1: kill -9 one of two workers (rebalance), start it again', async () => {
    const [victim] = pipeline.tier1;
    await killWorker(victim!);
    await sleep(5_000);
    pipeline.tier1[0] = watch('tier1 #0 (restarted)', await pipeline.startTier1());
    await load.moreAccepted(200, 60_000, 'load after the tier1 restart');
  });

  it('3. PostgreSQL: restart', async () => {
    await stack.stack('restart', 'postgres');
    await load.moreAccepted(200, 60_000, 'load after the Postgres restart');
  });

  it('4. ClickHouse (chDB inside the sinks worker): kill -9 the sinks worker, start it again', async () => {
    await killWorker(pipeline.sinks);
    await sleep(3_000);
    pipeline.sinks = watch('sinks (restarted)', await pipeline.startSinks());
    await load.moreAccepted(200, 60_000, 'load after the sinks restart');
  });

  it('5. poison records: not Avro, an unknown schema id, a trace that makes Tier 1 throw', async () => {
    await producePoison();
    await load.moreAccepted(200, 60_000, 'load after the poison records');
  });

  it('6. all together: Kafka, a tier1 worker, PostgreSQL and the sinks worker killed at once, more poison', async () => {
    await Promise.all([stack.stack('kill', 'kafka'), stack.stack('kill', 'postgres'), killWorker(pipeline.tier1[1]!), killWorker(pipeline.sinks)]);
    await sleep(5_000);
    await Promise.all([stack.stack('start', 'kafka'), stack.stack('start', 'postgres')]);
    const [sinks, tier1] = await Promise.all([pipeline.startSinks(), pipeline.startTier1()]);
    pipeline.sinks = watch('sinks (restarted, all together)', sinks);
    pipeline.tier1[1] = watch('tier1 #1 (restarted, all together)', tier1);
    await load.moreAccepted(200, 120_000, '202s again after everything restarted');
    await producePoison();
    await load.moreAccepted(200, 60_000, 'load after the second poison records');
  });

  it('afterwards, from the stores: every 202 once everywhere, nothing half-written, poison in the DLQ, lag zero', async () => {
    await load.stop();
    let reported = 0;
    const drainMs = await watcher.waitForZeroLag(180_000, (lag, elapsed) => {
      if (elapsed < reported + 10_000) return;
      reported = elapsed;
      log(`draining, ${Math.round(elapsed / 1000)} s: lag ${JSON.stringify(Object.fromEntries(Object.entries(lag).filter(([, n]) => n > 0)))}`);
    });
    expect(crashes).toEqual([]);

    const accepted = [...load.outcomes].filter(([, o]) => o.ok).map(([id]) => id);
    const errored = [...load.outcomes].filter(([, o]) => !o.ok).map(([id]) => id);
    const errorKinds = new Map<string, number>();
    for (const [, o] of load.outcomes) if (!o.ok) errorKinds.set(o.why.split(' ')[0]!, (errorKinds.get(o.why.split(' ')[0]!) ?? 0) + 1);

    // Postgres
    const like = `${PREFIX}%`;
    const count = async (table: string) =>
      new Map((await pipeline.sql.unsafe(`select trace_id, count(*)::int as n from ${table} where trace_id like $1 group by trace_id`, [like])).map((r) => [r.trace_id as string, r.n as number]));
    const pgTraces = await count('traces');
    const pgVerdicts = await count('verdicts');
    const pgEvaluations = await count('evaluations');

    // ClickHouse: the facts engine is chDB inside the sinks worker, which holds its folder; stop the
    // worker (it flushes and commits) and open the same folder with the project's chDB store.
    killedOnPurpose.add(pipeline.sinks);
    await pipeline.sinks.kill('SIGTERM');
    const facts: FactsStore = createChdbFactsStore({ path: pipeline.factsDir });
    let chTraces: Map<string, number>;
    let chEvaluations: Map<string, number>;
    let chModules: Map<string, number>;
    let raw: { traces: number; evaluations: number; modules: number };
    try {
      const perTrace = async (sql: string) => new Map((await facts.query<{ trace_id: string; n: number }>(sql, { prefix: PREFIX })).map((r) => [r.trace_id, Number(r.n)]));
      chTraces = await perTrace('SELECT trace_id, count() AS n FROM trace_facts_v1 FINAL WHERE startsWith(trace_id, {prefix:String}) GROUP BY trace_id');
      chEvaluations = await perTrace('SELECT trace_id, count() AS n FROM evaluation_facts_v1 FINAL WHERE startsWith(trace_id, {prefix:String}) GROUP BY trace_id');
      // one row per module of the tier result: as many rows as distinct modules, no (evaluation, module) twice
      chModules = await perTrace('SELECT trace_id, count() AS n FROM module_result_facts_v1 FINAL WHERE startsWith(trace_id, {prefix:String}) GROUP BY trace_id HAVING n = uniqExact(module)');
      const rawCount = async (table: string) => Number((await facts.query<{ n: number }>(`SELECT count() AS n FROM ${table} WHERE startsWith(trace_id, {prefix:String})`, { prefix: PREFIX }))[0]!.n);
      raw = { traces: await rawCount('trace_facts_v1'), evaluations: await rawCount('evaluation_facts_v1'), modules: await rawCount('module_result_facts_v1') };
    } finally {
      await facts.close();
    }

    const once = (m: Map<string, number>, id: string) => m.get(id) === 1;
    const missing = {
      pgTrace: accepted.filter((id) => !once(pgTraces, id)),
      pgVerdict: accepted.filter((id) => !once(pgVerdicts, id)),
      pgEvaluation: accepted.filter((id) => !once(pgEvaluations, id)),
      chTrace: accepted.filter((id) => !once(chTraces, id)),
      chEvaluation: accepted.filter((id) => !once(chEvaluations, id)),
      chModules: accepted.filter((id) => !chModules.has(id)),
    };
    // An error answer promises nothing was stored, or (a write that timed out may still land) that it
    // landed whole: a trace with some of its rows and not others is half-written.
    const whole = (id: string) => once(pgTraces, id) && once(pgVerdicts, id) && once(pgEvaluations, id) && once(chTraces, id) && once(chEvaluations, id) && chModules.has(id);
    const absent = (id: string) => !pgTraces.has(id) && !pgVerdicts.has(id) && !pgEvaluations.has(id) && !chTraces.has(id) && !chEvaluations.has(id);
    const erroredLanded = errored.filter(whole);
    const halfWritten = errored.filter((id) => !whole(id) && !absent(id));
    const unknown = [...pgTraces.keys()].filter((id) => !load.outcomes.has(id));

    // DLQ: every poison record, with the stage that failed and why
    const dlq = await readTopic(stack.kafkaBrokers, DLQ_TOPIC, (key) => key !== null && key.startsWith(POISON_PREFIX));
    // Every consumer group of the traces topic dead-letters each poison record, with its own reason
    // (the empty org id: Tier 1's policy lookup throws, Postgres refuses the row, the facts sink's
    // retention lookup refuses the org).
    const reasons: Record<(typeof poison)[number]['kind'], Record<string, RegExp>> = {
      'not-avro': { tier1: /magic byte/, 'sink-postgres-traces': /magic byte/, 'sink-clickhouse-trace-facts': /magic byte/ },
      'unknown-schema-id': { tier1: /schema id \d+ is not known/, 'sink-postgres-traces': /schema id \d+ is not known/, 'sink-clickhouse-trace-facts': /schema id \d+ is not known/ },
      'tier1-throws': { tier1: /orgId must be a non-empty string/, 'sink-postgres-traces': /org_id must be a non-empty/, 'sink-clickhouse-trace-facts': /org/ },
    };
    const poisonProblems: string[] = [];
    for (const p of poison) {
      const found = dlq.filter((r) => r.key === p.key);
      const stages = found.map((r) => r.headers[DLQ_HEADERS.stage]).sort();
      for (const [stage, reason] of Object.entries(reasons[p.kind])) {
        const hit = found.find((r) => r.headers[DLQ_HEADERS.stage] === stage);
        if (hit === undefined) poisonProblems.push(`${p.key}: no DLQ record from ${stage} (found ${stages.join(', ') || 'none'})`);
        else if (!reason.test(hit.headers[DLQ_HEADERS.error] ?? '')) poisonProblems.push(`${p.key} (${stage}): reason ${JSON.stringify(hit.headers[DLQ_HEADERS.error])}`);
        else if (hit.headers[DLQ_HEADERS.topic] !== TOPICS.traces.name || !/^\d+$/.test(hit.headers[DLQ_HEADERS.offset] ?? '')) poisonProblems.push(`${p.key} (${stage}): source headers missing`);
      }
    }
    const lagAfter = await watcher.lag();

    log('---- counts ----');
    log(`traces sent ${load.outcomes.size}: answered 202 ${accepted.length}, answered with an error ${errored.length} (${[...errorKinds].map(([k, n]) => `${k}: ${n}`).join(', ')})`);
    log(`of the 202s: ${accepted.length - missing.pgTrace.length} with one trace row in Postgres, ${accepted.length - missing.pgVerdict.length} with one verdict, ${accepted.length - missing.pgEvaluation.length} with one tier result`);
    log(`of the 202s: ${accepted.length - missing.chTrace.length} with one trace fact (FINAL), ${accepted.length - missing.chEvaluation.length} with one evaluation fact, ${accepted.length - missing.chModules.length} with one module fact per module`);
    log(`ClickHouse rows before FINAL (redeliveries that FINAL collapses): trace facts ${raw.traces}, evaluation facts ${raw.evaluations}, module facts ${raw.modules}`);
    log(`of the errors: ${erroredLanded.length} landed whole anyway (a write that timed out may land), ${errored.length - erroredLanded.length - halfWritten.length} absent everywhere, ${halfWritten.length} half-written`);
    log(`poison records ${poison.length}, DLQ records for them ${dlq.length}, problems ${poisonProblems.length}`);
    log(`consumer lag back to zero ${Math.round(drainMs / 1000)} s after the load stopped: ${JSON.stringify(lagAfter)}`);
    log(`process crashes besides the ones caused on purpose: ${crashes.length}`);

    expect(accepted.length).toBeGreaterThan(1000);
    expect(missing).toEqual({ pgTrace: [], pgVerdict: [], pgEvaluation: [], chTrace: [], chEvaluation: [], chModules: [] });
    expect(halfWritten).toEqual([]);
    expect(unknown).toEqual([]);
    expect(poisonProblems).toEqual([]);
    expect(Object.values(lagAfter).every((n) => n === 0)).toBe(true);
  });
});
