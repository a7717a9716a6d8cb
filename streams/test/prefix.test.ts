/** withTopicPrefix: a transform moved onto renamed topics emits to the renamed outputs, and says so when it strays. */
import { makeTrace, type Trace } from '@metronis/schemas';
import { describe, expect, it } from 'vitest';
import { TOPICS, withTopicPrefix, type Output, type RecordMeta, type TransformTopology } from '../src/index.js';

const META: RecordMeta = { topic: 'x', partition: 0, offset: 0n, key: null, headers: {}, timestamp: 0 };

function transform(emit: (trace: Trace) => Output[]): TransformTopology<'Trace'> {
  return { kind: 'transform', name: 'echo', groupId: 'metronis.echo.v1', input: TOPICS.traces, outputs: [TOPICS.verdicts], process: emit };
}

describe('withTopicPrefix', () => {
  it('renames the input, the outputs and the group, and sends each output to its renamed topic', async () => {
    const trace = makeTrace();
    const { topology, input, topics } = withTopicPrefix(
      transform((t) => [{ topic: TOPICS.verdicts, value: { trace_id: t.trace_id } as never }]),
      'bench-1',
    );
    expect(input.name).toBe(`bench-1.${TOPICS.traces.name}`);
    expect(topology.groupId).toBe('bench-1.metronis.echo.v1');
    expect(topics.map((t) => t.name)).toEqual([`bench-1.${TOPICS.traces.name}`, `bench-1.${TOPICS.verdicts.name}`]);
    const [out] = await topology.process(trace, META);
    expect(out!.topic.name).toBe(`bench-1.${TOPICS.verdicts.name}`);
    expect(out!.topic.partitions).toBe(TOPICS.verdicts.partitions);
  });

  it('refuses an output to a topic the topology did not declare, naming it', async () => {
    const { topology } = withTopicPrefix(
      transform(() => [{ topic: TOPICS.evaluations, value: {} as never }]),
      'bench-2',
    );
    await expect(topology.process(makeTrace(), META)).rejects.toThrow(`echo emitted to ${TOPICS.evaluations.name}, which is not among its outputs`);
  });
});
