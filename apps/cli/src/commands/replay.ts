/**
 * `metronis replay --topology <name> --from <time|earliest>`: re-runs a topology over history by
 * moving its consumer groups' offsets. The topology's workers must be stopped first (a group with
 * active members cannot be moved); when they start again they re-process from there, and the
 * idempotent sinks make the re-run land once.
 */
import { replay as replayGroup, type Log } from '@metronis/streams';
import type { Logger } from '../logger.js';
import type { TopologyDescriptor } from '../topologies.js';

export function parseFrom(from: string): 'earliest' | Date {
  if (from === 'earliest') return 'earliest';
  const time = /^\d+$/.test(from) ? new Date(Number(from)) : new Date(from);
  if (Number.isNaN(time.getTime())) throw new Error(`--from must be 'earliest', an ISO 8601 time or epoch milliseconds, got '${from}'`);
  return time;
}

export async function replay(log: Log, topologies: TopologyDescriptor[], from: 'earliest' | Date, logger: Logger): Promise<void> {
  for (const topology of topologies) {
    const offsets = await replayGroup(log, { groupId: topology.groupId, topic: topology.input.name, from });
    logger.info({ topology: topology.name, group: topology.groupId, offsets: offsets.map((o) => `${o.partition}:${o.offset}`) }, 'offsets moved');
  }
}
