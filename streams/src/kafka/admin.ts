/**
 * The Kafka admin side of the log: topics, offsets, and the group offset reset that replay is built on.
 * Every call is bounded by `requestTimeoutMs` and fails with `LogUnavailableError` when the broker
 * cannot be reached; bad arguments fail with a TypeError naming them.
 *
 * @example
 *   const admin = createKafkaAdmin(options);
 *   await admin.createTopics([{ name: 'metronis.traces.v1', partitions: 6 }]);
 *   await admin.resetOffsets('tier1', 'metronis.traces.v1', { timestamp: Date.parse('2026-01-01') });
 */
import { Admin, FetchIsolationLevels, ListOffsetTimestamps } from '@platformatic/kafka';
import type { LogAdmin, TopicPartitionOffset, TopicSpec } from '../log.js';
import { describeKafkaError, hasKafkaErrorId, isRetriableProtocolError, toLogError, withDeadline } from './errors.js';
import type { ResolvedKafkaLogOptions } from './options.js';

export interface KafkaLogAdmin extends LogAdmin {
  close(): Promise<void>;
}

const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;

function checkTopicName(where: string, topic: unknown): asserts topic is string {
  if (typeof topic !== 'string' || !TOPIC_NAME.test(topic)) {
    throw new TypeError(`${where}: "${String(topic)}" is not a Kafka topic name (letters, digits, ".", "_", "-"; at most 249)`);
  }
}

function checkGroupId(where: string, groupId: unknown): asserts groupId is string {
  if (typeof groupId !== 'string' || groupId.length === 0) throw new TypeError(`${where}: groupId must be a non-empty string`);
}

