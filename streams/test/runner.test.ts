/**
 * The consumer runner on the real embedded log (a durable log on disk, in process): DLQ routing,
 * retries, commit-after-effect, graceful stop, sink batching, replay.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTrace, type TierResult, type Trace } from '@metronis/schemas';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createEmbeddedLog,
  createInProcessRegistry,
  createSerde,
  describeTopology,
  DLQ_HEADERS,
  DLQ_TOPIC,
  frame,
  backoffDelay,
  IncompatibleSchemaError,
  InfrastructureError,
  RegistryUnavailableError,
  LogUnavailableError,
  PoisonRecordError,
  replay,
  runTopology,
  topologyTopics,
  TOPICS,
  type Log,
  type LogRecord,
  type RunnerHandle,
  type SchemaRegistry,
  type RunnerLogger,
  type Serde,
  type SinkItem,
  type SinkTopology,
  type Topology,
  type TopicDef,
  type TransformTopology,
} from '../src/index.js';

const INPUT: TopicDef<'Trace'> = { ...TOPICS.traces, partitions: 2 };
const OUTPUT: TopicDef<'TierResult'> = { ...TOPICS.evaluations, partitions: 2 };
const FAST_RETRY = { initialMs: 5, maxMs: 20 };

let dir: string;
let log: Log;
let serde: Serde;
let warnings: Array<{ obj: object; msg?: string }>;
let logger: RunnerLogger;
const runners: RunnerHandle[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'metronis-runner-'));
  log = await createEmbeddedLog({ dir });
  await log.admin.createTopics([
    { name: INPUT.name, partitions: INPUT.partitions },
    { name: OUTPUT.name, partitions: OUTPUT.partitions },
    { name: DLQ_TOPIC, partitions: 1 },
  ]);
  serde = createSerde(createInProcessRegistry());
  warnings = [];
  logger = { info() {}, warn: (obj, msg) => warnings.push({ obj, msg }), error() {} };
});

afterEach(async () => {
  for (const runner of runners.splice(0)) await runner.stop();
  await log.close();
  rmSync(dir, { recursive: true, force: true });
});

function start(topology: Topology<'Trace'>): RunnerHandle {
  const runner = runTopology(topology, { log, serde, logger, retry: FAST_RETRY, consumer: { maxWaitMs: 20 } });
  runners.push(runner);
  return runner;
}

async function produceTraces(traces: Trace[]): Promise<void> {
  const traceSerde = await serde.forTopic(INPUT);
  await log.producer().send(traces.map((t) => ({ topic: INPUT.name, key: t.trace_id, value: traceSerde.encode(t) })));
}

async function produceRaw(key: string, value: Buffer): Promise<void> {
  await log.producer().send([{ topic: INPUT.name, key, value, headers: { origin: 'test' } }]);
}

/** Every record of a topic, read by a throwaway group; stops at `count` records or after 10 s. */
async function readTopic(topic: string, count: number): Promise<LogRecord[]> {
  const consumer = log.consumer({ groupId: `reader-${Math.random()}`, topics: [topic], maxWaitMs: 20 });
  const records: LogRecord[] = [];
  const deadline = Date.now() + 10_000;
  for await (const batch of consumer.batches()) {
    records.push(...batch);
    if (records.length >= count || Date.now() > deadline) break;
  }
  await consumer.close();
  return records;
}

/** Polls until `check` returns true (a failing test reports the condition, not a time). */
async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function committedTotal(groupId: string): Promise<bigint> {
  return (await log.admin.committedOffsets(groupId, INPUT.name)).reduce((sum, o) => sum + o.offset, 0n);
}

function tierResultOf(trace: Trace): TierResult {
  return {
    evaluation_id: `${trace.trace_id}:1`,
    trace_id: trace.trace_id,
    org_id: trace.org_id,
    tier: 1,
    evaluated_at: 1,
    trace_timestamp: trace.timestamp,
    passed: true,
    severity: 'none',
    score: 1,
    modules: [],
    latency_us: 1,
  };
}

