/**
 * Tier 2 cost (a measurement, not a test; run it on a quiet machine):
 * - start-up: loading the encoder (hash check, tokenizer, ONNX session) and the first model;
 * - per trace (`evaluateTier2`: the encoder on input and output, every head, the outputs), p50/p99
 *   of wall time and of process CPU time (onnxruntime's threads included), over seeded realistic
 *   traces of 60 to 3,000 characters, for 1 and 2 onnxruntime threads, in the same run for:
 *   - `baseline`: the encoder as it was before issue 15's latency work (every chunk of a trace in one
 *     padded batch, the first 4 windows of 126 word pieces per text);
 *   - `current`: the defaults (one run per chunk, no padding; the first and last window of a long
 *     text), with the chunk cache off, and `current_cached` with it on (the bench's inputs repeat,
 *     as an application's system prompts do, and so do its shortest answers; each round has new
 *     traces, so a trace is never served whole from an earlier round);
 *   the variants take turns trace by trace, so a busy machine slows them alike;
 * - the encoder alone on one text of 16, 64 and 128 tokens (where the time goes: the cost grows with
 *   the tokens run);
 * - tier 2 consumer throughput (escalations/s) through the real runner with the defaults on the
 *   embedded log, and on Kafka when KAFKA_BROKERS (default 127.0.0.1:19092) answers (topics renamed
 *   per run, so a shared broker's real topics see nothing).
 *
 *   npm run bench:tier2 -- [rounds, default 5] [escalations for throughput, default 1000]
 *
 * Needs the encoder (`npm run tier2:model`). Prints one JSON document, with the load average at the
 * start and the end. The target from the issue: p99 <= 20 ms per trace.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPolicyCache, DEFAULT_POLICY } from '@metronis/evaluators';
import { makeTrace, type Escalation, type Trace } from '@metronis/schemas';
import { createEmbeddedLog, createInProcessRegistry, createKafkaLog, createSerde, DLQ_TOPIC, runTopology, withTopicPrefix, type Log } from '@metronis/streams';
import { createModelRegistry, defaultModelCacheDir, evaluateTier2, loadEncoder, tier2Topology, type Encoder, type EncoderOptions } from '../src/index.js';

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
  return { n: sorted.length, p50_ms: round(quantile(sorted, 0.5)), p99_ms: round(quantile(sorted, 0.99)), mean_ms: round(sorted.reduce((s, v) => s + v, 0) / sorted.length) };
};
const round = (ms: number) => Math.round(ms * 100) / 100;
const load = () => loadavg().map((x) => Math.round(x * 100) / 100);

const result: Record<string, unknown> = { node: process.version, rounds, model: DEFAULT_POLICY.tier2.model, load_average_at_start: load() };
const set = { length: 100 };
const escalation = (trace: Trace): Escalation => ({ trace, results: [], target_tier: 2, reason: 'bench' });

/** The encoder settings compared in one run. */
const VARIANTS: Record<string, Omit<EncoderOptions, 'cacheDir' | 'threads'>> = {
  baseline: { batching: 'joint', keep: 'head', maxChunks: 4 },
  current: { cacheSize: 0 },
  current_cached: {},
};

for (const threads of [1, 2]) {
  const encoders: Record<string, Encoder> = {};
  const startup: Record<string, number> = {};
  for (const [name, options] of Object.entries(VARIANTS)) {
    const t0 = performance.now();
    encoders[name] = await loadEncoder({ cacheDir, threads, ...options });
    startup[`${name}_encoder_load_ms`] = Math.round(performance.now() - t0);
  }
  const models = createModelRegistry({ encoderSha256: encoders.current!.modelSha256 });
  const t1 = performance.now();
  models.get(DEFAULT_POLICY.tier2.model);
  startup.model_load_ms = round(performance.now() - t1);
  for (const encoder of Object.values(encoders)) for (const t of traces(10, 99)) await evaluateTier2(escalation(t), DEFAULT_POLICY, encoder, models); // warm-up
  const wall: Record<string, number[]> = Object.fromEntries(Object.keys(encoders).map((k) => [k, []]));
  const cpu: Record<string, number[]> = Object.fromEntries(Object.keys(encoders).map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    // new traces every round (the inputs still repeat), so that the cache cannot serve a whole trace it saw a round before
    for (const t of traces(set.length, 1000 * threads + r)) {
      for (const [name, encoder] of Object.entries(encoders)) {
        const cpu0 = process.cpuUsage();
        const started = process.hrtime.bigint();
        await evaluateTier2(escalation(t), DEFAULT_POLICY, encoder, models);
        wall[name]!.push(Number(process.hrtime.bigint() - started) / 1e6);
        const used = process.cpuUsage(cpu0);
        cpu[name]!.push((used.user + used.system) / 1000);
      }
    }
  }
  const perTrace = Object.fromEntries(Object.keys(encoders).map((k) => [k, { settings: encoders[k]!.settings, wall: summary(wall[k]!), cpu: summary(cpu[k]!) }]));
  const alone: Record<string, number> = {};
  const tokenizer = encoders.current!;
  for (const tokens of [16, 64, 128]) {
    // a text of about that many word pieces, embedded alone
    let text = '';
    while (tokenizer.chunks(`${text}day `).length === 1 && tokenizer.chunks(`${text}day `)[0]!.length <= tokens) text += 'day ';
    const times: number[] = [];
    for (let r = 0; r < rounds * 10; r++) {
      const started = process.hrtime.bigint();
      await encoders.current!.embed([text]);
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    alone[`text_of_${tokens}_tokens_p50_ms`] = summary(times).p50_ms;
  }
  result[`threads_${threads}`] = { ...startup, per_trace: perTrace, encoder_alone: alone };
  for (const encoder of Object.values(encoders)) await encoder.close();
}

// ---- consumer throughput through the real runner: the embedded log, and Kafka when KAFKA_BROKERS answers

async function throughput(log: Log, prefix: string): Promise<Record<string, unknown>> {
  const encoder = await loadEncoder({ cacheDir });
  try {
    const { topology, input, topics } = withTopicPrefix(tier2Topology({ policies: createPolicyCache({ load: async () => null }), encoder, models: (e) => createModelRegistry({ encoderSha256: e.modelSha256 }) }), prefix);
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

result.load_average_at_end = load();
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
