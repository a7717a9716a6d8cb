/**
 * The same runner and topologies on the real stack: Kafka (KRaft) as the log and Apicurio as the
 * schema registry (`npm run stack:up`). Topics are unique per run; the DLQ is the shared one, read
 * filtered by this run's stage name.
 */
import { randomUUID } from 'node:crypto';
import { makeTrace, type TierResult, type Trace } from '@metronis/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createConfluentRegistry,
  createKafkaLog,
  createSerde,
  DLQ_HEADERS,
  DLQ_TOPIC,
  InfrastructureError,
  PoisonRecordError,
  runTopology,
  TOPICS,
  type Log,
  type LogRecord,
  type RunnerHandle,
  type RunnerLogger,
  type Serde,
  type SinkTopology,
  type Topology,
  type TopicDef,
  type TransformTopology,
} from '../src/index.js';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const registryUrl = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:18081/apis/ccompat/v7';
const run = randomUUID().slice(0, 8);
const INPUT: TopicDef<'Trace'> = { ...TOPICS.traces, name: `it.runner.${run}.traces`, partitions: 2 };
const OUTPUT: TopicDef<'TierResult'> = { ...TOPICS.evaluations, name: `it.runner.${run}.evaluations`, partitions: 2 };
const silent: RunnerLogger = { info() {}, warn() {}, error() {} };

let log: Log;
let serde: Serde;

beforeAll(async () => {
  log = await createKafkaLog({ brokers, clientId: `runner-it-${run}` });
  await log.admin.createTopics([
    { name: INPUT.name, partitions: INPUT.partitions },
    { name: OUTPUT.name, partitions: OUTPUT.partitions },
    { name: DLQ_TOPIC, partitions: 6 },
  ]);
  serde = createSerde(createConfluentRegistry({ url: registryUrl }));
});

afterAll(async () => {
  await log?.close();
});

function start(topology: Topology<'Trace'>): RunnerHandle {
  return runTopology(topology, { log, serde, logger: silent, retry: { initialMs: 20, maxMs: 200 } });
}

async function produceTraces(traces: Trace[]): Promise<void> {
  const s = await serde.forTopic(INPUT);
  await log.producer().send(traces.map((t) => ({ topic: INPUT.name, key: t.trace_id, value: s.encode(t) })));
}

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Records of a topic that match `keep`, read from the start by a throwaway group, up to `count` (or 60 s). */
async function read(topic: string, count: number, keep: (r: LogRecord) => boolean = () => true): Promise<LogRecord[]> {
  const consumer = log.consumer({ groupId: `it.reader.${randomUUID()}`, topics: [topic], start: 'earliest' });
  const found: LogRecord[] = [];
  const deadline = Date.now() + 60_000;
  for await (const batch of consumer.batches()) {
    found.push(...batch.filter(keep));
    if (found.length >= count || Date.now() > deadline) break;
  }
  await consumer.close();
  return found;
}

async function committed(groupId: string): Promise<bigint> {
  return (await log.admin.committedOffsets(groupId, INPUT.name)).reduce((sum, o) => sum + o.offset, 0n);
}

function tierResultOf(trace: Trace): TierResult {
  return { evaluation_id: `${trace.trace_id}:1`, trace_id: trace.trace_id, org_id: trace.org_id, tier: 1, evaluated_at: 1, trace_timestamp: trace.timestamp, passed: true, severity: 'none', score: 1, modules: [], latency_us: 1 };
}

describe('runner on Kafka with Apicurio', () => {
  it('transform: outputs for good records, poison records in the DLQ with their headers, offsets committed', async () => {
    const stage = `it-transform-${run}`;
    const good = [makeTrace(), makeTrace()];
    const rejected = makeTrace({ application: 'reject-me' });
    await produceTraces([good[0]!]);
    await log.producer().send([{ topic: INPUT.name, key: 'garbage', value: Buffer.from('not avro') }]);
    await produceTraces([rejected, good[1]!]);

    const topology: TransformTopology<'Trace'> = {
      kind: 'transform',
      name: stage,
      groupId: `it.${stage}`,
      input: INPUT,
      outputs: [OUTPUT],
      process: (trace) => {
        if (trace.application === 'reject-me') throw new PoisonRecordError('rejected by the test');
        return [{ topic: OUTPUT, value: tierResultOf(trace) }];
      },
    };
    const runner = start(topology);
    await until('4 records are handled', () => runner.stats().processed + runner.stats().dlq === 4);
    await runner.stop();
    expect(runner.stats()).toMatchObject({ processed: 2, dlq: 2 });
    expect(await committed(`it.${stage}`)).toBe(4n);

    const outputs = await read(OUTPUT.name, 2);
    expect(outputs.map((r) => r.key).sort()).toEqual(good.map((t) => t.trace_id).sort());
    const dead = await read(DLQ_TOPIC, 2, (r) => r.headers[DLQ_HEADERS.stage] === stage);
    expect(dead.map((r) => r.headers[DLQ_HEADERS.errorName]).sort()).toEqual(['PoisonRecordError', 'SerdeError']);
    const garbage = dead.find((r) => r.key === 'garbage')!;
    expect(garbage.value).toEqual(Buffer.from('not avro'));
    expect(garbage.headers[DLQ_HEADERS.topic]).toBe(INPUT.name);
  });

  it('sink: retried through infrastructure errors, commits after the write; a runner stopped mid-way commits nothing', async () => {
    const groupId = `it.sink.${run}`;
    const traces = Array.from({ length: 5 }, () => makeTrace());
    await produceTraces(traces);
    const failing: SinkTopology<'Trace'> = {
      kind: 'sink',
      name: `it-sink-${run}`,
      groupId,
      input: INPUT,
      batch: { maxRecords: 100, maxWaitMs: 50 },
      write: async () => {
        throw new InfrastructureError('store down');
      },
    };
    const first = start(failing);
    await until('the first runner is retrying', () => first.stats().retries >= 2);
    await first.stop();
    expect(await committed(groupId)).toBe(0n);

    const written: string[] = [];
    let calls = 0;
    const second = start({
      ...failing,
      write: async (items) => {
        if (++calls <= 2) throw new InfrastructureError('store still warming up');
        expect(await committed(groupId)).toBe(0n);
        written.push(...items.map((i) => i.value.trace_id));
      },
    });
    // The input topic also holds the transform test's 4 records (one is not a Trace: DLQ'd).
    await until('every record is committed', () => second.stats().processed + second.stats().dlq >= 9);
    await second.stop();
    expect(written.filter((id) => traces.some((t) => t.trace_id === id)).sort()).toEqual(traces.map((t) => t.trace_id).sort());
    expect(new Set(written).size).toBe(written.length);
    expect(await committed(groupId)).toBe(9n);
  });
});
