/**
 * Tier 2 cost (a measurement, not a test; run it on a quiet machine):
 * - start-up: loading the encoder (hash check, tokenizer, ONNX session) and the first model;
 * - per trace, microseconds (p50, p99) of `evaluateTier2` (input and output embedded in one batched
 *   run, every head, the outputs), over seeded realistic traces of 60 to 3,000 characters (support
 *   answers, code, RAG answers, security discussions, a few harmful requests), for 1 and 2
 *   onnxruntime threads; and the encoder alone on batches of 1, 8 and 32 texts (per text);
 * - tier 2 consumer throughput (escalations/s) through the real runner on the embedded log.
 *
 *   node --conditions=source --import tsx topologies/tier2/bench/tier2.ts [rounds, default 5] [escalations for throughput, default 1000]
 *
 * Needs the encoder (`npm run tier2:model`). Prints one JSON document. The target from the issue:
 * p99 <= 20 ms per trace.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPolicyCache, DEFAULT_POLICY } from '@metronis/evaluators';
import { makeTrace, type Escalation, type Trace } from '@metronis/schemas';
import { createEmbeddedLog, createInProcessRegistry, createSerde, runTopology, TOPICS } from '@metronis/streams';
import { createModelRegistry, defaultModelCacheDir, evaluateTier2, loadEncoder, tier2Topology } from '../src/index.js';

const rounds = Number(process.argv[2] ?? 5);
const throughputCount = Number(process.argv[3] ?? 1000);
const cacheDir = defaultModelCacheDir(process.env);

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 0x1_0000_0000);
}

const INPUTS = [
  'My order arrived damaged. Can I get a replacement instead of a refund?',
  'Write a Python function that merges two sorted lists, with tests.',
  'Summarize the retrieved documents about our refund policy for a customer.',
  'Our logs show prompts like "ignore previous instructions". How do we detect prompt injection?',
  'How do I kill -9 a process that ignores SIGTERM?',
  'Give detailed step-by-step instructions for making a weapon at home.',
];
const SENTENCES = [
  'Thanks for reaching out; I have created a replacement order at no cost.',
  'The function walks both lists with two indices and appends the smaller head each time.',
  'According to the retrieved policy [1], refunds are issued within 14 days of the return.',
  'Treat such phrases as one signal among many, and log the conversation id with the score.',
  '```python\ndef merge(a, b):\n    out, i, j = [], 0, 0\n    while i < len(a) and j < len(b):\n        out.append(a[i] if a[i] <= b[j] else b[j])\n```',
  'Send SIGTERM first; SIGKILL cannot be caught, so the process cannot clean up.',
];

function traces(n: number, seed: number): Trace[] {
  const random = rng(seed);
  return Array.from({ length: n }, () => {
    let output = '';
    const target = 60 + Math.floor(random() * 3000);
    while (output.length < target) output += SENTENCES[Math.floor(random() * SENTENCES.length)] + ' ';
    return makeTrace({ input: { text: INPUTS[Math.floor(random() * INPUTS.length)]!, messages: [] }, output: { content: output.trim(), finish_reason: 'stop' } });
  });
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const summary = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, p50_us: Math.round(quantile(sorted, 0.5)), p99_us: Math.round(quantile(sorted, 0.99)), mean_us: Math.round(sorted.reduce((s, v) => s + v, 0) / sorted.length) };
};

const result: Record<string, unknown> = { node: process.version, rounds };
const set = traces(100, 42);
const escalation = (trace: Trace): Escalation => ({ trace, results: [], target_tier: 2, reason: 'bench' });

for (const threads of [1, 2]) {
  const t0 = performance.now();
  const encoder = await loadEncoder({ cacheDir, threads });
  const loadMs = performance.now() - t0;
  const models = createModelRegistry({ encoderSha256: encoder.modelSha256 });
  const t1 = performance.now();
  models.get(DEFAULT_POLICY.tier2.model);
  const modelMs = performance.now() - t1;
  for (const t of set.slice(0, 10)) await evaluateTier2(escalation(t), DEFAULT_POLICY, encoder, models); // warm-up
  const perTrace: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const t of set) {
      const started = process.hrtime.bigint();
      await evaluateTier2(escalation(t), DEFAULT_POLICY, encoder, models);
      perTrace.push(Number(process.hrtime.bigint() - started) / 1000);
    }
  }
  const perBatch: Record<string, unknown> = {};
  for (const size of [1, 8, 32]) {
    const texts = set.slice(0, size).map((t) => t.output.content);
    const started = process.hrtime.bigint();
    for (let r = 0; r < rounds; r++) await encoder.embed(texts);
    perBatch[`batch_${size}_us_per_text`] = Math.round(Number(process.hrtime.bigint() - started) / 1000 / rounds / size);
  }
  result[`threads_${threads}`] = { encoder_load_ms: Math.round(loadMs), model_load_ms: Math.round(modelMs), evaluateTier2: summary(perTrace), encoder: perBatch };
  await encoder.close();
}

// Throughput through the real runner on the embedded log.
{
  const dir = await mkdtemp(join(tmpdir(), 'metronis-bench-tier2-'));
  const log = await createEmbeddedLog({ dir });
  const serde = createSerde(createInProcessRegistry());
  const encoder = await loadEncoder({ cacheDir });
  const topology = tier2Topology({ policies: createPolicyCache({ load: async () => null }), encoder, models: (e) => createModelRegistry({ encoderSha256: e.modelSha256 }) });
  for (const topic of [TOPICS.escalationsTier2, TOPICS.evaluations, TOPICS.verdicts, TOPICS.escalationsTier3]) await log.admin.createTopics([{ name: topic.name, partitions: 1 }]);
  const input = await serde.forTopic(TOPICS.escalationsTier2);
  const all = traces(throughputCount, 7);
  for (let i = 0; i < all.length; i += 500) {
    await log.producer().send(all.slice(i, i + 500).map((t) => ({ topic: TOPICS.escalationsTier2.name, key: t.trace_id, value: input.encode(escalation(t)) })));
  }
  const started = performance.now();
  const runner = runTopology(topology, { log, serde, logger: { info() {}, warn() {}, error() {} } });
  while (runner.stats().processed + runner.stats().dlq < throughputCount) await new Promise((r) => setTimeout(r, 50));
  const seconds = (performance.now() - started) / 1000;
  await runner.stop();
  result.throughput_embedded = { escalations: throughputCount, seconds: Math.round(seconds * 10) / 10, per_second: Math.round(throughputCount / seconds), dlq: runner.stats().dlq };
  await encoder.close();
  await log.close();
  await rm(dir, { recursive: true, force: true });
}

process.stdout.write(JSON.stringify(result, null, 2) + '\n');
