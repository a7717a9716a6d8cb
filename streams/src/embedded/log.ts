/**
 * The embedded log: Kafka's semantics (topics, keyed partitions, consumer groups, committed offsets)
 * in one Node process, durable on local disk. It is what `metronis dev` runs on.
 *
 * Layout of `dir`: `LOCK` (owner pid), `topics/<topic>/topic.json` and `topics/<topic>/<partition>/`
 * (segment files), `groups/<hex group id>.json` (committed offsets).
 *
 * `producer().send()` resolves once the records are written and fsynced; concurrent sends share
 * fsyncs (group commit). Consumers see only durable records and are woken when some arrive.
 *
 * @example
 *   const log = await createEmbeddedLog({ dir: '.metronis/log', logger });
 *   await log.admin.createTopics([{ name: 'metronis.traces.v1', partitions: 6 }]);
 *   await log.producer().send([{ topic: 'metronis.traces.v1', key: traceId, value }]);
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LogUnavailableError } from '../errors.js';
import { MAX_RECORD_BYTES, type ConsumerOptions, type Log, type LogAdmin, type LogConsumer, type LogProducer, type OutgoingRecord, type RecordMetadata, type TopicPartitionOffset, type TopicSpec } from '../log.js';
import { partitionFor } from '../partitioner.js';
import { EmbeddedConsumer, type ConsumerContext } from './consumer.js';
import { GroupCoordinator } from './groups.js';
import { acquireDirLock, type DirLock } from './lock.js';
import { OffsetsStore } from './offsets-store.js';
import { PartitionLog, type NewRecord } from './partition-log.js';
import { SyncScheduler } from './sync-scheduler.js';
import { validateConsumerOptions, validateRecords, validateTopicName, validateTopicSpecs } from './validate.js';

/** The pino-compatible subset the embedded log logs with. */
export interface EmbeddedLogLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface EmbeddedLogOptions {
  /** The folder of the log (created when missing). Only one process may open it at a time. */
  dir: string;
  /** Partitions of a topic created implicitly by a send or a subscription. Default 1 (Kafka's `num.partitions`). */
  defaultPartitions?: number;
  /** Create unknown topics on first send or subscription, as Kafka's `auto.create.topics.enable`. Default true. */
  autoCreateTopics?: boolean;
  /** Segment files roll at this size. Default 64 MiB. */
  segmentBytes?: number;
  /** Largest record accepted (key + value + headers). Default MAX_RECORD_BYTES, what Kafka takes by default. */
  maxRecordBytes?: number;
  /** Soft limit of the bytes one fetch returns. Default 8 MiB. */
  maxFetchBytes?: number;
  logger?: EmbeddedLogLogger;
  /** Epoch milliseconds, for default record timestamps and retention. Default `Date.now`. */
  clock?: () => number;
}

interface Topic {
  spec: TopicSpec;
  partitions: PartitionLog[];
}

/** Frames claiming more are garbage lengths (a torn tail), whatever maxRecordBytes is now. */
const MAX_FRAME_BODY_BYTES = 1 << 30;

const silent: EmbeddedLogLogger = { debug() {}, info() {}, warn() {}, error() {} };

