/**
 * Tier 1 cost (a measurement, not a test):
 * - per module and for the whole tier (`evaluateTier1`: all modules, aggregate, outputs), microseconds
 *   per trace (p50, p99) over a varied, seeded set of realistic traces of 200 to 4,000 characters
 *   (chat answers, JSON answers with a schema, RAG answers with context, a few with PII or a secret),
 *   next to a bare Avro decode of the same records (avsc `fromBuffer`) measured in the same run;
 * - tier 1 consumer throughput (traces/s) through the real runner on the embedded log and, when
 *   KAFKA_BROKERS (default 127.0.0.1:19092) answers, on Kafka (its own throwaway topics, so shared
 *   topics see nothing; the in-process schema registry in both cases, to measure the tier and the log).
 *
 *   node --conditions=source --import tsx topologies/tier1/bench/tier1.ts [rounds, default 20] [traces for throughput, default 5000]
 *
 * Prints one JSON document.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_POLICY, MODULE_NAMES, runModule, warmUp } from '@metronis/evaluators';
import { avroSchema, type Trace } from '@metronis/schemas';
import {
  createEmbeddedLog,
  createInProcessRegistry,
  createKafkaLog,
  createSerde,
  DLQ_TOPIC,
  runTopology,
  type Log,
  withTopicPrefix,
} from '@metronis/streams';
import avro from 'avsc';
import { evaluateTier1, tier1Topology } from '../src/index.js';
import { benchTraces } from './traces.js';

const rounds = Number(process.argv[2] ?? 20);
const throughputTraces = Number(process.argv[3] ?? 5000);

const traces: Trace[] = benchTraces();

// ---- per-trace costs -------------------------------------------------------------------------------

function percentiles(samplesNs: number[]): { p50_us: number; p99_us: number; mean_us: number } {
  const sorted = [...samplesNs].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! / 1000;
  const mean = sorted.reduce((s, v) => s + v, 0) / sorted.length / 1000;
  return { p50_us: round(at(0.5)), p99_us: round(at(0.99)), mean_us: round(mean) };
}
const round = (n: number) => Math.round(n * 10) / 10;

function time(body: (trace: Trace, bytes: Buffer) => unknown, encoded: Buffer[]): number[] {
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < traces.length; i++) {
      const started = process.hrtime.bigint();
      body(traces[i]!, encoded[i]!);
      samples.push(Number(process.hrtime.bigint() - started));
    }
  }
  return samples;
}

warmUp(DEFAULT_POLICY);
const traceType = avro.Type.forSchema(avroSchema('Trace') as avro.Schema);
const encoded = traces.map((t) => traceType.toBuffer(t));
for (let i = 0; i < 3; i++) for (const b of encoded) traceType.fromBuffer(b); // JIT warm-up of the decoder

const perModule: Record<string, ReturnType<typeof percentiles>> = {};
for (const name of MODULE_NAMES) perModule[name] = percentiles(time((trace) => runModule(name, trace, DEFAULT_POLICY), encoded));
const fullSuite = percentiles(time((trace) => evaluateTier1(trace, DEFAULT_POLICY), encoded));
const avroDecode = percentiles(time((_trace, bytes) => traceType.fromBuffer(bytes), encoded));

// ---- consumer throughput through the real runner ----------------------------------------------------

async function throughput(log: Log, prefix: string): Promise<{ traces: number; seconds: number; traces_per_s: number; dlq: number }> {
  const { topology, input, topics } = withTopicPrefix(tier1Topology({ policies: { get: async () => DEFAULT_POLICY } }), prefix);
  await log.admin.createTopics([...topics.map((t) => ({ name: t.name, partitions: t.partitions })), { name: DLQ_TOPIC, partitions: 1 }]);
  const serde = createSerde(createInProcessRegistry());
  const traceSerde = await serde.forTopic(input);
  const producer = log.producer();
  for (let start = 0; start < throughputTraces; start += 500) {
    const batch = [];
    for (let i = start; i < Math.min(throughputTraces, start + 500); i++) {
      const trace = { ...traces[i % traces.length]!, trace_id: randomUUID() };
      batch.push({ topic: input.name, key: trace.trace_id, value: traceSerde.encode(trace) });
    }
    await producer.send(batch);
  }
  await producer.close();
  const logger = { info() {}, warn() {}, error: (obj: object, msg?: string) => console.error(msg, obj) };
  const started = performance.now();
  const runner = runTopology(topology, { log, serde, logger });
  while (runner.stats().processed + runner.stats().dlq < throughputTraces) await new Promise((resolve) => setTimeout(resolve, 20));
  const seconds = (performance.now() - started) / 1000;
  await runner.stop();
  return { traces: throughputTraces, seconds: round(seconds), traces_per_s: Math.round(throughputTraces / seconds), dlq: runner.stats().dlq };
}

const dir = await mkdtemp(join(tmpdir(), 'metronis-bench-tier1-'));
const embedded = await createEmbeddedLog({ dir });
let embeddedResult;
try {
  embeddedResult = await throughput(embedded, 'bench');
} finally {
  await embedded.close();
  await rm(dir, { recursive: true, force: true });
}

let kafkaResult: unknown = 'skipped: KAFKA_BROKERS did not answer';
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
let kafka: Log | undefined;
try {
  kafka = await createKafkaLog({ brokers, clientId: 'metronis-bench-tier1', requestTimeoutMs: 30_000 });
  await kafka.admin.ping();
} catch {
  await kafka?.close().catch(() => undefined);
  kafka = undefined;
}
if (kafka) {
  try {
    kafkaResult = { brokers, ...(await throughput(kafka, `bench-tier1-${randomUUID().slice(0, 8)}`)) };
  } finally {
    await kafka.close();
  }
}

const chars = traces.map((t) => t.output.content.length + t.context.reduce((s, d) => s + d.content.length, 0));
console.log(
  JSON.stringify(
    {
      node: process.version,
      traces: { count: traces.length, rounds, output_plus_context_chars: { min: Math.min(...chars), max: Math.max(...chars) }, avro_bytes: { min: Math.min(...encoded.map((b) => b.length)), max: Math.max(...encoded.map((b) => b.length)) } },
      per_trace_us: { avro_decode: avroDecode, full_suite: fullSuite, modules: perModule },
      throughput: { embedded: embeddedResult, kafka: kafkaResult },
    },
    null,
    2,
  ),
);
