/**
 * Tier 2 cost (a measurement, not a test; run it on a quiet machine):
 * - start-up: loading the encoder (hash check, tokenizer, ONNX session) and the first model;
 * - per trace, microseconds (p50, p99) of `evaluateTier2` (input and output embedded in one batched
 *   run, every head, the outputs), over seeded realistic traces of 60 to 3,000 characters (support
 *   answers, code, RAG answers, security discussions, a few harmful requests), for 1 and 2
 *   onnxruntime threads; and the encoder alone on batches of 1, 8 and 32 texts (per text);
 * - per trace when traces are batched: the input and output of 8 or 32 traces embedded in one encoder
 *   run and scored (what a batching consumer would do; the topology today takes one trace at a time):
 *   the batch's latency (p50, p99: every trace of a batch waits for all of it) and the time per trace;
 * - tier 2 consumer throughput (escalations/s) through the real runner on the embedded log, and on
 *   Kafka when KAFKA_BROKERS (default 127.0.0.1:19092) answers (topics renamed per run, so a shared
 *   broker's real topics see nothing).
 *
 *   npm run bench:tier2 -- [rounds, default 5] [escalations for throughput, default 1000]
 *
 * Needs the encoder (`npm run tier2:model`). Prints one JSON document. The target from the issue:
 * p99 <= 20 ms per trace.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPolicyCache, DEFAULT_POLICY } from '@metronis/evaluators';
import { makeTrace, type Escalation, type Trace } from '@metronis/schemas';
import { createEmbeddedLog, createInProcessRegistry, createKafkaLog, createSerde, DLQ_TOPIC, runTopology, TOPICS, type Log, type Output, type TopicDef, type TransformTopology } from '@metronis/streams';
import { createModelRegistry, defaultModelCacheDir, evaluateTier2, loadEncoder, meanVector, scoreField, tier2Topology, type Encoder } from '../src/index.js';

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
  const batched: Record<string, unknown> = {};
  const model = models.get(DEFAULT_POLICY.tier2.model);
  for (const size of [8, 32]) {
    const latencies: number[] = [];
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i + size <= set.length; i += size) {
        const batch = set.slice(i, i + size);
        const started = process.hrtime.bigint();
        const chunks = await encoder.embed(batch.flatMap((t) => [t.input.text ?? '', t.output.content]));
        for (let k = 0; k < batch.length; k++) {
          scoreField(model, 'input', chunks[2 * k]!);
          scoreField(model, 'output', chunks[2 * k + 1]!, meanVector(chunks[2 * k]!));
        }
        latencies.push(Number(process.hrtime.bigint() - started) / 1000);
      }
    }
    const s = summary(latencies);
    batched[`batch_${size}`] = { batch_latency: s, mean_us_per_trace: Math.round(s.mean_us / size) };
  }
  result[`threads_${threads}`] = { encoder_load_ms: Math.round(loadMs), model_load_ms: Math.round(modelMs), evaluateTier2: summary(perTrace), batched, encoder: perBatch };
  await encoder.close();
}

// ---- consumer throughput through the real runner: the embedded log, and Kafka when KAFKA_BROKERS answers

/** The tier with its topics renamed (a throwaway set per run), so a shared broker's real topics see nothing. */
function renamed(prefix: string, encoder: Encoder): { topology: TransformTopology<'Escalation'>; input: TopicDef<'Escalation'>; topics: TopicDef[] } {
  const rename = <T extends TopicDef>(t: T): T => ({ ...t, name: `${prefix}.${t.name}` });
  const inner = tier2Topology({ policies: createPolicyCache({ load: async () => null }), encoder, models: (e) => createModelRegistry({ encoderSha256: e.modelSha256 }) });
  const byName = new Map<string, TopicDef>(inner.outputs!.map((t) => [t.name, rename(t)]));
  const input = rename(TOPICS.escalationsTier2);
  const topology: TransformTopology<'Escalation'> = {
    ...inner,
    groupId: `${prefix}.tier2`,
    input,
    outputs: [...byName.values()],
    async process(value, meta) {
      const outputs = await inner.process(value, meta);
      return outputs.map((o) => ({ ...o, topic: byName.get(o.topic.name)! }) as Output);
    },
  };
  return { topology, input, topics: [input, ...byName.values()] };
}

async function throughput(log: Log, prefix: string): Promise<Record<string, unknown>> {
  const encoder = await loadEncoder({ cacheDir });
  try {
    const { topology, input, topics } = renamed(prefix, encoder);
    await log.admin.createTopics([...topics.map((t) => ({ name: t.name, partitions: t.partitions })), { name: DLQ_TOPIC, partitions: 1 }]);
    const serde = createSerde(createInProcessRegistry());
    const inputSerde = await serde.forTopic(input);
    const producer = log.producer();
    const all = traces(throughputCount, 7);
    for (let i = 0; i < all.length; i += 500) {
      await producer.send(all.slice(i, i + 500).map((t) => ({ topic: input.name, key: t.trace_id, value: inputSerde.encode(escalation(t)) })));
    }
    await producer.close();
    const started = performance.now();
    const runner = runTopology(topology, { log, serde, logger: { info() {}, warn() {}, error: (obj: object, msg?: string) => console.error(msg, obj) } });
    while (runner.stats().processed + runner.stats().dlq < throughputCount) await new Promise((r) => setTimeout(r, 50));
    const seconds = (performance.now() - started) / 1000;
    await runner.stop();
    return { escalations: throughputCount, seconds: Math.round(seconds * 10) / 10, per_second: Math.round(throughputCount / seconds), dlq: runner.stats().dlq };
  } finally {
    await encoder.close();
  }
}

{
  const dir = await mkdtemp(join(tmpdir(), 'metronis-bench-tier2-'));
  const log = await createEmbeddedLog({ dir });
  try {
    result.throughput_embedded = await throughput(log, 'bench');
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
}
{
  result.throughput_kafka = 'skipped: KAFKA_BROKERS did not answer';
  const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
  let kafka: Log | undefined;
  try {
    kafka = await createKafkaLog({ brokers, clientId: 'metronis-bench-tier2', requestTimeoutMs: 30_000 });
    await kafka.admin.ping();
  } catch {
    await kafka?.close().catch(() => undefined);
    kafka = undefined;
  }
  if (kafka) {
    try {
      result.throughput_kafka = { brokers, ...(await throughput(kafka, `bench-tier2-${randomUUID().slice(0, 8)}`)) };
    } finally {
      await kafka.close();
    }
  }
}

process.stdout.write(JSON.stringify(result, null, 2) + '\n');