function transform(process: TransformTopology<'Trace'>['process'], groupId = 'tier1-test'): TransformTopology<'Trace'> {
  return { kind: 'transform', name: 'tier1-test', groupId, input: INPUT, outputs: [OUTPUT], process };
}

function sink(write: (items: SinkItem<'Trace'>[]) => Promise<void>, batch: SinkTopology<'Trace'>['batch'] = { maxRecords: 100, maxWaitMs: 20 }, groupId = 'sink-test'): SinkTopology<'Trace'> {
  return { kind: 'sink', name: 'sink-test', groupId, input: INPUT, batch, write };
}

describe('runner: transform topologies', () => {
  it('produces the outputs of every record, then commits', async () => {
    const traces = Array.from({ length: 20 }, () => makeTrace());
    await produceTraces(traces);
    const runner = start(transform((trace) => [{ topic: OUTPUT, value: tierResultOf(trace) }]));
    await until('20 records are committed', () => runner.stats().processed === 20);
    const evaluations = await serde.forTopic(OUTPUT);
    const outputs = await readTopic(OUTPUT.name, 20);
    const ids = await Promise.all(outputs.map(async (r) => (await evaluations.decode(r.value)).trace_id));
    expect(ids.sort()).toEqual(traces.map((t) => t.trace_id).sort());
    // Keyed by the output topic's key: the trace id.
    expect(outputs.every((r) => ids.includes(r.key!))).toBe(true);
    expect(await committedTotal('tier1-test')).toBe(20n);
    await runner.stop();
    expect(runner.stats()).toMatchObject({ processed: 20, dlq: 0, retries: 0 });
    expect(runner.stats().lastCommitAt).not.toBeNull();
  });

  it('with concurrency, processes up to that many records of a batch at once and still produces in input order', async () => {
    const traces = Array.from({ length: 30 }, () => makeTrace());
    await produceTraces(traces);
    let inFlight = 0;
    let most = 0;
    const seen: string[] = [];
    const topology: TransformTopology<'Trace'> = {
      ...transform(async (trace, meta) => {
        inFlight++;
        most = Math.max(most, inFlight);
        seen.push(`${meta.partition}:${meta.offset}`);
        // later records of a batch finish first: only the runner can put the outputs back in order
        await new Promise((resolve) => setTimeout(resolve, 40 - (Number(meta.offset) % 10) * 4));
        inFlight--;
        if (trace.trace_id === traces[7]!.trace_id) throw new Error('poison');
        return [{ topic: OUTPUT, value: tierResultOf(trace) }];
      }, 'tier1-concurrent'),
      concurrency: 4,
    };
    const runner = start(topology);
    await until('30 records are handled', () => runner.stats().processed + runner.stats().dlq === 30);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(4);
    expect(runner.stats()).toMatchObject({ processed: 29, dlq: 1 });
    // per partition, the outputs are in the order of their inputs
    const inputs = await readTopic(INPUT.name, 30);
    const evaluations = await serde.forTopic(OUTPUT);
    const outputs = await readTopic(OUTPUT.name, 29);
    for (const partition of [0, 1]) {
      const keysIn = inputs.filter((r) => r.key !== traces[7]!.trace_id && r.partition === partition).map((r) => r.key);
      const keysOut = await Promise.all(outputs.filter((r) => r.partition === partition).map(async (r) => (await evaluations.decode(r.value)).trace_id));
      expect(keysOut).toEqual(keysIn);
    }
    expect(() => start({ ...transform(() => []), concurrency: 0 })).toThrow(/concurrency must be a positive integer/);
  });

  it('sends bad bytes, an unknown schema id and a record that process rejects to the DLQ, and moves on', async () => {
    const before = makeTrace();
    const rejected = makeTrace({ application: 'reject-me' });
    const after = makeTrace();
    await produceTraces([before]);
    const garbage = Buffer.from('{"not":"avro"}');
    await produceRaw(before.trace_id, garbage);
    const unknownId = frame(4242, Buffer.from([0, 1, 2]));
    await produceRaw(before.trace_id, unknownId);
    await produceTraces([rejected, after]);

    const runner = start(
      transform((trace) => {
        if (trace.application === 'reject-me') throw new PoisonRecordError('this trace cannot be evaluated');
        return [{ topic: OUTPUT, value: tierResultOf(trace) }];
      }),
    );
    await until('5 records are committed', () => runner.stats().processed + runner.stats().dlq === 5);
    expect(runner.stats()).toMatchObject({ processed: 2, dlq: 3 });

    const dead = await readTopic(DLQ_TOPIC, 3);
    expect(dead).toHaveLength(3);
    expect(dead.map((r) => r.headers[DLQ_HEADERS.errorName]).sort()).toEqual(['PoisonRecordError', 'SerdeError', 'SerdeError']);
    const serdeErrors = dead.filter((r) => r.headers[DLQ_HEADERS.errorName] === 'SerdeError');
    expect(serdeErrors.map((r) => r.value)).toEqual(expect.arrayContaining([garbage, unknownId]));
    expect(serdeErrors.map((r) => r.headers[DLQ_HEADERS.error]).join('\n')).toMatch(/magic byte/);
    expect(serdeErrors.map((r) => r.headers[DLQ_HEADERS.error]).join('\n')).toMatch(/schema id 4242 is not registered/);
    for (const record of serdeErrors) {
      expect(record.key).toBe(before.trace_id);
      expect(record.headers.origin).toBe('test');
    }
    const poison = dead.find((r) => r.headers[DLQ_HEADERS.errorName] === 'PoisonRecordError')!;
    expect(poison.key).toBe(rejected.trace_id);
    expect(poison.headers[DLQ_HEADERS.stage]).toBe('tier1-test');
    expect(poison.headers[DLQ_HEADERS.error]).toBe('this trace cannot be evaluated');
    expect(poison.headers[DLQ_HEADERS.topic]).toBe(INPUT.name);
    const source = (await readTopic(INPUT.name, 5)).find((r) => r.key === rejected.trace_id)!;
    expect(poison.headers[DLQ_HEADERS.partition]).toBe(String(source.partition));
    expect(poison.headers[DLQ_HEADERS.offset]).toBe(source.offset.toString());
    expect(Number.isNaN(Date.parse(poison.headers[DLQ_HEADERS.failedAt]!))).toBe(false);
    expect(await (await serde.forTopic(INPUT)).decode(poison.value)).toMatchObject({ trace_id: rejected.trace_id });

    // The records after the poison ones were processed.
    const outputs = await readTopic(OUTPUT.name, 2);
    expect(outputs.map((r) => r.key).sort()).toEqual([before.trace_id, after.trace_id].sort());
    expect(warnings.filter((w) => w.msg === 'record sent to the DLQ')).toHaveLength(3);
  });

  it('an output that does not fit its schema sends the input record to the DLQ', async () => {
    await produceTraces([makeTrace()]);
    const runner = start(transform(() => [{ topic: OUTPUT, value: { bogus: true } as unknown as TierResult }]));
    await until('the record is DLQ’d', () => runner.stats().dlq === 1);
    const [dead] = await readTopic(DLQ_TOPIC, 1);
    expect(dead!.headers[DLQ_HEADERS.errorName]).toBe('SerdeError');
    expect(dead!.headers[DLQ_HEADERS.error]).toMatch(/metronis.evaluations.v1: value is not a valid TierResult/);
  });

  it('retries a process that fails with an infrastructure error, without skipping or duplicating', async () => {
    const trace = makeTrace();
    await produceTraces([trace, makeTrace()]);
    let failures = 0;
    const runner = start(
      transform((t) => {
        if (t.trace_id === trace.trace_id && failures < 2) {
          failures++;
          throw new InfrastructureError('model endpoint unavailable');
        }
        return [{ topic: OUTPUT, value: tierResultOf(t) }];
      }),
    );
    await until('2 records are committed', () => runner.stats().processed === 2);
    expect(runner.stats()).toMatchObject({ processed: 2, dlq: 0, retries: 2 });
    const outputs = await readTopic(OUTPUT.name, 2);
    expect(outputs.filter((r) => r.key === trace.trace_id)).toHaveLength(1);
  });

  it('commits only after the effect: a runner stopped while retrying leaves its batch to the next one', async () => {
    const traces = Array.from({ length: 4 }, () => makeTrace());
    await produceTraces(traces);
    const first = start(
      transform(() => {
        throw new InfrastructureError('downstream is down');
      }),
    );
    await until('the first runner is retrying', () => first.stats().retries >= 2);
    await first.stop();
    expect(first.stats().processed).toBe(0);
    expect(await committedTotal('tier1-test')).toBe(0n);

    const seen: string[] = [];
    const second = start(transform((t) => (seen.push(t.trace_id), [])));
    await until('the second runner saw every record', () => seen.length === 4);
    expect(seen.sort()).toEqual(traces.map((t) => t.trace_id).sort());
    await until('the second runner committed', async () => (await committedTotal('tier1-test')) === 4n);
  });

  it('stop() while idle resolves, leaves the group, and done resolves', async () => {
    await produceTraces([makeTrace()]);
    const runner = start(transform(() => []));
    await until('the runner is consuming', () => runner.stats().processed === 1);
    await runner.stop();
    await expect(runner.done).resolves.toBeUndefined();
    // The group has no member left: its offsets can be reset.
    await expect(log.admin.resetOffsets('tier1-test', INPUT.name, 'earliest')).resolves.toBeDefined();
  });
});

