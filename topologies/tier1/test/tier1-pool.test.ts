/**
 * Tier 1 with its modules on the evaluation pool (worker threads): the real runner on the embedded
 * log. A trace past the deadline still gets its tier result and its verdict, labelled, and the
 * partition moves on to the next trace.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEvaluationPool, parsePolicy, type EvaluationPool, type Policy } from '@metronis/evaluators';
import { makeTrace, type RecordTypes, type SchemaName, type Trace } from '@metronis/schemas';
import { createEmbeddedLog, createInProcessRegistry, createSerde, runTopology, topologyTopics, TOPICS, type Log, type RunnerHandle, type Serde, type TopicDef } from '@metronis/streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tier1Topology } from '../src/index.js';

let dir: string;
let log: Log;
let serde: Serde;
let runner: RunnerHandle;
let pool: EvaluationPool;
const policy: Policy = parsePolicy({ modules: { format: { enabled: false }, safety: { enabled: false }, pii: { enabled: false } } });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'metronis-tier1-pool-'));
  log = await createEmbeddedLog({ dir });
  // 1 ms: far below what a ~1 MB trace (just under the log's record limit) costs, so the deadline certainly fires for it.
  pool = createEvaluationPool({ threads: 1, deadlineMs: 1 });
  const topology = tier1Topology({ policies: { get: async () => policy }, evaluator: pool });
  await log.admin.createTopics(topologyTopics(topology, { dlqPartitions: 1 }));
  serde = createSerde(createInProcessRegistry());
  runner = runTopology(topology, { log, serde, logger: { info() {}, warn() {}, error() {} }, retry: { initialMs: 5, maxMs: 20 }, consumer: { maxWaitMs: 20 } });
}, 60_000);

afterAll(async () => {
  await runner?.stop();
  await pool?.close();
  await log?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function read<N extends SchemaName>(topic: TopicDef<N>, keys: string[]): Promise<Map<string, RecordTypes[N]>> {
  const topicSerde = await serde.forTopic(topic);
  const consumer = log.consumer({ groupId: `reader-${Math.random()}`, topics: [topic.name], maxWaitMs: 20 });
  const found = new Map<string, RecordTypes[N]>();
  const deadline = Date.now() + 60_000;
  try {
    for await (const batch of consumer.batches()) {
      for (const record of batch) if (record.key !== null && keys.includes(record.key)) found.set(record.key, await topicSerde.decode(record.value));
      if (found.size === keys.length || Date.now() > deadline) break;
    }
  } finally {
    await consumer.close();
  }
  return found;
}

describe('tier1 on the evaluation pool', () => {
  it('gives a trace past its deadline a labelled result and a verdict, and moves on to the next', async () => {
    const big = makeTrace({ org_id: 'org_pool_a', output: { content: 'The quick brown fox jumps over the lazy dog near Paris in 2024. '.repeat(15_000), finish_reason: 'stop' } });
    const next = makeTrace({ org_id: 'org_pool_b', output: { content: 'Paris is the capital of France.', finish_reason: 'stop' } });
    const traces: Trace[] = [big, next];
    const traceSerde = await serde.forTopic(TOPICS.traces);
    await log.producer().send(traces.map((t) => ({ topic: TOPICS.traces.name, key: t.trace_id, value: traceSerde.encode(t) })));
    const ids = traces.map((t) => t.trace_id);
    const results = await read(TOPICS.evaluations, ids);
    const verdicts = await read(TOPICS.verdicts, ids);
    expect([...results.keys()].sort()).toEqual([...ids].sort());
    expect([...verdicts.keys()].sort()).toEqual([...ids].sort());
    const bigResult = results.get(big.trace_id)!;
    expect(bigResult.modules.map((m) => m.module)).toEqual(['consistency', 'quality']);
    expect(bigResult.modules.some((m) => m.labels.includes('deadline_exceeded'))).toBe(true);
    expect(Number.isFinite(bigResult.score)).toBe(true);
    expect(verdicts.get(big.trace_id)).toMatchObject({ trace_id: big.trace_id, org_id: 'org_pool_a', tier: 1 });
    expect(results.get(next.trace_id)!.modules.map((m) => m.module)).toEqual(['consistency', 'quality']);
    expect(pool.stats().interrupted).toBeGreaterThan(0);
  });
});