function writeFileAtomic(path: string, content: string): void {
  const temp = `${path}.tmp`;
  writeFileSync(temp, content);
  const fd = openSync(temp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Opens (or creates) the embedded log in `options.dir`. */
export async function createEmbeddedLog(options: EmbeddedLogOptions): Promise<Log> {
  if (!options || typeof options.dir !== 'string' || options.dir === '') throw new TypeError('createEmbeddedLog: options.dir must be a non-empty folder path');
  const defaultPartitions = options.defaultPartitions ?? 1;
  if (!Number.isInteger(defaultPartitions) || defaultPartitions < 1) throw new RangeError(`createEmbeddedLog: options.defaultPartitions must be a positive integer, got ${String(options.defaultPartitions)}`);
  const autoCreateTopics = options.autoCreateTopics ?? true;
  const segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024;
  const maxRecordBytes = options.maxRecordBytes ?? MAX_RECORD_BYTES;
  const maxFetchBytes = options.maxFetchBytes ?? 8 * 1024 * 1024;
  const logger = options.logger ?? silent;
  const clock = options.clock ?? Date.now;
  const { dir } = options;

  mkdirSync(join(dir, 'topics'), { recursive: true });
  const lock: DirLock = acquireDirLock(dir);
  const topics = new Map<string, Topic>();
  let offsets: OffsetsStore;

  const openPartition = (topic: string, partition: number, spec: TopicSpec) =>
    PartitionLog.open({
      dir: join(dir, 'topics', topic, String(partition)),
      segmentBytes,
      // Not maxRecordBytes: reopening with a smaller limit must not take old records for garbage.
      maxBodyBytes: MAX_FRAME_BODY_BYTES,
      retentionMs: spec.retentionMs,
      now: clock,
      onTruncate: (info) => logger.warn({ ...info, topic, partition }, 'embedded log: cut a torn tail left by a crash'),
    });

  try {
    for (const name of readdirSync(join(dir, 'topics'))) {
      const meta = join(dir, 'topics', name, 'topic.json');
      if (!existsSync(meta)) continue; // creation interrupted before its commit point: not a topic
      let spec: TopicSpec;
      try {
        spec = JSON.parse(readFileSync(meta, 'utf8')) as TopicSpec;
      } catch (error) {
        throw new Error(`embedded log: cannot read the topic description ${meta}: ${(error as Error).message}`, { cause: error });
      }
      const partitions: PartitionLog[] = [];
      topics.set(name, { spec, partitions });
      for (let p = 0; p < spec.partitions; p++) partitions.push(openPartition(name, p, spec));
    }
    offsets = OffsetsStore.open(join(dir, 'groups'));
  } catch (error) {
    for (const t of topics.values()) for (const p of t.partitions) p.close();
    lock.release();
    throw error;
  }
  logger.info({ dir, topics: topics.size }, 'embedded log: opened');

  let closed = false;
  let failure: LogUnavailableError | null = null;
  const consumers = new Set<EmbeddedConsumer>();
  const coordinator = new GroupCoordinator((topic) => topics.get(topic)?.partitions.length ?? 0);

  function check(): void {
    if (closed) throw new LogUnavailableError(`embedded log: ${dir} is closed`);
    if (failure) throw failure;
  }

  const scheduler = new SyncScheduler({
    onDurable(partitions) {
      if (partitions.length === 0) return;
      for (const c of consumers) c.wake();
    },
    onFailure(error) {
      logger.error({ err: error, dir }, 'embedded log: fsync failed; refusing further writes');
      failure ??= new LogUnavailableError(`embedded log: fsync failed in ${dir}; what was written since the last good fsync is in doubt, so the log refuses work until it is reopened: ${(error as Error).message}`, { cause: error });
    },
  });

  function createTopic(spec: TopicSpec): Topic {
    const existing = topics.get(spec.name);
    if (existing) return existing;
    const topicDir = join(dir, 'topics', spec.name);
    mkdirSync(topicDir, { recursive: true });
    const partitions: PartitionLog[] = [];
    for (let p = 0; p < spec.partitions; p++) partitions.push(openPartition(spec.name, p, spec));
    const stored: TopicSpec = { name: spec.name, partitions: spec.partitions, ...(spec.retentionMs === undefined ? {} : { retentionMs: spec.retentionMs }) };
    writeFileAtomic(join(topicDir, 'topic.json'), JSON.stringify(stored));
    fsyncDir(topicDir);
    fsyncDir(join(dir, 'topics'));
    const topic = { spec: stored, partitions };
    topics.set(spec.name, topic);
    logger.info({ topic: spec.name, partitions: spec.partitions }, 'embedded log: created topic');
    return topic;
  }

  function topicOf(name: string, where: string, create = autoCreateTopics): Topic {
    const topic = topics.get(name);
    if (topic) return topic;
    if (!create) throw new Error(`embedded log: ${where}: topic "${name}" does not exist (create it with admin.createTopics, or open the log with autoCreateTopics)`);
    validateTopicName(name, where);
    return createTopic({ name, partitions: defaultPartitions });
  }

  const context: ConsumerContext = {
    partitionLog: (topic, partition) => topics.get(topic)?.partitions[partition],
    get offsets() {
      return offsets;
    },
    coordinator,
    check,
    maxFetchBytes,
    closed: (consumer) => consumers.delete(consumer),
    logger,
  };

  async function send(records: OutgoingRecord[]): Promise<RecordMetadata[]> {
    check();
    validateRecords(records, maxRecordBytes);
    const now = clock();
    const byPartition = new Map<PartitionLog, { records: NewRecord[]; indexes: number[]; topic: string; partition: number }>();
    for (const [i, r] of records.entries()) {
      const topic = topicOf(r.topic, `send: records[${i}]`);
      const partition = partitionFor(r.key, topic.partitions.length);
      const log = topic.partitions[partition]!;
      let group = byPartition.get(log);
      if (!group) byPartition.set(log, (group = { records: [], indexes: [], topic: r.topic, partition }));
      group.records.push({ key: r.key, value: r.value, headers: r.headers ?? {}, timestamp: r.timestamp ?? now });
      group.indexes.push(i);
    }
    const metadata: RecordMetadata[] = new Array(records.length);
    for (const [log, group] of byPartition) {
      let first: number;
      try {
        first = log.append(group.records);
      } catch (error) {
        throw new LogUnavailableError(`embedded log: cannot write to ${group.topic}/${group.partition}: ${(error as Error).message}`, { cause: error });
      }
      group.indexes.forEach((index, k) => (metadata[index] = { topic: group.topic, partition: group.partition, offset: BigInt(first + k) }));
    }
    try {
      await scheduler.request(byPartition.keys());
    } catch (error) {
      throw failure ?? new LogUnavailableError(`embedded log: fsync failed: ${(error as Error).message}`, { cause: error });
    }
    return metadata;
  }

  const admin: LogAdmin = {
    async createTopics(specs) {
      check();
      validateTopicSpecs(specs);
      for (const spec of specs) createTopic(spec);
    },
    async endOffsets(topic) {
      check();
      const t = topicOf(topic, 'endOffsets', false);
      return t.partitions.map((p, partition) => ({ topic, partition, offset: BigInt(p.durableEnd) }));
    },
    async committedOffsets(groupId, topic) {
      check();
      topicOf(topic, 'committedOffsets', false);
      return offsets.ofTopic(groupId, topic).map(({ partition, offset }) => ({ topic, partition, offset: BigInt(offset) }));
    },
    async resetOffsets(groupId, topic, to) {
      check();
      const t = topicOf(topic, 'resetOffsets', false);
      const members = coordinator.memberCount(groupId);
      if (members > 0) throw new Error(`embedded log: resetOffsets: group "${groupId}" has ${members} active consumer(s); close them before resetting its offsets`);
      let target: (p: PartitionLog) => number;
      if (to === 'earliest') target = (p) => p.startOffset;
      else if (to === 'latest') target = (p) => p.durableEnd;
      else if (to && typeof to === 'object' && Number.isFinite(to.timestamp)) target = (p) => p.offsetForTime(to.timestamp);
      else throw new Error(`embedded log: resetOffsets: "to" must be 'earliest', 'latest' or { timestamp: <epoch ms> }, got ${JSON.stringify(to)}`);
      const result: TopicPartitionOffset[] = t.partitions.map((p, partition) => ({ topic, partition, offset: BigInt(target(p)) }));
      try {
        await offsets.commit(groupId, result.map((o) => ({ topic, partition: o.partition, offset: Number(o.offset) })));
      } catch (error) {
        throw new LogUnavailableError(`embedded log: cannot persist the offsets of group "${groupId}": ${(error as Error).message}`, { cause: error });
      }
      return result;
    },
    async deleteGroup(groupId) {
      check();
      const members = coordinator.memberCount(groupId);
      if (members > 0) throw new Error(`embedded log: deleteGroup: group "${groupId}" has ${members} active consumer(s); close them first`);
      try {
        await offsets.forget(groupId);
      } catch (error) {
        throw new LogUnavailableError(`embedded log: cannot remove the offsets of group "${groupId}": ${(error as Error).message}`, { cause: error });
      }
    },
    async ping() {
      check();
    },
  };

  return {
    kind: 'embedded',
    admin,
    producer(): LogProducer {
      let producerClosed = false;
      return {
        async send(records) {
          if (producerClosed) throw new LogUnavailableError('embedded log: this producer is closed');
          return send(records);
        },
        async close() {
          producerClosed = true;
        },
      };
    },
    consumer(consumerOptions: ConsumerOptions): LogConsumer {
      let failed: Error | undefined;
      try {
        check();
        validateConsumerOptions(consumerOptions);
        for (const topic of consumerOptions.topics) topicOf(topic, `consumer: topics`);
      } catch (error) {
        failed = error as Error;
      }
      const consumer = new EmbeddedConsumer(context, consumerOptions, failed);
      if (!failed) consumers.add(consumer);
      return consumer;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const c of [...consumers]) await c.close();
      await scheduler.drain();
      await offsets.flush();
      for (const t of topics.values()) for (const p of t.partitions) p.close();
      lock.release();
      logger.info({ dir }, 'embedded log: closed');
    },
  };
}
