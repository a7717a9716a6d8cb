/**
 * The Kafka producer of the log: idempotent, acks=all, one trace's records on the partition Kafka's
 * Java default partitioner would choose (`partitionFor(key, partitionCount)`).
 *
 * Two things the underlying client does not do for us:
 * - Concurrent `send()` calls on one idempotent @platformatic/kafka producer reuse sequence numbers,
 *   and the broker then acknowledges a duplicate batch without writing it (platformatic/kafka#326).
 *   So this producer keeps one request in flight and coalesces the sends that arrive meanwhile into
 *   the next request (the role of `linger.ms` in the Java client).
 * - The idempotent client retries without end while the broker is down. A send here has a deadline
 *   (`requestTimeoutMs` from the call): past it, the callers get `LogUnavailableError` and the client
 *   is dropped, so its sequence numbers die with it; the next send starts a fresh idempotent producer,
 *   which is how sends succeed again once the broker is back, without restarting the process.
 *
 * @example
 *   const producer = createKafkaProducer(resolveKafkaLogOptions({ brokers: ['127.0.0.1:19092'], clientId: 'gateway' }));
 *   const [meta] = await producer.send([{ topic: 'metronis.traces.v1', key: traceId, value }]);
 */
import { Admin, Producer, ProduceAcks } from '@platformatic/kafka';
import { LogUnavailableError } from '../errors.js';
import { MAX_RECORD_BYTES, recordBytes, type LogProducer, type OutgoingRecord, type RecordMetadata } from '../log.js';
import { partitionFor } from '../partitioner.js';
import { describeKafkaError, forceClose, toLogError, withDeadline } from './errors.js';
import type { ResolvedKafkaLogOptions } from './options.js';

/** Most records, and bytes, coalesced into one produce request (the broker takes 1 MiB batches by default). */
const MAX_COALESCED_RECORDS = 1_000;
const MAX_COALESCED_BYTES = 512 * 1024;
const PARTITION_COUNT_TTL_MS = 30_000;

/** A send refused before anything was written (unknown topic): the client stays usable. */
class TopicError extends Error {
  override readonly name = 'KafkaTopicError';
}

interface PendingSend {
  records: OutgoingRecord[];
  bytes: number;
  deadline: number;
  timer: NodeJS.Timeout;
  settled: boolean;
  resolve(metadata: RecordMetadata[]): void;
  reject(error: Error): void;
}

function checkRecord(record: OutgoingRecord, index: number): number {
  const where = `send: record ${index}`;
  if (record === null || typeof record !== 'object') throw new TypeError(`${where} is not an object`);
  if (typeof record.topic !== 'string' || record.topic.length === 0) throw new TypeError(`${where}: topic must be a non-empty string`);
  if (typeof record.key !== 'string') throw new TypeError(`${where} (topic ${record.topic}): key must be a string`);
  if (!Buffer.isBuffer(record.value)) throw new TypeError(`${where} (topic ${record.topic}): value must be a Buffer`);
  if (record.timestamp !== undefined && !Number.isFinite(record.timestamp)) throw new TypeError(`${where} (topic ${record.topic}): timestamp must be epoch milliseconds`);
  for (const [name, value] of Object.entries(record.headers ?? {})) {
    if (typeof value !== 'string') throw new TypeError(`${where} (topic ${record.topic}): header "${name}" must be a string`);
  }
  const bytes = recordBytes(record);
  // The broker would refuse it (MESSAGE_TOO_LARGE) after the client had retried it: refused up front.
  if (bytes > MAX_RECORD_BYTES) throw new RangeError(`${where} (topic ${record.topic}) is ${bytes} bytes, more than the ${MAX_RECORD_BYTES} bytes a record may have`);
  return bytes;
}

/**
 * The records of one send in runs of at most MAX_COALESCED_BYTES (a record larger than that alone):
 * one produce request holds one record batch per partition, and the broker refuses a batch larger than
 * its `message.max.bytes` (1 MiB by default), so a large send (a gateway batch of 10 MiB) goes as
 * several requests, in order.
 */
function chunksOf(records: OutgoingRecord[], sizes: number[]): { records: OutgoingRecord[]; bytes: number }[] {
  const chunks: { records: OutgoingRecord[]; bytes: number }[] = [];
  let current: { records: OutgoingRecord[]; bytes: number } = { records: [], bytes: 0 };
  records.forEach((record, i) => {
    const size = sizes[i]!;
    if (current.records.length > 0 && (current.bytes + size > MAX_COALESCED_BYTES || current.records.length >= MAX_COALESCED_RECORDS)) {
      chunks.push(current);
      current = { records: [], bytes: 0 };
    }
    current.records.push(record);
    current.bytes += size;
  });
  if (current.records.length > 0) chunks.push(current);
  return chunks;
}