/** The real log, with a consumer whose fetch fails once (as a broker connection drops) and a producer that can refuse the DLQ. */
function faultyLog(real: Log, faults: { failFirstFetchAfterBatches?: number; failFirstCommit?: boolean; refuseDlq?: boolean }): Log & { consumersMade: number } {
  const wrapper = {
    kind: real.kind,
    admin: real.admin,
    consumersMade: 0,
    close: () => real.close(),
    producer() {
      const producer = real.producer();
      return {
        send: (records: Parameters<typeof producer.send>[0]) =>
          faults.refuseDlq && records.some((r) => r.topic === DLQ_TOPIC) ? Promise.reject(new Error('DLQ topic is not writable')) : producer.send(records),
        close: () => producer.close(),
      };
    },
    consumer(options: Parameters<Log['consumer']>[0]) {
      const consumer = real.consumer(options);
      const first = wrapper.consumersMade++ === 0;
      const failAfter = first ? faults.failFirstFetchAfterBatches : undefined;
      return {
        // As a Kafka consumer whose group session died with the broker: its commits keep failing.
        commit: first && faults.failFirstCommit ? () => Promise.reject(new LogUnavailableError('no live group session to commit with')) : consumer.commit.bind(consumer),
        close: consumer.close.bind(consumer),
        async *batches() {
          let fetched = 0;
          for await (const batch of consumer.batches()) {
            if (failAfter !== undefined && batch.length > 0 && fetched++ === failAfter) throw new LogUnavailableError('connection to the broker lost');
            yield batch;
          }
        },
      };
    },
  };
  return wrapper;
}

