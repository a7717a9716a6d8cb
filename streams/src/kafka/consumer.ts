/**
 * The Kafka consumer of the log: a consumer-group member with auto-commit off, reading from the
 * group's committed offsets (or `start` when it has none) and handing out batches of records.
 *
 * - `batches()` yields what has arrived, at most `maxBatchRecords` at a time, or an empty batch after
 *   `maxWaitMs` of silence, so callers can flush on time.
 * - Rebalances are the client's: after one, each member restarts from the group's committed offsets,
 *   so records handed out but not committed are delivered again to their new owner (at-least-once).
 *   `commit()` skips (and logs) partitions this member no longer owns.
 * - When the broker fails the session (it stopped, the group forgot the member), the consumer logs it,
 *   yields empty batches while it waits, and rebuilds its session with backoff; it resumes from the
 *   committed offsets.
 *
 * @example
 *   const consumer = createKafkaConsumer(options, { groupId: 'tier1', topics: ['metronis.traces.v1'] });
 *   for await (const batch of consumer.batches()) { await handle(batch); await consumer.commit(nextOffsets(batch)); }
 */
import { Consumer, type Message, type MessagesStream } from '@platformatic/kafka';
import { LogUnavailableError } from '../errors.js';
import type { ConsumerOptions, Headers, LogConsumer, LogRecord, TopicPartitionOffset } from '../log.js';
import { describeKafkaError, forceClose, isRebalanceError, toLogError, withDeadline } from './errors.js';
import type { ResolvedKafkaLogOptions } from './options.js';

type KafkaMessage = Message<string | null, Buffer | null, string, string>;
type KafkaClient = Consumer<string | null, Buffer | null, string, string>;

interface Session {
  client: KafkaClient;
  stream: MessagesStream<string | null, Buffer | null, string, string>;
  /** Set when the client or its stream failed: the session must be rebuilt. */
  failure?: Error;
  /** Wakes a reader waiting for records (new records, a failure, or close). */
  wake?: () => void;
}

function checkConsumerOptions(options: ConsumerOptions): Required<ConsumerOptions> {
  if (options === null || typeof options !== 'object') throw new TypeError('consumer: options must be an object');
  if (typeof options.groupId !== 'string' || options.groupId.length === 0) throw new TypeError('consumer: groupId must be a non-empty string');
  if (!Array.isArray(options.topics) || options.topics.length === 0 || options.topics.some((t) => typeof t !== 'string' || t.length === 0)) {
    throw new TypeError(`consumer ${options.groupId}: topics must be a non-empty array of topic names`);
  }
  const start = options.start ?? 'earliest';
  if (start !== 'earliest' && start !== 'latest') throw new TypeError(`consumer ${options.groupId}: start must be "earliest" or "latest", got "${String(start)}"`);
  const maxBatchRecords = options.maxBatchRecords ?? 500;
  if (!Number.isInteger(maxBatchRecords) || maxBatchRecords <= 0) throw new TypeError(`consumer ${options.groupId}: maxBatchRecords must be a positive integer`);
  const maxWaitMs = options.maxWaitMs ?? 100;
  if (!Number.isInteger(maxWaitMs) || maxWaitMs <= 0) throw new TypeError(`consumer ${options.groupId}: maxWaitMs must be a positive integer`);
  return { groupId: options.groupId, topics: [...options.topics], start, maxBatchRecords, maxWaitMs };
}

const utf8 = (data?: Buffer): string => (data === undefined ? '' : data.toString('utf8'));

