/**
 * The consumer runner: runs one topology on any `Log` (Kafka or embedded), at least once.
 *
 * - Transform: each fetched batch is decoded and processed record by record; its outputs and DLQ
 *   records are produced (acknowledged) before the batch's offsets are committed.
 * - Sink: decoded records accumulate across fetches until `maxRecords`, or until `maxWaitMs` after the
 *   first of them (empty fetches drive the clock), or, with `idleMs`, until nothing has arrived for
 *   `idleMs` (the input went idle); then one `write`, then the DLQ records, then commit.
 *   A write that fails non-retriably is retried in halves, down to single records: the records that
 *   still fail alone go to the DLQ, the others are written.
 * - Infrastructure failures (`isRetriable`) are retried with capped exponential backoff and jitter,
 *   never skipping a record; `stop()` interrupts the wait and leaves the work in flight uncommitted.
 * - A record that cannot be decoded, or that `process` rejects non-retriably, goes to `DLQ_TOPIC`
 *   with `DLQ_HEADERS`, and the partition moves on. Errors that are not about the record (the
 *   registry refusing a schema, a failing DLQ or commit) fail the runner: `done` rejects, nothing
 *   more is committed.
 *
 * @example
 *   const runner = runTopology(tier1, { log, serde, logger });
 *   process.once('SIGTERM', () => void runner.stop());
 *   await runner.done;
 */
import type { SchemaName } from '@metronis/schemas';
import { isRetriable } from '../errors.js';
import type { LogConsumer, LogProducer, LogRecord, OutgoingRecord, TopicPartitionOffset } from '../log.js';
import { SchemaRegistryError } from '../registry/index.js';
import type { TopicSerde } from '../serde/index.js';
import type { TopicDef } from '../topics.js';
import { dlqRecord } from './dlq.js';
import { errorFields, orgIdOf, orgIdsOf } from './log-fields.js';
import { createRetrier, sleep, StoppedError, backoffDelay } from './retry.js';
import type { RecordMeta, RunnerDeps, RunnerHandle, RunnerStats, SinkItem, SinkTopology, Topology, TransformTopology } from './types.js';

const DEFAULT_RETRY = { initialMs: 100, maxMs: 10_000 };
const DEFAULT_FETCH_WAIT_MS = 100;

function validate(topology: Topology): void {
  const where = `topology ${JSON.stringify(topology?.name)}`;
  if (topology === null || typeof topology !== 'object') throw new TypeError('runTopology: topology must be an object');
  if (topology.kind !== 'transform' && topology.kind !== 'sink') throw new TypeError(`${where}: kind must be 'transform' or 'sink', got ${JSON.stringify((topology as { kind?: unknown }).kind)}`);
  if (typeof topology.name !== 'string' || topology.name.length === 0) throw new TypeError('runTopology: topology name must be a non-empty string');
  if (typeof topology.groupId !== 'string' || topology.groupId.length === 0) throw new TypeError(`${where}: groupId must be a non-empty string`);
  if (typeof topology.input?.name !== 'string') throw new TypeError(`${where}: input must be a topic definition`);
  if (topology.kind === 'transform' && typeof topology.process !== 'function') throw new TypeError(`${where}: process must be a function`);
  if (topology.kind === 'transform' && topology.concurrency !== undefined && (!Number.isInteger(topology.concurrency) || topology.concurrency < 1)) {
    throw new TypeError(`${where}: concurrency must be a positive integer, got ${topology.concurrency}`);
  }
  if (topology.kind === 'sink') {
    if (typeof topology.write !== 'function') throw new TypeError(`${where}: write must be a function`);
    const { maxRecords, maxWaitMs } = topology.batch ?? {};
    if (!Number.isInteger(maxRecords) || maxRecords < 1) throw new TypeError(`${where}: batch.maxRecords must be a positive integer, got ${maxRecords}`);
    if (!Number.isFinite(maxWaitMs) || maxWaitMs < 0) throw new TypeError(`${where}: batch.maxWaitMs must be a number >= 0, got ${maxWaitMs}`);
    const { idleMs } = topology.batch;
    if (idleMs !== undefined && (!Number.isInteger(idleMs) || idleMs < 1)) throw new TypeError(`${where}: batch.idleMs must be a positive integer, got ${idleMs}`);
  }
}

