/**
 * The log: what the stream runtime needs from Kafka, and what the embedded log implements with the
 * same semantics (keys, partitions, consumer groups, committed offsets). One contract suite
 * (`streams/test/log-contract.ts`) runs against both implementations.
 *
 * Offsets are bigint, as in Kafka. A committed offset is the *next* offset to read, as in Kafka.
 */

export interface TopicSpec {
  name: string;
  partitions: number;
  /** Kafka `retention.ms`; absent means the broker default (embedded: keep forever). */
  retentionMs?: number;
}

export type Headers = Record<string, string>;

/**
 * The largest record, in bytes of key + value + header names and values, that either log takes. Kafka's
 * default `message.max.bytes` (1,048,588) bounds a whole record batch including its framing, so one
 * record stays safely below it; the embedded log refuses the same size, so both logs take the same
 * records. Producers check it before sending (the gateway refuses a larger trace up front).
 */
export const MAX_RECORD_BYTES = 1_000_000;

/** The bytes of a record that count against MAX_RECORD_BYTES. */
export function recordBytes(record: Pick<OutgoingRecord, 'key' | 'value' | 'headers'>): number {
  let bytes = Buffer.byteLength(record.key) + record.value.length;
  for (const [name, value] of Object.entries(record.headers ?? {})) bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
  return bytes;
}

export interface OutgoingRecord {
  topic: string;
  /** Partitioning key (a trace id): records with one key stay ordered on one partition. */
  key: string;
  /** The serialized value (Confluent wire format Avro for Metronis topics). */
  value: Buffer;
  headers?: Headers;
  /** Epoch milliseconds; defaults to the time of the send. */
  timestamp?: number;
}

export interface RecordMetadata {
  topic: string;
  partition: number;
  offset: bigint;
}

export interface LogRecord {
  topic: string;
  partition: number;
  offset: bigint;
  key: string | null;
  value: Buffer | null;
  headers: Headers;
  /** Epoch milliseconds. */
  timestamp: number;
}

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  offset: bigint;
}

export interface LogProducer {
  /**
   * Writes the records and resolves once every one is durably acknowledged (Kafka: acks=all with an
   * idempotent producer; embedded: appended and fsynced). Rejects with `LogUnavailableError` when the
   * log cannot take the write; a rejected send may have written some of the records (the caller
   * reports none of them as accepted, and downstream sinks are idempotent).
   */
  send(records: OutgoingRecord[]): Promise<RecordMetadata[]>;
  close(): Promise<void>;
}

export interface ConsumerOptions {
  groupId: string;
  topics: string[];
  /** Where a group with no committed offset starts. Default: earliest. */
  start?: 'earliest' | 'latest';
  /** Most records in one batch. Default 500. */
  maxBatchRecords?: number;
  /** How long one fetch may wait for records before yielding what it has (possibly nothing). Default 100 ms. */
  maxWaitMs?: number;
}

export interface LogConsumer {
  /**
   * Batches of records in offset order within each partition, as the group's assignment allows.
   * An empty batch means "nothing arrived within maxWaitMs" (so callers can flush on time).
   * The iterable ends after `close()`.
   */
  batches(): AsyncIterable<LogRecord[]>;
  /** Commits, for the group, the next offset to read of each given partition. */
  commit(offsets: TopicPartitionOffset[]): Promise<void>;
  /** Stops fetching and leaves the group. Uncommitted records are delivered again to the next member. */
  close(): Promise<void>;
}

export interface LogAdmin {
  /** Creates the topics that do not exist yet; existing ones are left as they are. */
  createTopics(topics: TopicSpec[]): Promise<void>;
  /** The next offset to be written (high watermark) of every partition of the topic. */
  endOffsets(topic: string): Promise<TopicPartitionOffset[]>;
  /** The group's committed offsets for the topic; partitions with none are absent. */
  committedOffsets(groupId: string, topic: string): Promise<TopicPartitionOffset[]>;
  /**
   * Moves the group's committed offsets on a topic to the earliest offset, the latest, or the first
   * offset at or after a time. Fails when the group has active members. Returns the new offsets.
   */
  resetOffsets(groupId: string, topic: string, to: 'earliest' | 'latest' | { timestamp: number }): Promise<TopicPartitionOffset[]>;
  /**
   * Forgets a consumer group and its committed offsets (a group that does not exist is fine). Fails
   * when the group has active members. Used by readers with a group of their own (`openTail`).
   */
  deleteGroup(groupId: string): Promise<void>;
  /** Resolves when the log is reachable, rejects with `LogUnavailableError` otherwise. */
  ping(): Promise<void>;
}

export interface Log {
  readonly kind: 'kafka' | 'embedded';
  readonly admin: LogAdmin;
  producer(): LogProducer;
  consumer(options: ConsumerOptions): LogConsumer;
  close(): Promise<void>;
}
