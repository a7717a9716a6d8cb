/**
 * A transform topology moved onto a throwaway set of topics: its input, its outputs and its consumer
 * group renamed under `<prefix>.`, so that a benchmark on a shared broker touches none of the real
 * ones. Returns the topics to create with it.
 *
 * @example
 *   const { topology, topics } = withTopicPrefix(tier1Topology(deps), `bench-${Date.now()}`);
 *   await log.admin.createTopics(topics.map((t) => ({ name: t.name, partitions: t.partitions })));
 */
import type { SchemaName } from '@metronis/schemas';
import type { TopicDef } from '../topics.js';
import type { Output, TransformTopology } from './types.js';

export function withTopicPrefix<N extends SchemaName>(inner: TransformTopology<N>, prefix: string): { topology: TransformTopology<N>; input: TopicDef<N>; topics: TopicDef[] } {
  const rename = <T extends TopicDef>(t: T): T => ({ ...t, name: `${prefix}.${t.name}` });
  const byName = new Map<string, TopicDef>((inner.outputs ?? []).map((t) => [t.name, rename(t)]));
  const input = rename(inner.input);
  const topology: TransformTopology<N> = {
    ...inner,
    groupId: `${prefix}.${inner.groupId}`,
    input,
    outputs: [...byName.values()],
    async process(value, meta) {
      const outputs = await inner.process(value, meta);
      return outputs.map((o) => {
        const topic = byName.get(o.topic.name);
        if (topic === undefined) throw new Error(`${inner.name} emitted to ${o.topic.name}, which is not among its outputs`);
        return { ...o, topic } as Output;
      });
    },
  };
  return { topology, input, topics: [input, ...byName.values()] };
}