export function createKafkaProducer(options: ResolvedKafkaLogOptions, name = 'producer'): LogProducer {
  const { logger, requestTimeoutMs } = options;
  const clientId = `${options.clientId}-${name}`;
  const queue: PendingSend[] = [];
  let client: Producer<Buffer, Buffer, Buffer, Buffer> | undefined;
  let draining: Promise<void> | undefined;
  let closed = false;
  let metadataClient: Admin | undefined;
  const knownCounts = new Map<string, { count: number; at: number }>();

  function currentClient(): Producer<Buffer, Buffer, Buffer, Buffer> {
    client ??= new Producer({
      clientId,
      bootstrapBrokers: options.brokers,
      idempotent: true,
      acks: ProduceAcks.ALL,
      compression: options.compression,
      timeout: requestTimeoutMs,
      connectTimeout: Math.min(requestTimeoutMs, 5_000),
      retries: Number.MAX_SAFE_INTEGER,
      retryDelay: 250,
      autocreateTopics: false,
    });
    return client;
  }

  /** Drops the client after a failed or abandoned request: its sequence numbers may no longer match the broker's. */
  function dropClient(reason: string): void {
    const old = client;
    client = undefined;
    if (!old) return;
    logger.warn({ clientId, reason }, 'dropping the Kafka producer client; the next send starts a new idempotent producer');
    forceClose(old).catch((error: unknown) => logger.debug({ clientId, err: describeKafkaError(error) }, 'closing a dropped Kafka producer failed'));
  }

  function settle(entry: PendingSend, outcome: { metadata: RecordMetadata[] } | { error: Error }): void {
    if (entry.settled) return;
    entry.settled = true;
    clearTimeout(entry.timer);
    if ('error' in outcome) entry.reject(outcome.error);
    else entry.resolve(outcome.metadata);
  }

  /**
   * Partition counts per topic, from a metadata client with few retries (the idempotent client retries
   * an unknown topic without end). Counts are refreshed after PARTITION_COUNT_TTL_MS; Kafka partition
   * counts only grow, so a stale count is used when the refresh fails.
   */
  async function partitionCounts(topics: string[]): Promise<Map<string, number>> {
    const now = Date.now();
    const stale = topics.filter((t) => (knownCounts.get(t)?.at ?? 0) < now - PARTITION_COUNT_TTL_MS);
    if (stale.length > 0) {
      metadataClient ??= new Admin({
        clientId: `${clientId}-metadata`,
        bootstrapBrokers: options.brokers,
        timeout: requestTimeoutMs,
        connectTimeout: Math.min(requestTimeoutMs, 5_000),
        retries: 2,
        retryDelay: 250,
      });
      try {
        const metadata = await metadataClient.metadata({ topics: stale, forceUpdate: true });
        for (const topic of stale) {
          const count = metadata.topics.get(topic)?.partitionsCount;
          if (count) knownCounts.set(topic, { count, at: now });
        }
      } catch (error) {
        const message = describeKafkaError(error);
        if (/Unknown topic/i.test(message)) {
          throw new TopicError(`Kafka send failed: ${message} Create it first (admin.createTopics).`, { cause: error });
        }
        if (stale.some((t) => !knownCounts.has(t))) throw error;
        logger.warn({ clientId, topics: stale, err: message }, 'cannot refresh partition counts; using the last known ones');
      }
    }
    const counts = new Map<string, number>();
    for (const topic of topics) {
      const known = knownCounts.get(topic);
      if (!known) throw new TopicError(`Kafka send failed: no partition metadata for topic ${topic}`);
      counts.set(topic, known.count);
    }
    return counts;
  }

  async function produce(batch: PendingSend[]): Promise<void> {
    const records = batch.flatMap((entry) => entry.records);
    const counts = await partitionCounts([...new Set(records.map((r) => r.topic))]);
    const messages = records.map((record) => ({
      topic: record.topic,
      partition: partitionFor(record.key, counts.get(record.topic)!),
      key: Buffer.from(record.key, 'utf8'),
      value: record.value,
      headers: record.headers ? new Map(Object.entries(record.headers).map(([k, v]) => [Buffer.from(k), Buffer.from(v)])) : undefined,
      timestamp: record.timestamp === undefined ? undefined : BigInt(Math.trunc(record.timestamp)),
    }));
    const result = await currentClient().send({ messages });
    // One batch per partition per request, in message order: offset = base offset + position in the partition.
    const base = new Map<string, bigint>();
    for (const { topic, partition, offset } of result.offsets ?? []) base.set(`${topic}:${partition}`, offset);
    const next = new Map<string, bigint>();
    const metadata = messages.map(({ topic, partition }) => {
      const key = `${topic}:${partition}`;
      const first = base.get(key);
      if (first === undefined) throw new Error(`Kafka send failed: the broker did not report an offset for ${key}`);
      const offset = next.get(key) ?? first;
      next.set(key, offset + 1n);
      return { topic, partition, offset };
    });
    let at = 0;
    for (const entry of batch) {
      settle(entry, { metadata: metadata.slice(at, at + entry.records.length) });
      at += entry.records.length;
    }
  }

  function takeBatch(): PendingSend[] {
    const batch: PendingSend[] = [];
    let count = 0;
    let bytes = 0;
    while (queue.length > 0) {
      const entry = queue[0]!;
      if (batch.length > 0 && (count + entry.records.length > MAX_COALESCED_RECORDS || bytes + entry.bytes > MAX_COALESCED_BYTES)) break;
      queue.shift();
      if (entry.settled) continue;
      batch.push(entry);
      count += entry.records.length;
      bytes += entry.bytes;
    }
    return batch;
  }

  async function drain(): Promise<void> {
    for (let batch = takeBatch(); batch.length > 0; batch = takeBatch()) {
      const remaining = Math.max(1, Math.min(...batch.map((entry) => entry.deadline)) - Date.now());
      try {
        await withDeadline(produce(batch), remaining, 'send', () => dropClient('the send deadline passed'));
      } catch (error) {
        // Nothing was sent when the topic is unknown; after any other failure the sequence numbers are in doubt.
        const failure = error instanceof TopicError ? error : toLogError(error, 'send');
        if (!(error instanceof TopicError)) dropClient(describeKafkaError(error));
        for (const entry of batch) settle(entry, { error: failure });
      }
    }
  }

  function kick(): void {
    if (draining) return;
    draining = drain().finally(() => {
      draining = undefined;
      if (queue.length > 0 && !closed) kick();
    });
  }

  /** Queues one request's worth of records; settled by drain, or failed at the deadline while still queued. */
  function enqueue(records: OutgoingRecord[], bytes: number, deadline: number): Promise<RecordMetadata[]> {
    return new Promise<RecordMetadata[]>((resolve, reject) => {
      const entry: PendingSend = {
        records,
        bytes,
        deadline,
        settled: false,
        resolve,
        reject,
        timer: setTimeout(() => {
          // Still queued behind another request when the deadline passed (an in-flight one is failed by drain).
          if (queue.includes(entry)) {
            queue.splice(queue.indexOf(entry), 1);
            settle(entry, { error: new LogUnavailableError(`Kafka is unavailable: send did not complete within ${requestTimeoutMs} ms`) });
          }
        }, Math.max(1, deadline - Date.now())),
      };
      queue.push(entry);
      kick();
    });
  }

  return {
    send(records: OutgoingRecord[]): Promise<RecordMetadata[]> {
      if (closed) return Promise.reject(new Error('Kafka producer is closed'));
      if (!Array.isArray(records)) return Promise.reject(new TypeError('send: records must be an array'));
      if (records.length === 0) return Promise.resolve([]);
      let sizes: number[];
      try {
        sizes = records.map((record, index) => checkRecord(record, index));
      } catch (error) {
        return Promise.reject(error as Error);
      }
      // A send larger than one request is several pending entries, queued in order; it resolves when all
      // are acknowledged (and, as the contract allows, may have written some when it rejects).
      const deadline = Date.now() + requestTimeoutMs;
      return Promise.all(chunksOf(records, sizes).map((chunk) => enqueue(chunk.records, chunk.bytes, deadline))).then((parts) => parts.flat());
    },

    async close(): Promise<void> {
      closed = true;
      while (draining) await draining;
      const old = client;
      client = undefined;
      const metadata = metadataClient;
      metadataClient = undefined;
      await metadata?.close();
      if (old) await forceClose(old);
    },
  };
}
