/**
 * A topology as text, for `metronis describe` and logs:
 *
 *   topology tier1 (transform)
 *     group:   metronis.tier1.v1
 *     input:   metronis.traces.v1 (Trace)
 *     outputs: metronis.evaluations.v1 (TierResult), metronis.verdicts.v1 (Verdict)
 *     dlq:     metronis.dlq.v1
 */
import type { TopicSpec } from '../log.js';
import { DLQ_TOPIC, type TopicDef } from '../topics.js';
import type { Topology } from './types.js';

const topicText = (topic: TopicDef) => `${topic.name} (${topic.schema})`;

export function describeTopology(topology: Topology): string {
  const lines = [`topology ${topology.name} (${topology.kind})`, `  group:   ${topology.groupId}`, `  input:   ${topicText(topology.input)}`];
  if (topology.kind === 'transform') {
    lines.push(`  outputs: ${topology.outputs === undefined ? '(not declared)' : topology.outputs.length === 0 ? '(none)' : topology.outputs.map(topicText).join(', ')}`);
  } else {
    const { maxRecords, maxWaitMs, idleMs } = topology.batch;
    lines.push(`  writes:  batches of up to ${maxRecords} records, at most ${maxWaitMs} ms after the first${idleMs === undefined ? '' : `, or once the input is idle for ${idleMs} ms`}`);
  }
  lines.push(`  dlq:     ${DLQ_TOPIC}`);
  return lines.join('\n');
}

/** The topics a topology reads and writes (input, declared outputs, DLQ), to create before running it. */
export function topologyTopics(topology: Topology, options: { dlqPartitions?: number } = {}): TopicSpec[] {
  const topics: TopicDef[] = [topology.input, ...(topology.kind === 'transform' ? (topology.outputs ?? []) : [])];
  const specs = new Map<string, TopicSpec>(topics.map((t) => [t.name, { name: t.name, partitions: t.partitions }]));
  specs.set(DLQ_TOPIC, { name: DLQ_TOPIC, partitions: options.dlqPartitions ?? 6 });
  return [...specs.values()];
}
