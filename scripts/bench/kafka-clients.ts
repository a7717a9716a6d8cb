/**
 * Kafka client comparison: @platformatic/kafka against kafkajs on the same broker, same topic settings
 * (6 partitions, like metronis.traces.v1), same records (keyed by random trace ids, 1 KiB values),
 * both idempotent with acks=all and one request in flight per connection. Prints one JSON document.
 *
 *   node --import tsx scripts/bench/kafka-clients.ts [--records 200000] [--size 1024] [--concurrency 64] [--batch 100]
 *
 * Produce scenarios:
 * - `batch`: one client call per `--batch` records, one call at a time.
 * - `concurrent`: `--concurrency` callers each sending one record per call (what the gateway does).
 *   For @platformatic/kafka this runs through our Kafka log producer, which coalesces concurrent calls;
 *   the raw client is also run and its count checked, because concurrent sends on one idempotent
 *   @platformatic/kafka producer lose records (platformatic/kafka#326).
 * Every scenario checks, from the topic's end offsets, how many records actually landed.
 * Consume scenarios read the `batch` topic back from the start, timed from creating the consumer
 * (its group join included) to the last record.
 * Env: KAFKA_BROKERS (default 127.0.0.1:19092).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Admin, Consumer, Producer, ProduceAcks } from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { createKafkaLog } from '../../streams/src/kafka/index.js';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '200000' },
    size: { type: 'string', default: '1024' },
    concurrency: { type: 'string', default: '64' },
    batch: { type: 'string', default: '100' },
  },
});
const N = Number(args.records);
const SIZE = Number(args.size);
const CONCURRENCY = Number(args.concurrency);
const BATCH = Number(args.batch);
for (const [name, v] of Object.entries({ records: N, size: SIZE, concurrency: CONCURRENCY, batch: BATCH })) {
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer`);
}
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const PARTITIONS = 6;
const run = randomUUID().slice(0, 8);
const value = randomBytes(SIZE);
const keys = Array.from({ length: N }, () => randomUUID());

interface Result {
  client: string;
  scenario: string;
  records: number;
  landed?: number;
  seconds: number;
  recordsPerSec: number;
  mbPerSec: number;
  note?: string;
}
const results: Result[] = [];

const admin = new Admin({ clientId: `bench-admin-${run}`, bootstrapBrokers: brokers });

async function freshTopic(label: string): Promise<string> {
  const topic = `bench-${label}-${run}`;
  await admin.createTopics({ topics: [topic], partitions: PARTITIONS, replicas: -1 });
  for (let i = 0; i < 100; i++) {
    const meta = await admin.metadata({ topics: [topic], forceUpdate: true }).catch(() => undefined);
    if (meta?.topics.get(topic)?.partitions.every((p) => p.leader >= 0)) return topic;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`topic ${topic} has no leaders`);
}

async function landed(topic: string): Promise<number> {
  const partitions = Array.from({ length: PARTITIONS }, (_, partitionIndex) => ({ partitionIndex, timestamp: -1n }));
  const listed = await admin.listOffsets({ topics: [{ name: topic, partitions }] });
  return Number(listed.flatMap((t) => t.partitions).reduce((sum, p) => sum + p.offset, 0n));
}

function record(client: string, scenario: string, records: number, ms: number, extra: Partial<Result> = {}): void {
  const seconds = ms / 1000;
  results.push({
    client,
    scenario,
    records,
    seconds: Number(seconds.toFixed(2)),
    recordsPerSec: Math.round(records / seconds),
    mbPerSec: Number(((records * SIZE) / seconds / 1024 / 1024).toFixed(1)),
    ...extra,
  });
  process.stderr.write(`${client} ${scenario}: ${Math.round(records / seconds)} records/s\n`);
}

/** Runs `workers` loops that each take the next index until all N are done. */
async function concurrently(workers: number, each: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < N) await each(next++);
    }),
  );
}