const byPartition = (a: TopicPartitionOffset, b: TopicPartitionOffset) => a.partition - b.partition;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createKafkaAdmin(options: ResolvedKafkaLogOptions): KafkaLogAdmin {
  const { logger, requestTimeoutMs } = options;
  let client: Admin | undefined;

  function admin(): Admin {
    client ??= new Admin({
      clientId: `${options.clientId}-admin`,
      bootstrapBrokers: options.brokers,
      timeout: requestTimeoutMs,
      connectTimeout: Math.min(requestTimeoutMs, 5_000),
      retries: 2,
      retryDelay: 250,
    });
    return client;
  }

  /**
   * Runs one admin operation within the deadline, mapping broker failures to LogUnavailableError.
   * A retriable protocol answer (the group coordinator moving or still loading, a leader election) is
   * retried with backoff until the deadline: the client's own two retries 250 ms apart are shorter
   * than a coordinator takes to load after a broker restart. Every operation sent through here is
   * idempotent (reads, and offset writes of absolute values).
   */
  async function call<T>(action: string, work: (admin: Admin) => Promise<T>): Promise<T> {
    const deadline = Date.now() + requestTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await withDeadline(work(admin()), Math.max(1, deadline - Date.now()), action);
      } catch (error) {
        const backoffMs = Math.min(1_000, 100 * 2 ** attempt);
        if (isRetriableProtocolError(error) && Date.now() + backoffMs < deadline) {
          logger.debug({ action, attempt, err: describeKafkaError(error) }, 'Kafka admin call answered a retriable error; retrying');
          await sleep(backoffMs);
          continue;
        }
        const message = describeKafkaError(error);
        if (/Unknown topic/i.test(message)) throw new Error(`Kafka ${action} failed: ${message}`, { cause: error });
        throw toLogError(error, action);
      }
    }
  }

  async function partitionCount(topic: string, action: string): Promise<number> {
    const metadata = await call(action, (a) => a.metadata({ topics: [topic], forceUpdate: true }));
    const count = metadata.topics.get(topic)?.partitionsCount;
    if (!count) throw new Error(`Kafka ${action} failed: topic ${topic} does not exist`);
    return count;
  }

  async function listOffsets(topic: string, timestamp: bigint, action: string): Promise<TopicPartitionOffset[]> {
    const count = await partitionCount(topic, action);
    const partitions = Array.from({ length: count }, (_, partitionIndex) => ({ partitionIndex, timestamp }));
    const listed = await call(action, (a) =>
      a.listOffsets({ topics: [{ name: topic, partitions }], isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED }),
    );
    const out: TopicPartitionOffset[] = [];
    for (const t of listed) for (const p of t.partitions) out.push({ topic: t.name, partition: p.partitionIndex, offset: p.offset });
    return out.sort(byPartition);
  }

  /** Waits until the broker reports a leader for every partition, so a send right after creation finds it. */
  async function awaitLeaders(topics: TopicSpec[]): Promise<void> {
    const deadline = Date.now() + requestTimeoutMs;
    for (;;) {
      const metadata = await call('createTopics', (a) => a.metadata({ topics: topics.map((t) => t.name), forceUpdate: true })).catch(() => undefined);
      const ready = metadata !== undefined && topics.every((t) => {
        const info = metadata.topics.get(t.name);
        return info !== undefined && info.partitions.length > 0 && info.partitions.every((p) => p !== undefined && p.leader >= 0);
      });
      if (ready) return;
      if (Date.now() > deadline) throw toLogError(new Error('the new topics have no partition leaders yet'), 'createTopics');
      await sleep(100);
    }
  }

  return {
    async createTopics(topics: TopicSpec[]): Promise<void> {
      if (!Array.isArray(topics)) throw new TypeError('createTopics: topics must be an array of { name, partitions, retentionMs? }');
      for (const [i, spec] of topics.entries()) {
        checkTopicName(`createTopics: topic ${i}`, spec?.name);
        if (!Number.isInteger(spec.partitions) || spec.partitions <= 0) throw new TypeError(`createTopics: topic ${spec.name}: partitions must be a positive integer`);
        if (spec.retentionMs !== undefined && (!Number.isInteger(spec.retentionMs) || spec.retentionMs < -1)) {
          throw new TypeError(`createTopics: topic ${spec.name}: retentionMs must be an integer (milliseconds, or -1 for forever)`);
        }
      }
      if (topics.length === 0) return;
      for (const spec of topics) {
        const configs = spec.retentionMs === undefined ? [] : [{ name: 'retention.ms', value: String(spec.retentionMs) }];
        try {
          await withDeadline(admin().createTopics({ topics: [spec.name], partitions: spec.partitions, replicas: -1, configs }), requestTimeoutMs, 'createTopics');
          logger.info({ topic: spec.name, partitions: spec.partitions }, 'created Kafka topic');
        } catch (error) {
          if (!hasKafkaErrorId(error, 'TOPIC_ALREADY_EXISTS')) throw toLogError(error, `createTopics (${spec.name})`);
        }
      }
      await awaitLeaders(topics);
    },

    async endOffsets(topic: string): Promise<TopicPartitionOffset[]> {
      checkTopicName('endOffsets', topic);
      return listOffsets(topic, ListOffsetTimestamps.LATEST, `endOffsets (${topic})`);
    },

    async committedOffsets(groupId: string, topic: string): Promise<TopicPartitionOffset[]> {
      checkGroupId('committedOffsets', groupId);
      checkTopicName('committedOffsets', topic);
      const action = `committedOffsets (${groupId}, ${topic})`;
      const count = await partitionCount(topic, action);
      const partitionIndexes = Array.from({ length: count }, (_, i) => i);
      const groups = await call(action, (a) => a.listConsumerGroupOffsets({ groups: [{ groupId, topics: [{ name: topic, partitionIndexes }] }] }));
      const out: TopicPartitionOffset[] = [];
      for (const group of groups) {
        for (const t of group.topics) {
          for (const p of t.partitions) if (p.committedOffset >= 0n) out.push({ topic: t.name, partition: p.partitionIndex, offset: p.committedOffset });
        }
      }
      return out.sort(byPartition);
    },

    async resetOffsets(groupId, topic, to): Promise<TopicPartitionOffset[]> {
      checkGroupId('resetOffsets', groupId);
      checkTopicName('resetOffsets', topic);
      let timestamp: bigint;
      if (to === 'earliest') timestamp = ListOffsetTimestamps.EARLIEST;
      else if (to === 'latest') timestamp = ListOffsetTimestamps.LATEST;
      else if (to !== null && typeof to === 'object' && Number.isFinite(to.timestamp) && to.timestamp >= 0) timestamp = BigInt(Math.trunc(to.timestamp));
      else throw new TypeError(`resetOffsets: "to" must be "earliest", "latest" or { timestamp: epoch milliseconds }, got ${JSON.stringify(to)}`);
      const action = `resetOffsets (${groupId}, ${topic})`;

      const groups = await call(action, (a) => a.describeGroups({ groups: [groupId] }));
      const group = groups.get(groupId);
      if (group && group.members.size > 0) {
        throw new Error(
          `Cannot reset the offsets of consumer group "${groupId}": it has ${group.members.size} active member(s) (state ${group.state}). Stop its consumers first.`,
        );
      }

      let offsets = await listOffsets(topic, timestamp, action);
      if (typeof to === 'object') {
        // No record at or after the time: the group starts at the end, as kafka-consumer-groups --to-datetime does.
        const ends = await listOffsets(topic, ListOffsetTimestamps.LATEST, action);
        offsets = offsets.map((o) => (o.offset >= 0n ? o : { ...o, offset: ends.find((e) => e.partition === o.partition)!.offset }));
      }
      await call(action, (a) =>
        a.alterConsumerGroupOffsets({ groupId, topics: [{ name: topic, partitionOffsets: offsets.map((o) => ({ partition: o.partition, offset: o.offset })) }] }),
      ).catch((error: unknown) => {
        if (hasKafkaErrorId(error, 'UNKNOWN_MEMBER_ID') || hasKafkaErrorId(error, 'REBALANCE_IN_PROGRESS')) {
          throw new Error(`Cannot reset the offsets of consumer group "${groupId}": a member joined while resetting. Stop its consumers first.`, { cause: error });
        }
        throw error;
      });
      logger.info({ groupId, topic, to, offsets: offsets.map((o) => `${o.partition}:${o.offset}`) }, 'reset consumer group offsets');
      return offsets;
    },

    async deleteGroup(groupId: string): Promise<void> {
      checkGroupId('deleteGroup', groupId);
      const action = `deleteGroup (${groupId})`;
      await call(action, (a) => a.deleteGroups({ groups: [groupId] })).catch((error: unknown) => {
        if (hasKafkaErrorId(error, 'GROUP_ID_NOT_FOUND')) return;
        if (hasKafkaErrorId(error, 'NON_EMPTY_GROUP')) throw new Error(`Cannot delete consumer group "${groupId}": it has active members. Stop its consumers first.`, { cause: error });
        throw error;
      });
    },

    async ping(): Promise<void> {
      await call('ping', (a) => a.metadata({ topics: [], forceUpdate: true }));
    },

    async close(): Promise<void> {
      const old = client;
      client = undefined;
      if (old) await old.close().catch((error: unknown) => logger.debug({ err: describeKafkaError(error) }, 'closing the Kafka admin client failed'));
    },
  };
}
