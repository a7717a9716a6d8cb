/**
 * The Kafka log while the broker goes away and comes back (stops the real broker with
 * `scripts/stack.sh`; always restarts it in afterAll). Sends must fail with LogUnavailableError within
 * their deadline instead of hanging, and once the broker is back the same producer and consumer
 * objects carry on without a process restart.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogUnavailableError } from '../src/errors.js';
import { createKafkaLog } from '../src/kafka/index.js';
import type { Log, LogConsumer, LogProducer, LogRecord, OutgoingRecord, RecordMetadata } from '../src/log.js';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const stackScript = resolve(dirname(fileURLToPath(import.meta.url)), '../../scripts/stack.sh');

async function stack(action: 'stop' | 'kill' | 'start'): Promise<void> {
  await promisify(execFile)('bash', [stackScript, action, 'kafka'], { timeout: 180_000 });
}

/** Sends until the broker takes the records (it may need a moment after the script says it is up). */
async function sendWhenBack(producer: LogProducer, records: OutgoingRecord[]): Promise<RecordMetadata[]> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    try {
      return await producer.send(records);
    } catch (error) {
      if (!(error instanceof LogUnavailableError) || Date.now() > deadline) throw error;
    }
  }
}

const records = (topic: string, prefix: string, n: number): OutgoingRecord[] =>
  Array.from({ length: n }, (_, i) => ({ topic, key: `${prefix}-${i}`, value: Buffer.from(`${prefix}-${i}`) }));

describe('kafka log across a broker restart', () => {
  let log: Log;
  let producer: LogProducer;
  let consumer: LogConsumer;
  let reading: Promise<void>;
  const received: LogRecord[] = [];
  const topic = `restart-${randomUUID().slice(0, 8)}`;
  const group = `restart-${randomUUID().slice(0, 8)}`;

  async function receivedAll(prefix: string, n: number): Promise<void> {
    const deadline = Date.now() + 90_000;
    const seen = () => new Set(received.map((r) => r.value!.toString()).filter((v) => v.startsWith(`${prefix}-`))).size;
    while (seen() < n) {
      if (Date.now() > deadline) throw new Error(`the consumer received ${seen()} of the ${n} "${prefix}" records`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  beforeAll(async () => {
    await stack('start');
    log = await createKafkaLog({ brokers, clientId: 'restart-test', requestTimeoutMs: 3_000, reconnectBackoffMs: 200 });
    await log.admin.createTopics([{ name: topic, partitions: 3 }]);
    producer = log.producer();
    consumer = log.consumer({ groupId: group, topics: [topic], maxWaitMs: 200 });
    // Reads in the background for the whole file, committing what it got, like a runner would.
    reading = (async () => {
      for await (const batch of consumer.batches()) {
        received.push(...batch);
        const next = new Map<number, bigint>();
        for (const r of batch) next.set(r.partition, r.offset + 1n);
        await consumer.commit([...next].map(([partition, offset]) => ({ topic, partition, offset }))).catch(() => {});
      }
    })();
    await producer.send(records(topic, 'before', 10));
    await receivedAll('before', 10);
  }, 180_000);

  afterAll(async () => {
    await stack('start');
    await consumer?.close();
    await reading;
    await log?.close();
  }, 180_000);

  it('fails sends and pings with LogUnavailableError while the broker is stopped, then recovers', async () => {
    await stack('stop');
    // All at once, right after the stop: other suites sharing the stack may start the broker again soon.
    await Promise.all([
      expect(producer.send(records(topic, 'down', 3))).rejects.toBeInstanceOf(LogUnavailableError),
      expect(producer.send(records(topic, 'down', 3))).rejects.toThrow(/Kafka is unavailable/),
      expect(log.admin.ping()).rejects.toBeInstanceOf(LogUnavailableError),
      expect(log.admin.endOffsets(topic)).rejects.toBeInstanceOf(LogUnavailableError),
    ]);

    await stack('start');
    const meta = await sendWhenBack(producer, records(topic, 'after', 10));
    expect(meta).toHaveLength(10);
    await expect(log.admin.ping()).resolves.toBeUndefined();
    // The consumer that was reading through the outage picks up where its group committed.
    await receivedAll('after', 10);
    const ends = await log.admin.endOffsets(topic);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const committed = await log.admin.committedOffsets(group, topic);
      if (JSON.stringify(committed.map((o) => `${o.partition}:${o.offset}`)) === JSON.stringify(ends.filter((o) => o.offset > 0n).map((o) => `${o.partition}:${o.offset}`))) break;
      if (Date.now() > deadline) throw new Error('the group never committed up to the end offsets after the restart');
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 240_000);

  it('recovers after the broker is killed (SIGKILL) and started again', async () => {
    await stack('kill');
    await expect(producer.send(records(topic, 'killed', 2))).rejects.toBeInstanceOf(LogUnavailableError);
    await stack('start');
    const meta = await sendWhenBack(producer, records(topic, 'revived', 5));
    expect(meta).toHaveLength(5);
    await receivedAll('revived', 5);
  }, 240_000);
});
