/**
 * A tail of the log: one reader that sees every partition of its topics, without taking records away
 * from anyone. It is what each console instance uses for live updates: every instance must see every
 * verdict, so none may share a consumer group with another (a shared group would split the partitions
 * between them, and each would miss what the others got).
 *
 * A tail is a consumer group of its own (`metronis.tail.<name>.<random>`), on Kafka and on the
 * embedded log alike: its only member gets every partition. It starts at the end of the log, or at the
 * first record at or after a time (to fill a replay buffer after a restart), by setting the new group's
 * offsets before it joins. It commits its position every few seconds, so a Kafka session rebuilt after
 * a broker failure resumes near where it was instead of at the start time; `close()` leaves the group
 * and deletes it, leaving nothing behind.
 *
 * @example
 *   const tail = await openTail(log, { name: 'console', topics: [TOPICS.verdicts.name], from: { timestamp: Date.now() - 600_000 } });
 *   for await (const batch of tail.batches()) for (const record of batch) handle(record);
 *   await tail.close();
 */
import { randomBytes } from 'node:crypto';
import type { Log, LogRecord, TopicPartitionOffset } from './log.js';

export interface TailOptions {
  /** Names the reader in the group id (letters, digits, '.', '_', '-'). */
  name: string;
  topics: string[];
  /** Where to begin: the end of each partition, or the first record at or after a time (epoch ms). */
  from: 'latest' | { timestamp: number };
  /** Most records in one batch. Default 500. */
  maxBatchRecords?: number;
  /** How long a fetch waits before yielding an empty batch. Default 200 ms. */
  maxWaitMs?: number;
  /** How often the position is committed. Default 5,000 ms. */
  commitEveryMs?: number;
  logger?: { warn(obj: object, msg?: string): void };
}

export interface LogTail {
  readonly groupId: string;
  /** Batches in offset order per partition; empty ones when nothing arrived within maxWaitMs. Ends after close(). */
  batches(): AsyncIterable<LogRecord[]>;
  close(): Promise<void>;
}

export async function openTail(log: Log, options: TailOptions): Promise<LogTail> {
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(options.name)) throw new TypeError(`openTail: name must be 1 to 100 letters, digits, '.', '_' or '-', got ${JSON.stringify(options.name)}`);
  if (!Array.isArray(options.topics) || options.topics.length === 0) throw new TypeError('openTail: topics must be a non-empty array');
  const groupId = `metronis.tail.${options.name}.${randomBytes(6).toString('hex')}`;
  if (options.from !== 'latest') {
    for (const topic of options.topics) await log.admin.resetOffsets(groupId, topic, options.from);
  }
  const consumer = log.consumer({ groupId, topics: options.topics, start: 'latest', maxBatchRecords: options.maxBatchRecords ?? 500, maxWaitMs: options.maxWaitMs ?? 200 });
  const commitEveryMs = options.commitEveryMs ?? 5_000;
  const positions = new Map<string, TopicPartitionOffset>();
  let lastCommit = Date.now();
  let closed = false;

  async function commitPositions(): Promise<void> {
    if (positions.size === 0) return;
    const offsets = [...positions.values()];
    positions.clear();
    try {
      await consumer.commit(offsets);
    } catch (error) {
      options.logger?.warn({ err: (error as Error).message, groupId }, 'tail: could not commit its position (harmless: a rebuilt session re-reads a little)');
    }
  }

  return {
    groupId,
    batches() {
      return {
        async *[Symbol.asyncIterator]() {
          for await (const batch of consumer.batches()) {
            for (const r of batch) positions.set(`${r.topic}\u0000${r.partition}`, { topic: r.topic, partition: r.partition, offset: r.offset + 1n });
            yield batch;
            if (Date.now() - lastCommit >= commitEveryMs) {
              lastCommit = Date.now();
              await commitPositions();
            }
            if (closed) return;
          }
        },
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      await consumer.close();
      try {
        await log.admin.deleteGroup(groupId);
      } catch (error) {
        options.logger?.warn({ err: (error as Error).message, groupId }, 'tail: could not delete its consumer group');
      }
    },
  };
}