describe('runner: failures outside records', () => {
  it('replaces a consumer whose fetch fails, resuming from the committed offsets', async () => {
    const traces = Array.from({ length: 3 }, () => makeTrace());
    await produceTraces(traces);
    const flaky = faultyLog(log, { failFirstFetchAfterBatches: 0 });
    const seen: string[] = [];
    const runner = runTopology(transform((t) => (seen.push(t.trace_id), [])), { log: flaky, serde, logger, retry: FAST_RETRY, consumer: { maxWaitMs: 20 } });
    runners.push(runner);
    await until('3 records are committed', () => runner.stats().processed === 3);
    expect(flaky.consumersMade).toBe(2);
    expect(runner.stats().retries).toBeGreaterThanOrEqual(1);
    expect(seen.sort()).toEqual(traces.map((t) => t.trace_id).sort());
    expect(warnings.some((w) => w.msg === 'consumer failed, starting a new one')).toBe(true);
  });

  it('replaces a consumer whose commit fails instead of retrying it there, and the records are delivered again', async () => {
    const traces = Array.from({ length: 3 }, () => makeTrace());
    await produceTraces(traces);
    const flaky = faultyLog(log, { failFirstCommit: true });
    const seen: string[] = [];
    const runner = runTopology(transform((t) => (seen.push(t.trace_id), [])), { log: flaky, serde, logger, retry: FAST_RETRY, consumer: { maxWaitMs: 20 } });
    runners.push(runner);
    await until('3 records are committed', async () => (await committedTotal('tier1-test')) === 3n);
    expect(flaky.consumersMade).toBe(2);
    // At-least-once: the batch whose commit failed was processed again by the new consumer.
    expect(new Set(seen)).toEqual(new Set(traces.map((t) => t.trace_id)));
    expect(seen.length).toBeGreaterThan(3);
    expect(warnings.some((w) => w.msg === 'consumer failed, starting a new one')).toBe(true);
  });

  it('fails (done rejects) without committing when the DLQ refuses a record non-retriably', async () => {
    await produceRaw('k', Buffer.from('garbage'));
    const runner = runTopology(transform(() => []), { log: faultyLog(log, { refuseDlq: true }), serde, logger, retry: FAST_RETRY, consumer: { maxWaitMs: 20 } });
    await expect(runner.done).rejects.toThrow('DLQ topic is not writable');
    expect(await committedTotal('tier1-test')).toBe(0n);
    // The group was left: another member can take over.
    await expect(log.admin.resetOffsets('tier1-test', INPUT.name, 'earliest')).resolves.toBeDefined();
  });
});