async function timed(work: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

// --- produce -------------------------------------------------------------------------------------

async function platformaticBatch(topic: string): Promise<void> {
  const producer = new Producer({ clientId: `bench-plt-${run}`, bootstrapBrokers: brokers, idempotent: true, acks: ProduceAcks.ALL });
  await producer.send({ messages: [{ topic, key: Buffer.from('warmup'), value }] });
  const ms = await timed(async () => {
    for (let i = 0; i < N; i += BATCH) {
      const messages = keys.slice(i, i + BATCH).map((k) => ({ topic, key: Buffer.from(k), value }));
      await producer.send({ messages });
    }
  });
  await producer.close();
  record('@platformatic/kafka', `produce ${BATCH}/send, 1 in flight`, N, ms, { landed: (await landed(topic)) - 1 });
}

async function platformaticRawConcurrent(topic: string): Promise<void> {
  const producer = new Producer({ clientId: `bench-plt-raw-${run}`, bootstrapBrokers: brokers, idempotent: true, acks: ProduceAcks.ALL });
  await producer.send({ messages: [{ topic, key: Buffer.from('warmup'), value }] });
  let rejected = 0;
  const errors = new Set<string>();
  const ms = await timed(() =>
    concurrently(CONCURRENCY, (i) =>
      producer.send({ messages: [{ topic, key: Buffer.from(keys[i]!), value }] }).catch((error: { errors?: { errors?: { apiId?: string }[] }[] }) => {
        rejected += 1;
        errors.add(error.errors?.[0]?.errors?.[0]?.apiId ?? String(error));
      }),
    ),
  );
  await producer.close();
  const count = (await landed(topic)) - 1;
  const lost = N - rejected - count;
  record('@platformatic/kafka (raw client)', `produce 1/send, ${CONCURRENCY} concurrent`, N, ms, {
    landed: count,
    note: `${rejected} sends rejected (${[...errors].join(', ') || 'none'}), ${lost} acknowledged but not written: concurrent sends on one idempotent producer are unusable (platformatic/kafka#326)`,
  });
}

async function metronisLogConcurrent(topic: string): Promise<void> {
  const log = await createKafkaLog({ brokers, clientId: `bench-log-${run}`, requestTimeoutMs: 30_000 });
  const producer = log.producer();
  await producer.send([{ topic, key: 'warmup', value }]);
  const ms = await timed(() => concurrently(CONCURRENCY, (i) => producer.send([{ topic, key: keys[i]!, value }])));
  await log.close();
  record('@platformatic/kafka via Metronis Kafka log', `produce 1/send, ${CONCURRENCY} concurrent`, N, ms, { landed: (await landed(topic)) - 1 });
}

function kafkajs() {
  return new Kafka({ clientId: `bench-kjs-${run}`, brokers, logLevel: logLevel.NOTHING });
}

async function kafkajsBatch(topic: string): Promise<void> {
  const producer = kafkajs().producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: [{ key: 'warmup', value }] });
  const ms = await timed(async () => {
    for (let i = 0; i < N; i += BATCH) {
      await producer.send({ topic, acks: -1, messages: keys.slice(i, i + BATCH).map((key) => ({ key, value })) });
    }
  });
  await producer.disconnect();
  record('kafkajs', `produce ${BATCH}/send, 1 in flight`, N, ms, { landed: (await landed(topic)) - 1 });
}

async function kafkajsConcurrent(topic: string): Promise<void> {
  const producer = kafkajs().producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: [{ key: 'warmup', value }] });
  const ms = await timed(() => concurrently(CONCURRENCY, (i) => producer.send({ topic, acks: -1, messages: [{ key: keys[i]!, value }] })));
  await producer.disconnect();
  record('kafkajs', `produce 1/send, ${CONCURRENCY} concurrent`, N, ms, { landed: (await landed(topic)) - 1 });
}

// --- consume -------------------------------------------------------------------------------------

/** Counts records until `total`, timing from when the consumer was created (group join included) to the last record. */
function counter(total: number) {
  let count = 0;
  const first = performance.now();
  let resolve!: (ms: number) => void;
  const done = new Promise<number>((r) => (resolve = r));
  return {
    done,
    get finished() {
      return count >= total;
    },
    add(n: number) {
      count += n;
      if (count >= total) resolve(performance.now() - first);
    },
  };
}

async function platformaticConsume(topic: string, total: number): Promise<void> {
  const c = counter(total);
  const consumer = new Consumer({ clientId: `bench-plt-c-${run}`, bootstrapBrokers: brokers, groupId: `bench-plt-${run}`, autocommit: false, maxWaitTime: 500 });
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest' });
  stream.on('data', () => c.add(1));
  const ms = await c.done;
  await stream.close();
  await consumer.close(true);
  record('@platformatic/kafka', 'consume (stream)', total, ms);
}

async function metronisLogConsume(topic: string, total: number): Promise<void> {
  const c = counter(total);
  const log = await createKafkaLog({ brokers, clientId: `bench-log-c-${run}` });
  const consumer = log.consumer({ groupId: `bench-log-${run}`, topics: [topic], maxBatchRecords: 1000, maxWaitMs: 500 });
  for await (const batch of consumer.batches()) {
    c.add(batch.length);
    if (c.finished) break;
  }
  const ms = await c.done;
  await log.close();
  record('@platformatic/kafka via Metronis Kafka log', 'consume (batches)', total, ms);
}

async function kafkajsConsume(topic: string, total: number): Promise<void> {
  const c = counter(total);
  const consumer = kafkajs().consumer({ groupId: `bench-kjs-${run}`, maxWaitTimeInMs: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ autoCommit: false, eachBatch: async ({ batch }) => c.add(batch.messages.length) });
  const ms = await c.done;
  await consumer.disconnect();
  record('kafkajs', 'consume (eachBatch)', total, ms);
}

// --- main ----------------------------------------------------------------------------------------

const started = new Date().toISOString();
const pltBatch = await freshTopic('plt-batch');
await platformaticBatch(pltBatch);
await kafkajsBatch(await freshTopic('kjs-batch'));
await metronisLogConcurrent(await freshTopic('log-conc'));
await kafkajsConcurrent(await freshTopic('kjs-conc'));
await platformaticRawConcurrent(await freshTopic('plt-conc'));
const total = N + 1;
await platformaticConsume(pltBatch, total);
await kafkajsConsume(pltBatch, total);
await metronisLogConsume(pltBatch, total);
await admin.close();

console.log(
  JSON.stringify(
    {
      benchmark: 'kafka-clients',
      started,
      node: process.version,
      broker: brokers.join(','),
      settings: { records: N, recordBytes: SIZE, partitions: PARTITIONS, batch: BATCH, concurrency: CONCURRENCY, acks: 'all', idempotent: true, compression: 'none' },
      results,
    },
    null,
    2,
  ),
);