function toLogRecord(message: KafkaMessage): LogRecord {
  const headers: Headers = {};
  for (const [name, value] of message.headers) headers[name] = value;
  return {
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    key: message.key,
    value: message.value,
    headers,
    timestamp: Number(message.timestamp),
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createKafkaConsumer(base: ResolvedKafkaLogOptions, consumerOptions: ConsumerOptions): LogConsumer {
  const options = checkConsumerOptions(consumerOptions);
  const { logger } = base;
  const clientId = `${base.clientId}-consumer`;
  const context = { groupId: options.groupId, topics: options.topics };
  let session: Session | undefined;
  let opening: Promise<Session> | undefined;
  let iterating = false;
  let closed = false;
  let backoff = base.reconnectBackoffMs;

  async function open(): Promise<Session> {
    const client: KafkaClient = new Consumer({
      clientId,
      bootstrapBrokers: base.brokers,
      groupId: options.groupId,
      autocommit: false,
      sessionTimeout: base.sessionTimeoutMs,
      heartbeatInterval: base.heartbeatIntervalMs,
      rebalanceTimeout: base.rebalanceTimeoutMs,
      maxWaitTime: options.maxWaitMs,
      minBytes: base.fetchMinBytes,
      timeout: base.requestTimeoutMs,
      connectTimeout: Math.min(base.requestTimeoutMs, 5_000),
      retries: 3,
      retryDelay: 250,
      deserializers: {
        key: (data?: Buffer) => (data === undefined ? null : data.toString('utf8')),
        value: (data?: Buffer) => data ?? null,
        headerKey: utf8,
        headerValue: utf8,
      },
    });
    const partial: Partial<Session> = { client };
    const fail = (error: Error) => {
      if (partial.failure) return;
      partial.failure = error;
      logger.warn({ ...context, err: describeKafkaError(error) }, 'Kafka consumer session failed; it will be rebuilt');
      partial.wake?.();
    };
    // The client emits 'error' when rejoining the group after a failed heartbeat fails too.
    client.on('error', fail);
    try {
      const stream = await withDeadline(
        client.consume({ topics: options.topics, mode: 'committed', fallbackMode: options.start, autocommit: false, maxWaitTime: options.maxWaitMs, minBytes: base.fetchMinBytes }),
        base.rebalanceTimeoutMs + 2 * base.requestTimeoutMs,
        `joining consumer group ${options.groupId}`,
      );
      partial.stream = stream;
      stream.on('error', fail);
      stream.on('close', () => fail(new LogUnavailableError('the Kafka message stream closed')));
      // A 'readable' listener puts the stream in paused mode: it fetches while its buffer has room, and we read().
      stream.on('readable', () => partial.wake?.());
      logger.info({ ...context, memberId: client.memberId, assignments: client.assignments }, 'Kafka consumer joined its group');
      return partial as Session;
    } catch (error) {
      await forceClose(client).catch(() => {});
      throw toLogError(error, `joining consumer group ${options.groupId}`);
    }
  }

  async function teardown(old: Session): Promise<void> {
    old.wake?.();
    try {
      await withDeadline(
        (async () => {
          if (!old.stream.destroyed) await old.stream.close();
          await forceClose(old.client);
        })(),
        base.requestTimeoutMs,
        `leaving consumer group ${options.groupId}`,
      );
    } catch (error) {
      logger.warn({ ...context, err: describeKafkaError(error) }, 'Kafka consumer did not leave its group cleanly; the group will expire the member');
    }
  }

  /** Reads what the stream has, or waits up to maxWaitMs for something; empty when nothing came. */
  function readBatch(current: Session): Promise<LogRecord[]> {
    return new Promise((resolve) => {
      const batch: LogRecord[] = [];
      const take = () => {
        while (batch.length < options.maxBatchRecords) {
          const message = current.stream.read() as KafkaMessage | null;
          if (message === null) break;
          batch.push(toLogRecord(message));
        }
      };
      const finish = () => {
        clearTimeout(timer);
        current.wake = undefined;
        resolve(batch);
      };
      take();
      if (batch.length > 0 || current.failure || closed) {
        resolve(batch);
        return;
      }
      const timer = setTimeout(finish, options.maxWaitMs);
      current.wake = () => {
        if (!current.failure && !closed) take();
        if (batch.length > 0 || current.failure || closed) finish();
      };
    });
  }

  async function* iterate(): AsyncGenerator<LogRecord[]> {
    while (!closed) {
      if (!session) {
        try {
          opening = open();
          session = await opening;
          backoff = base.reconnectBackoffMs;
        } catch (error) {
          logger.warn({ ...context, err: describeKafkaError(error), retryInMs: backoff }, 'Kafka consumer cannot join its group yet');
          opening = undefined;
          if (closed) return;
          yield [];
          await sleep(backoff);
          backoff = Math.min(backoff * 2, 10_000);
          continue;
        } finally {
          opening = undefined;
        }
        if (closed) return;
      }
      const current = session;
      const batch = await readBatch(current);
      if (batch.length > 0) {
        yield batch;
        continue;
      }
      if (closed) return;
      if (current.failure) {
        session = undefined;
        await teardown(current);
        yield [];
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 10_000);
        continue;
      }
      yield batch;
    }
  }

  function owned(current: Session): Set<string> {
    const set = new Set<string>();
    for (const { topic, partitions } of current.client.assignments ?? []) for (const p of partitions) set.add(`${topic}:${p}`);
    return set;
  }

  return {
    batches(): AsyncIterable<LogRecord[]> {
      if (iterating) throw new Error(`consumer ${options.groupId}: batches() is already being iterated`);
      iterating = true;
      const generator = iterate();
      return {
        [Symbol.asyncIterator]: () => ({
          next: () => generator.next(),
          return: async (value?: unknown) => {
            iterating = false;
            return generator.return(value as undefined);
          },
        }),
      };
    },

    async commit(offsets: TopicPartitionOffset[]): Promise<void> {
      if (!Array.isArray(offsets)) throw new TypeError(`consumer ${options.groupId}: commit takes an array of { topic, partition, offset }`);
      for (const o of offsets) {
        if (typeof o?.topic !== 'string' || !Number.isInteger(o.partition) || o.partition < 0 || typeof o.offset !== 'bigint' || o.offset < 0n) {
          throw new TypeError(`consumer ${options.groupId}: bad commit offset ${JSON.stringify(o, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
        }
      }
      if (offsets.length === 0) return;
      if (closed) throw new Error(`consumer ${options.groupId}: commit after close`);
      const current = session;
      if (!current || current.failure) {
        throw new LogUnavailableError(`Kafka is unavailable: consumer ${options.groupId} has no live group session to commit with`);
      }
      const mine = owned(current);
      const keep = offsets.filter((o) => mine.has(`${o.topic}:${o.partition}`));
      const skipped = offsets.filter((o) => !mine.has(`${o.topic}:${o.partition}`));
      if (skipped.length > 0) {
        logger.warn(
          { ...context, partitions: skipped.map((o) => `${o.topic}:${o.partition}`) },
          'not committing partitions this member no longer owns; their records will be delivered again to the new owner',
        );
      }
      if (keep.length === 0) return;
      try {
        await withDeadline(
          current.client.commit({ offsets: keep.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset, leaderEpoch: -1 })) }),
          base.requestTimeoutMs,
          `commit for group ${options.groupId}`,
        );
      } catch (error) {
        if (isRebalanceError(error)) {
          logger.warn({ ...context, err: describeKafkaError(error) }, 'commit refused during a rebalance; the records will be delivered again');
          return;
        }
        throw toLogError(error, `commit for group ${options.groupId}`);
      }
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      session?.wake?.();
      const pending = opening;
      const current = session ?? (pending ? await pending.catch(() => undefined) : undefined);
      session = undefined;
      if (current) await teardown(current);
    },
  };
}
