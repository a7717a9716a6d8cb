/**
 * Replay: re-run a consumer group over history by moving its committed offsets back, to the start of
 * the topic or to the first record at or after a time. The group must have no running members
 * (stop its workers first); they resume from the new offsets when started again.
 *
 * @example
 *   await replay(log, { groupId: 'metronis.tier1.v1', topic: TOPICS.traces, from: new Date('2026-05-01') });
 */
import type { Log, TopicPartitionOffset } from '../log.js';
import type { TopicDef } from '../topics.js';

export interface ReplayOptions {
  groupId: string;
  topic: string | TopicDef;
  from: 'earliest' | Date;
}

export async function replay(log: Log, options: ReplayOptions): Promise<TopicPartitionOffset[]> {
  const { groupId, from } = options;
  const topic = typeof options.topic === 'string' ? options.topic : options.topic?.name;
  if (typeof groupId !== 'string' || groupId.length === 0) throw new TypeError(`replay: groupId must be a non-empty string, got ${JSON.stringify(groupId)}`);
  if (typeof topic !== 'string' || topic.length === 0) throw new TypeError(`replay: topic must be a non-empty string or a topic definition, got ${JSON.stringify(options.topic)}`);
  if (from !== 'earliest' && !(from instanceof Date && !Number.isNaN(from.getTime()))) {
    throw new TypeError(`replay: from must be 'earliest' or a valid Date, got ${String(from)}`);
  }
  return log.admin.resetOffsets(groupId, topic, from === 'earliest' ? 'earliest' : { timestamp: from.getTime() });
}