function metaOf(record: LogRecord): RecordMeta {
  return { topic: record.topic, partition: record.partition, offset: record.offset, key: record.key, headers: record.headers, timestamp: record.timestamp };
}

/** The next offset to read of each partition, once the given records are done. */
class Offsets {
  private readonly next = new Map<string, TopicPartitionOffset>();
  add(record: LogRecord): void {
    const id = `${record.topic}\u0000${record.partition}`;
    const current = this.next.get(id);
    if (current === undefined || record.offset + 1n > current.offset) this.next.set(id, { topic: record.topic, partition: record.partition, offset: record.offset + 1n });
  }
  get size(): number {
    return this.next.size;
  }
  list(): TopicPartitionOffset[] {
    return [...this.next.values()];
  }
  clear(): void {
    this.next.clear();
  }
}

const STOPPED = Symbol('stopped');

/** `promise`, or STOPPED as soon as `signal` aborts (the listener is removed either way: no leak per fetch). */
function unlessStopped<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | typeof STOPPED> {
  if (signal.aborted) return Promise.resolve(STOPPED);
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(STOPPED);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Errors that say nothing about the record (the code or its configuration is wrong): the runner fails instead of DLQ'ing. */
function isFatal(error: unknown): boolean {
  return error instanceof StoppedError || error instanceof SchemaRegistryError;
}

export function runTopology<N extends SchemaName>(topology: Topology<N>, deps: RunnerDeps): RunnerHandle {
  validate(topology as Topology);
  const { log, serde, logger } = deps;
  const clock = deps.clock ?? Date;
  const retryOptions = deps.retry ?? DEFAULT_RETRY;
  const stage = topology.name;
  const controller = new AbortController();
  const signal = controller.signal;
  const stats: RunnerStats = { processed: 0, dlq: 0, retries: 0, batches: 0, lastCommitAt: null };
  const context = { topology: stage, group: topology.groupId, topic: topology.input.name };

  const retrying = createRetrier(retryOptions, signal, (what, error, attempt, delayMs) => {
    stats.retries++;
    logger.warn({ ...context, error: errorFields(error), attempt: attempt + 1, delayMs: Math.round(delayMs) }, `${what} failed, retrying`);
  });

  const outputSerdes = new Map<string, TopicSerde>();
  async function outputSerde(topic: TopicDef): Promise<TopicSerde> {
    let found = outputSerdes.get(topic.name);
    if (found === undefined) {
      found = await retrying(`registering the schema of ${topic.name}`, () => serde.forTopic(topic));
      outputSerdes.set(topic.name, found);
    }
    return found;
  }

  /** `value`: the decoded record when there is one, for its org id in the log line. */
  function toDlq(record: LogRecord, error: unknown, value?: unknown): OutgoingRecord {
    const orgId = orgIdOf(value);
    logger.warn(
      { ...context, partition: record.partition, offset: record.offset.toString(), key: record.key, ...(orgId === undefined ? {} : { org_id: orgId }), error: errorFields(error) },
      'record sent to the DLQ',
    );
    return dlqRecord(stage, record, error, clock.now());
  }

  async function commit(consumer: LogConsumer, offsets: TopicPartitionOffset[], processed: number, dlq: number): Promise<void> {
    // A failed commit is not retried on this consumer: it usually means the consumer lost its group
    // session (a broker restart, a rebalance), and only a consumer that fetches again can rejoin. The
    // error ends this consumer; a new one resumes from the committed offsets, so these records are
    // delivered again, which idempotent sinks and keyed outputs absorb (at-least-once).
    if (offsets.length > 0) await consumer.commit(offsets);
    stats.processed += processed;
    stats.dlq += dlq;
    stats.batches++;
    stats.lastCommitAt = clock.now();
  }

  /** Handles fetched batches of one consumer; `finish` runs when fetching stops normally (stop or end). */
  interface Handler {
    batch(records: LogRecord[]): Promise<void>;
    finish(): Promise<void>;
  }

  function transformHandler(t: TransformTopology<N>, input: TopicSerde<N>, consumer: LogConsumer, producer: LogProducer): Handler {
    /** One record's outputs, or its DLQ record. */
    async function handle(record: LogRecord): Promise<{ produced: OutgoingRecord[]; dead: boolean }> {
      let value: unknown;
      try {
        const decoded = await retrying('decode', () => input.decode(record.value));
        value = decoded;
        const outputs = await retrying('process', () => t.process(decoded, metaOf(record)));
        if (!Array.isArray(outputs)) throw new TypeError(`process of ${stage} returned ${typeof outputs}, expected an array of outputs`);
        const produced: OutgoingRecord[] = [];
        for (const output of outputs) {
          const topicSerde = await outputSerde(output.topic);
          produced.push({ topic: output.topic.name, key: output.topic.keyOf(output.value as never), value: topicSerde.encode(output.value as never) });
        }
        return { produced, dead: false };
      } catch (error) {
        if (isFatal(error)) throw error;
        return { produced: [toDlq(record, error, value)], dead: true };
      }
    }
    const concurrency = t.concurrency ?? 1;

    return {
      async batch(records) {
        if (records.length === 0) return;
        const offsets = new Offsets();
        for (const record of records) offsets.add(record);
        // Up to `concurrency` records at once; their outputs are put back in the input order.
        const handled: Array<{ produced: OutgoingRecord[]; dead: boolean }> = new Array(records.length);
        let next = 0;
        const lane = async () => {
          while (next < records.length) {
            const i = next++;
            handled[i] = await handle(records[i] as LogRecord);
          }
        };
        await Promise.all(Array.from({ length: Math.min(concurrency, records.length) }, lane));
        const out = handled.flatMap((h) => h.produced);
        const dlq = handled.filter((h) => h.dead).length;
        if (out.length > 0) await retrying('produce', () => producer.send(out));
        await commit(consumer, offsets.list(), records.length - dlq, dlq);
      },
      async finish() {},
    };
  }

  function sinkHandler(s: SinkTopology<N>, input: TopicSerde<N>, consumer: LogConsumer, producer: LogProducer): Handler {
    let buffer: Array<{ item: SinkItem<N>; record: LogRecord }> = [];
    let dlqRecords: OutgoingRecord[] = [];
    const offsets = new Offsets();
    let firstAt: number | undefined;
    /** when the last record arrived, for `idleMs` */
    let lastAt = 0;

    /**
     * A batch that failed non-retriably, written in halves until every poison record stands alone and
     * goes to the DLQ: about 2·k·log2(n) writes for k poison records in n, where writing record by
     * record took n (a thousand single-row inserts for one bad trace in a ClickHouse batch). Halves
     * are written in order, so a key's later record still lands after its earlier one. Returns how
     * many records were written.
     */
    async function isolate(part: typeof buffer, failure: unknown): Promise<number> {
      if (part.length === 1) {
        dlqRecords.push(toDlq(part[0]!.record, failure, part[0]!.item.value));
        return 0;
      }
      let written = 0;
      const middle = Math.ceil(part.length / 2);
      for (const half of [part.slice(0, middle), part.slice(middle)]) {
        try {
          await retrying('write', () => s.write(half.map((b) => b.item)));
          written += half.length;
        } catch (error) {
          if (error instanceof StoppedError) throw error;
          written += await isolate(half, error);
        }
      }
      return written;
    }

    async function flush(): Promise<void> {
      if (offsets.size === 0) return;
      let written = 0;
      if (buffer.length > 0) {
        try {
          await retrying('write', () => s.write(buffer.map((b) => b.item)));
          written = buffer.length;
        } catch (error) {
          if (error instanceof StoppedError) throw error;
          if (buffer.length > 1) {
            const orgs = orgIdsOf(buffer.map((b) => b.item.value));
            logger.warn({ ...context, error: errorFields(error), records: buffer.length, ...orgs }, 'sink write failed, splitting the batch to isolate the poison records');
          }
          written = await isolate(buffer, error);
        }
      }
      const dlq = dlqRecords.length;
      if (dlq > 0) await retrying('produce to the DLQ', () => producer.send(dlqRecords));
      await commit(consumer, offsets.list(), written, dlq);
      buffer = [];
      dlqRecords = [];
      offsets.clear();
      firstAt = undefined;
    }

    return {
      async batch(records) {
        for (const record of records) {
          try {
            const value = await retrying('decode', () => input.decode(record.value));
            buffer.push({ item: { value, meta: metaOf(record) }, record });
          } catch (error) {
            if (isFatal(error)) throw error;
            dlqRecords.push(toDlq(record, error));
          }
          offsets.add(record);
          lastAt = clock.now();
          firstAt ??= lastAt;
          if (buffer.length >= s.batch.maxRecords) await flush();
        }
        // Idle: nothing arrived for `idleMs` (the fetch waits at most that long, see consume).
        const now = clock.now();
        const idle = s.batch.idleMs !== undefined && now - lastAt >= s.batch.idleMs;
        if (firstAt !== undefined && (idle || now - firstAt >= s.batch.maxWaitMs)) await flush();
      },
      finish: flush,
    };
  }

  /** One consumer's life: fetch and handle until stopped or the iterable ends; retriable failures end it early. */
  async function consume(input: TopicSerde<N>, producer: LogProducer): Promise<void> {
    const fetchWaitMs = Math.min(deps.consumer?.maxWaitMs ?? DEFAULT_FETCH_WAIT_MS, topology.kind === 'sink' ? Math.max(1, topology.batch.idleMs ?? topology.batch.maxWaitMs) : Infinity);
    const consumer = log.consumer({
      groupId: topology.groupId,
      topics: [topology.input.name],
      maxWaitMs: fetchWaitMs,
      ...(deps.consumer?.maxBatchRecords === undefined ? {} : { maxBatchRecords: deps.consumer.maxBatchRecords }),
    });
    const handler = topology.kind === 'transform' ? transformHandler(topology, input, consumer, producer) : sinkHandler(topology, input, consumer, producer);
    try {
      const iterator = consumer.batches()[Symbol.asyncIterator]();
      for (;;) {
        const pending = iterator.next();
        const next = await unlessStopped(pending, signal);
        if (next === STOPPED) {
          // Nothing is in flight between fetches: whatever this fetch returns stays uncommitted.
          pending.catch(() => undefined);
          break;
        }
        if (next.done) break;
        await handler.batch(next.value);
        if (signal.aborted) break;
      }
      await handler.finish();
    } finally {
      try {
        await consumer.close();
      } catch (error) {
        logger.warn({ ...context, error: errorFields(error) }, 'closing the consumer failed');
      }
    }
  }

  async function run(): Promise<void> {
    logger.info({ ...context, kind: topology.kind }, 'topology starting');
    let input: TopicSerde<N>;
    try {
      input = await retrying(`registering the schema of ${topology.input.name}`, () => serde.forTopic(topology.input));
      if (topology.kind === 'transform') for (const output of topology.outputs ?? []) await outputSerde(output);
    } catch (error) {
      if (error instanceof StoppedError) return;
      throw error;
    }
    const producer = log.producer();
    try {
      for (let failures = 0; !signal.aborted; ) {
        try {
          await consume(input, producer);
          failures = 0;
          if (!signal.aborted) await sleep(retryOptions.initialMs, signal);
        } catch (error) {
          if (error instanceof StoppedError) break;
          if (!isRetriable(error)) throw error;
          // The consumer failed (fetch, commit); a new one resumes from the committed offsets.
          const delay = backoffDelay(failures++, retryOptions);
          stats.retries++;
          logger.warn({ ...context, error: errorFields(error), delayMs: Math.round(delay) }, 'consumer failed, starting a new one');
          try {
            await sleep(delay, signal);
          } catch {
            break;
          }
        }
      }
    } finally {
      try {
        await producer.close();
      } catch (error) {
        logger.warn({ ...context, error: errorFields(error) }, 'closing the producer failed');
      }
    }
  }

  const done = run().then(
    () => logger.info({ ...context, ...stats }, 'topology stopped'),
    (error: unknown) => {
      logger.error({ ...context, error: errorFields(error) }, 'topology failed');
      throw error;
    },
  );

  return {
    async stop() {
      controller.abort();
      await done.catch(() => undefined);
    },
    done,
    stats: () => ({ ...stats }),
  };
}