describe('runner: configuration errors fail the runner', () => {
  it('an output topic whose schema the registry refuses fails the runner instead of filling the DLQ', async () => {
    const registry = createInProcessRegistry();
    await registry.register(`${OUTPUT.name}-value`, { type: 'record', name: 'TierResult', namespace: 'io.metronis.v1', fields: [{ name: 'x', type: 'int' }] });
    serde = createSerde(registry);
    await produceTraces([makeTrace()]);
    const undeclared: TransformTopology<'Trace'> = { ...transform((t) => [{ topic: OUTPUT, value: tierResultOf(t) }]), outputs: undefined };
    const runner = runTopology(undeclared, { log, serde, logger, retry: FAST_RETRY, consumer: { maxWaitMs: 20 } });
    await expect(runner.done).rejects.toBeInstanceOf(IncompatibleSchemaError);
    expect(runner.stats().dlq).toBe(0);
    expect(await committedTotal('tier1-test')).toBe(0n);
  });
});

describe('runner: sink topologies', () => {
  it('retries a write that fails with an infrastructure error; every record lands once, and the commit comes after', async () => {
    const traces = Array.from({ length: 10 }, () => makeTrace());
    await produceTraces(traces);
    const written: string[] = [];
    const committedAtWrite: bigint[] = [];
    let calls = 0;
    const runner = start(
      sink(async (items) => {
        if (++calls <= 2) throw new InfrastructureError('database unavailable');
        committedAtWrite.push(await committedTotal('sink-test'));
        written.push(...items.map((i) => i.value.trace_id));
      }),
    );
    await until('10 records are committed', () => runner.stats().processed === 10);
    expect(written.sort()).toEqual(traces.map((t) => t.trace_id).sort());
    expect(committedAtWrite[0]).toBe(0n);
    expect(await committedTotal('sink-test')).toBe(10n);
    expect(runner.stats().retries).toBe(2);
  });

  it('isolates a record that the store rejects: the rest are written, that one goes to the DLQ', async () => {
    const traces = Array.from({ length: 6 }, (_, i) => makeTrace({ application: i === 3 ? 'bad' : 'good' }));
    await produceTraces(traces);
    const written = new Set<string>();
    const runner = start(
      sink(async (items) => {
        if (items.some((i) => i.value.application === 'bad')) throw new Error('value violates a check constraint');
        for (const item of items) written.add(item.value.trace_id);
      }, { maxRecords: 6, maxWaitMs: 10_000 }),
    );
    await until('6 records are committed', () => runner.stats().processed + runner.stats().dlq === 6);
    expect(runner.stats()).toMatchObject({ processed: 5, dlq: 1 });
    expect([...written].sort()).toEqual(traces.filter((t) => t.application === 'good').map((t) => t.trace_id).sort());
    const [dead] = await readTopic(DLQ_TOPIC, 1);
    expect(dead!.key).toBe(traces[3]!.trace_id);
    expect(dead!.headers[DLQ_HEADERS.error]).toBe('value violates a check constraint');
    expect(dead!.headers[DLQ_HEADERS.stage]).toBe('sink-test');
  });

  it('isolates poison records by halving the batch: two bad records in 64 cost a few dozen writes, not 64', async () => {
    const traces = Array.from({ length: 64 }, (_, i) => makeTrace({ application: i === 5 || i === 40 ? 'bad' : 'good' }));
    await produceTraces(traces);
    const written: string[] = [];
    let writes = 0;
    const runner = start(
      sink(async (items) => {
        writes++;
        if (items.some((i) => i.value.application === 'bad')) throw new Error('value violates a check constraint');
        written.push(...items.map((i) => i.value.trace_id));
      }, { maxRecords: 64, maxWaitMs: 10_000 }),
    );
    await until('64 records are committed', () => runner.stats().processed + runner.stats().dlq === 64);
    expect(runner.stats()).toMatchObject({ processed: 62, dlq: 2 });
    // every good record once, in order within its partition (halves are written in order)
    expect([...written].sort()).toEqual(traces.filter((t) => t.application === 'good').map((t) => t.trace_id).sort());
    expect(new Set(written).size).toBe(written.length);
    // one full write, then at most two writes per level of halving for each poison record
    expect(writes).toBeLessThanOrEqual(1 + 2 * 2 * Math.log2(64));
    const dead = await readTopic(DLQ_TOPIC, 2);
    expect(dead.map((d) => d.key).sort()).toEqual([traces[5]!.trace_id, traces[40]!.trace_id].sort());
  });

  it('sends an undecodable record to the DLQ and writes the others', async () => {
    const good = makeTrace();
    await produceRaw('k', Buffer.from([0, 0, 0]));
    await produceTraces([good]);
    const written: string[] = [];
    const runner = start(sink(async (items) => void written.push(...items.map((i) => i.value.trace_id))));
    await until('2 records are committed', () => runner.stats().processed + runner.stats().dlq === 2);
    expect(written).toEqual([good.trace_id]);
    const [dead] = await readTopic(DLQ_TOPIC, 1);
    expect(dead!.headers[DLQ_HEADERS.error]).toMatch(/shorter than the 5-byte/);
  });

  it('flushes on maxRecords', async () => {
    const sizes: number[] = [];
    const runner = start(sink(async (items) => void sizes.push(items.length), { maxRecords: 5, maxWaitMs: 60_000 }));
    await produceTraces(Array.from({ length: 12 }, () => makeTrace()));
    await until('two full batches are written', () => sizes.length === 2);
    expect(sizes).toEqual([5, 5]);
    expect(await committedTotal('sink-test')).toBe(10n);
    // stop() flushes the rest.
    await runner.stop();
    expect(sizes).toEqual([5, 5, 2]);
    expect(await committedTotal('sink-test')).toBe(12n);
  });

  it('flushes on maxWaitMs when fewer than maxRecords arrive', async () => {
    const sizes: number[] = [];
    const runner = start(sink(async (items) => void sizes.push(items.length), { maxRecords: 1_000, maxWaitMs: 30 }));
    await produceTraces(Array.from({ length: 3 }, () => makeTrace()));
    await until('the partial batch is committed', () => runner.stats().processed === 3);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(3);
    expect(await committedTotal('sink-test')).toBe(3n);
  });

  it('with idleMs, writes a lone batch once the input goes idle, without waiting for maxWaitMs', async () => {
    const sizes: number[] = [];
    const runner = start(sink(async (items) => void sizes.push(items.length), { maxRecords: 1_000, maxWaitMs: 600_000, idleMs: 30 }));
    await produceTraces(Array.from({ length: 3 }, () => makeTrace()));
    await until('the idle batch is committed', () => runner.stats().processed === 3);
    expect(sizes).toEqual([3]);
    expect(await committedTotal('sink-test')).toBe(3n);
  });

  it('with idleMs, gathers a trickle that never goes idle into one batch, up to maxRecords', async () => {
    const sizes: number[] = [];
    const runner = start(sink(async (items) => void sizes.push(items.length), { maxRecords: 15, maxWaitMs: 600_000, idleMs: 2_000 }));
    for (let i = 0; i < 20; i++) {
      await produceTraces([makeTrace()]);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await until('every record is committed', () => runner.stats().processed === 20);
    // The fetches brought a record or two each (the consumer waits 20 ms at most), yet the writes are
    // one full batch and, once the input went idle, the rest.
    expect(sizes).toEqual([15, 5]);
  });

  it('with idleMs, still writes at most maxWaitMs after the first record when the input never goes idle', async () => {
    const sizes: number[] = [];
    const runner = start(sink(async (items) => void sizes.push(items.length), { maxRecords: 1_000, maxWaitMs: 40, idleMs: 600_000 }));
    for (let i = 0; i < 30; i++) {
      await produceTraces([makeTrace()]);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await until('the first records are committed', () => runner.stats().processed > 0);
    expect(sizes.length).toBeGreaterThan(0);
    expect(sizes[0]).toBeLessThan(30);
  });

  it('a sink stopped while its store is down commits nothing; the next runner writes everything', async () => {
    const traces = Array.from({ length: 5 }, () => makeTrace());
    await produceTraces(traces);
    const first = start(
      sink(async () => {
        throw new InfrastructureError('database unavailable');
      }),
    );
    await until('the first runner is retrying', () => first.stats().retries >= 2);
    await first.stop();
    expect(await committedTotal('sink-test')).toBe(0n);
    const written: string[] = [];
    const second = start(sink(async (items) => void written.push(...items.map((i) => i.value.trace_id))));
    await until('the second runner wrote every record', () => written.length === 5);
    expect(written.sort()).toEqual(traces.map((t) => t.trace_id).sort());
    await second.stop();
    expect(await committedTotal('sink-test')).toBe(5n);
  });
});

describe('replay', () => {
  it('resets a stopped group to the earliest offset, or to a time, so its records are processed again', async () => {
    await produceTraces([makeTrace(), makeTrace()]);
    const cutoff = new Date(Date.now() + 5);
    await new Promise((resolve) => setTimeout(resolve, 10));
    await produceTraces([makeTrace()]);
    const written: string[] = [];
    const run = async () => {
      const runner = start(sink(async (items) => void written.push(...items.map((i) => i.value.trace_id))));
      await until('the sink caught up', async () => (await committedTotal('sink-test')) === 3n);
      await runner.stop();
    };
    await run();
    expect(written).toHaveLength(3);

    await replay(log, { groupId: 'sink-test', topic: INPUT, from: 'earliest' });
    expect(await committedTotal('sink-test')).toBe(0n);
    await run();
    expect(written).toHaveLength(6);

    const offsets = await replay(log, { groupId: 'sink-test', topic: INPUT.name, from: cutoff });
    expect(offsets.reduce((sum, o) => sum + o.offset, 0n)).toBe(2n);
    await run();
    expect(written).toHaveLength(7);
  });

  it('refuses bad arguments and a running group', async () => {
    await expect(replay(log, { groupId: '', topic: INPUT, from: 'earliest' })).rejects.toThrow(/groupId must be a non-empty string/);
    await expect(replay(log, { groupId: 'g', topic: INPUT, from: new Date('nope') })).rejects.toThrow(/from must be 'earliest' or a valid Date/);
    await produceTraces([makeTrace()]);
    const runner = start(sink(async () => {}));
    await until('the runner is consuming', () => runner.stats().processed === 1);
    await expect(replay(log, { groupId: 'sink-test', topic: INPUT, from: 'earliest' })).rejects.toThrow(/active consumer/);
  });
});

describe('backoff', () => {
  it('grows exponentially from initialMs, is capped at maxMs, and jitters between half and all of it', () => {
    const options = { initialMs: 100, maxMs: 1_000 };
    expect([0, 1, 2, 3, 4, 40].map((attempt) => backoffDelay(attempt, options, () => 1))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    expect([0, 1, 2, 3, 4, 40].map((attempt) => backoffDelay(attempt, options, () => 0))).toEqual([50, 100, 200, 400, 500, 500]);
  });

  it('a runner whose registry stays down keeps retrying until stopped', async () => {
    const down: SchemaRegistry = {
      register: () => Promise.reject(new RegistryUnavailableError('registry down')),
      getSchema: () => Promise.reject(new RegistryUnavailableError('registry down')),
      ping: () => Promise.reject(new RegistryUnavailableError('registry down')),
    };
    const runner = runTopology(transform(() => []), { log, serde: createSerde(down), logger, retry: FAST_RETRY });
    await until('the runner retried', () => runner.stats().retries >= 3);
    await runner.stop();
    await expect(runner.done).resolves.toBeUndefined();
    expect(warnings.some((w) => w.msg === 'registering the schema of metronis.traces.v1 failed, retrying')).toBe(true);
  });
});

describe('topology descriptions and validation', () => {
  it('accepts any topology where a Topology is expected', () => {
    const topologies: Topology[] = [sink(async () => {}), transform(() => [])];
    expect(topologies.map((t) => t.kind)).toEqual(['sink', 'transform']);
  });

  it('describes a transform and a sink', () => {
    expect(describeTopology(transform(() => []))).toBe(
      [
        'topology tier1-test (transform)',
        '  group:   tier1-test',
        '  input:   metronis.traces.v1 (Trace)',
        '  outputs: metronis.evaluations.v1 (TierResult)',
        '  dlq:     metronis.dlq.v1',
      ].join('\n'),
    );
    expect(describeTopology(sink(async () => {}, { maxRecords: 500, maxWaitMs: 20 }))).toMatch(/sink-test \(sink\)[\s\S]*batches of up to 500 records, at most 20 ms after the first/);
    expect(describeTopology(sink(async () => {}, { maxRecords: 500, maxWaitMs: 250, idleMs: 20 }))).toMatch(/at most 250 ms after the first, or once the input is idle for 20 ms/);
    expect(topologyTopics(transform(() => [])).map((t) => t.name)).toEqual([INPUT.name, OUTPUT.name, DLQ_TOPIC]);
  });

  it('rejects a malformed topology with a clear error', () => {
    const deps = { log, serde, logger };
    expect(() => runTopology({ ...sink(async () => {}), batch: { maxRecords: 0, maxWaitMs: 10 } }, deps)).toThrow(/batch.maxRecords must be a positive integer, got 0/);
    expect(() => runTopology({ ...sink(async () => {}), batch: { maxRecords: 10, maxWaitMs: 10, idleMs: 0 } }, deps)).toThrow(/batch.idleMs must be a positive integer, got 0/);
    expect(() => runTopology({ ...transform(() => []), groupId: '' }, deps)).toThrow(/groupId must be a non-empty string/);
    expect(() => runTopology({ ...transform(() => []), kind: 'other' } as unknown as Topology, deps)).toThrow(/kind must be 'transform' or 'sink'/);
  });
});
