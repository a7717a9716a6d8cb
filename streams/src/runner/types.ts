/**
 * What a topology is (a named consumer group over one input topic, either transforming records into
 * records on other topics or writing batches of them to a store) and what the runner needs to run one.
 */
import type { RecordTypes, SchemaName } from '@metronis/schemas';
import type { Headers, Log } from '../log.js';
import type { Serde } from '../serde/index.js';
import type { TopicDef } from '../topics.js';

/** Where a record came from. */
export interface RecordMeta {
  topic: string;
  partition: number;
  offset: bigint;
  key: string | null;
  headers: Headers;
  /** Epoch milliseconds. */
  timestamp: number;
}

/** One record a transform emits: produced to `topic`, keyed by `topic.keyOf(value)`. */
export type Output = { [M in SchemaName]: { topic: TopicDef<M>; value: RecordTypes[M] } }[SchemaName];

/** Records in, records out: `process` returns zero (filter), one, or several outputs per input. */
export interface TransformTopology<N extends SchemaName = SchemaName> {
  readonly kind: 'transform';
  name: string;
  groupId: string;
  input: TopicDef<N>;
  /** The topics `process` may emit to, for `describeTopology` (and so their schemas register at start). */
  outputs?: readonly TopicDef[];
  /** Throw a retriable error (`isRetriable`) to have the record retried; any other error sends it to the DLQ. */
  process(value: RecordTypes[N], meta: RecordMeta): Output[] | Promise<Output[]>;
  /**
   * Records of one fetched batch processed at once (default 1), for a `process` that waits on other
   * threads (Tier 1's evaluation pool). Outputs are still produced in the input order, so a key's
   * records stay ordered; `process` must not depend on the order in which they are processed.
   */
  concurrency?: number;
}

export interface SinkItem<N extends SchemaName = SchemaName> {
  value: RecordTypes[N];
  meta: RecordMeta;
}

/** Records in, batches written to a store: `write` must be idempotent (records can be delivered twice). */
export interface SinkTopology<N extends SchemaName = SchemaName> {
  readonly kind: 'sink';
  name: string;
  groupId: string;
  input: TopicDef<N>;
  /**
   * A batch is written when it holds `maxRecords`, or `maxWaitMs` after its first record arrived.
   * With `idleMs` (adaptive batching) it is also written as soon as the input goes idle: nothing
   * arrived for `idleMs` (across the partitions the consumer holds). A steady trickle then fills batches up to `maxRecords` or
   * `maxWaitMs`, while a lone record still lands `idleMs` after it arrived.
   */
  batch: { maxRecords: number; maxWaitMs: number; idleMs?: number };
  /** Throw a retriable error to have the batch retried; any other error isolates the poison records into the DLQ. */
  write(items: SinkItem<N>[]): Promise<void>;
}

export type Topology<N extends SchemaName = SchemaName> = TransformTopology<N> | SinkTopology<N>;

/** The pino-compatible subset the runner logs with. */
export interface RunnerLogger {
  debug?(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export interface RetryOptions {
  /** First backoff delay. Default 100 ms. */
  initialMs: number;
  /** Backoff cap. Default 10 s. */
  maxMs: number;
}

export interface RunnerDeps {
  log: Log;
  serde: Serde;
  logger: RunnerLogger;
  clock?: Clock;
  retry?: RetryOptions;
  /** Consumer tuning: records per fetch (default 500) and how long a fetch waits (default 100 ms, at most the sink's maxWaitMs). */
  consumer?: { maxBatchRecords?: number; maxWaitMs?: number };
}

export interface RunnerStats {
  /** Records handled (outputs produced, or written by the sink) and committed. */
  processed: number;
  /** Records sent to the DLQ and committed. */
  dlq: number;
  /** Retries of failed infrastructure operations (decode, process, produce, write, commit, fetch). */
  retries: number;
  /** Units of work committed: transform batches, sink writes. */
  batches: number;
  /** Epoch milliseconds of the last commit, null before the first. */
  lastCommitAt: number | null;
}

export interface RunnerHandle {
  /** Stops fetching, finishes (or abandons, uncommitted) what is in flight, commits, leaves the group. Resolves when stopped. */
  stop(): Promise<void>;
  /** Resolves when the runner has stopped; rejects if it failed (a non-retriable error outside any record). */
  done: Promise<void>;
  stats(): RunnerStats;
}
