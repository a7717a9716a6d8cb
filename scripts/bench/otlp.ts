/**
 * `npm run bench:otlp`: OTLP ingest next to REST ingest and next to Arize Phoenix, in one run on the
 * same machine. The same spans (GenAI + OpenInference attributes, so both servers see LLM spans) are
 * encoded once as OTLP protobuf requests of `--batch` spans; the REST side sends the very traces the
 * gateway's OTLP mapper makes of them, as `POST /v1/traces/batch` bodies of the same size.
 *
 *   npm run bench:otlp -- [--spans 51200] [--batch 512] [--concurrency 4] [--only otlp,rest,phoenix]
 *   npm run bench:otlp -- --spans 1024 --only otlp,rest      # a tiny run that proves it works
 *
 * Each system runs alone, on a fresh data folder: `metronis dev` (the whole embedded pipeline in one
 * process: gateway, log, Tier 1, sinks, PGlite, chDB) and `phoenix serve` (from a virtualenv the
 * bench makes with `arize-phoenix` pinned below, SQLite in a temporary working dir). Measured:
 * - accepted/s: spans whose request was answered with success, over the time to send them all;
 * - stored-and-readable/s: spans over the time until every one can be read back through the
 *   system's own read API (Metronis: GET /v1/traces/:id of every trace; Phoenix: its REST span list);
 * - server CPU per span (user+system of the server's process tree, from /proc) and peak RSS.
 * Writes bench-results/otlp-<time>.json and prints a Markdown table for BENCHMARKS.md.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { mapSpans } from '../../apps/ingest-gateway/src/otlp/mapper.js';
import { decodeExportRequest, encodeExportRequest } from '../../apps/ingest-gateway/src/otlp/proto.js';
import { spansOf } from '../../apps/ingest-gateway/src/otlp/spans.js';
import { machineInfo } from './machine.js';
import { ensurePhoenix, PHOENIX_VERSION, startPhoenix } from './phoenix.js';
import { sampleRss, treeUsage } from './proc.js';
import { sendAll } from './send.js';
import { spawnServer, type Spawned } from './spawn.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'apps/cli/dist/main.js');
const KEY = 'mtr_bench_otlp_key_0123456789abcdef';

const { values } = parseArgs({
  options: { spans: { type: 'string', default: '51200' }, batch: { type: 'string', default: '512' }, concurrency: { type: 'string', default: '4' }, only: { type: 'string', default: 'otlp,rest,phoenix' } },
});
const BATCH = Number(values.batch);
const SPANS = Math.ceil(Number(values.spans) / BATCH) * BATCH;
const CONCURRENCY = Number(values.concurrency);
const only = new Set(values.only.split(','));
const log = (line: string) => process.stderr.write(`[bench:otlp] ${line}\n`);

// ---------------------------------------------------------------------------------------------
// The workload: SPANS spans in SPANS/BATCH export requests, one trace id per request.

const QUESTIONS = ['What is the capital of France?', 'Summarize the refund policy in one sentence.', 'Translate "good morning" into Italian.', 'List three prime numbers.'];
const ANSWERS = ['Paris.', 'Refunds are issued within 14 days of a return.', 'Buongiorno.', '2, 3 and 5.'];

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

function exportRequest(batchIndex: number): Uint8Array {
  const traceId = Buffer.from(`${hex(batchIndex + 1, 16)}${hex(Date.now(), 16)}`, 'hex');
  const start = BigInt(Date.now()) * 1_000_000n;
  const spans = Array.from({ length: BATCH }, (_, i) => {
    const q = QUESTIONS[i % QUESTIONS.length]!;
    const a = ANSWERS[i % ANSWERS.length]!;
    const attributes = {
      'openinference.span.kind': 'LLM',
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'llm.model_name': 'gpt-4o-mini',
      'gen_ai.input.messages': JSON.stringify([{ role: 'system', parts: [{ type: 'text', content: 'You are a helpful assistant.' }] }, { role: 'user', parts: [{ type: 'text', content: q }] }]),
      'gen_ai.output.messages': JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: a }], finish_reason: 'stop' }]),
      'llm.input_messages.0.message.role': 'system',
      'llm.input_messages.0.message.content': 'You are a helpful assistant.',
      'llm.input_messages.1.message.role': 'user',
      'llm.input_messages.1.message.content': q,
      'llm.output_messages.0.message.role': 'assistant',
      'llm.output_messages.0.message.content': a,
      'input.value': q,
      'output.value': a,
      'gen_ai.usage.input_tokens': 20 + (i % 7),
      'gen_ai.usage.output_tokens': 3 + (i % 5),
      'llm.token_count.prompt': 20 + (i % 7),
      'llm.token_count.completion': 3 + (i % 5),
      'session.id': `bench-session-${batchIndex % 50}`,
    };
    return {
      traceId,
      spanId: Buffer.from(hex(batchIndex * BATCH + i + 1, 16), 'hex'),
      name: 'chat gpt-4o-mini',
      kind: 3,
      startTimeUnixNano: String(start + BigInt(i) * 1000n),
      endTimeUnixNano: String(start + BigInt(i) * 1000n + 420_000_000n),
      attributes: Object.entries(attributes).map(([key, value]) => ({ key, value: typeof value === 'number' ? { intValue: value } : { stringValue: value } })),
    };
  });
  return encodeExportRequest({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'bench-app' } }] }, scopeSpans: [{ scope: { name: 'bench' }, spans }] }] });
}

log(`building ${SPANS / BATCH} export requests of ${BATCH} spans`);
const otlpBodies = Array.from({ length: SPANS / BATCH }, (_, i) => exportRequest(i));
/** The same traces as REST batch bodies: exactly what the OTLP mapper makes of each request. */
const restBodies = otlpBodies.map((bytes) => JSON.stringify({ traces: mapSpans(spansOf(decodeExportRequest(bytes))).map((o) => (o.kind === 'trace' ? o.trace : undefined)) }));
const traceIds = otlpBodies.flatMap((bytes) => mapSpans(spansOf(decodeExportRequest(bytes))).map((o) => (o.kind === 'trace' ? String(o.trace.trace_id) : '')));
const otlpBytes = otlpBodies.reduce((sum, b) => sum + b.length, 0);

// ---------------------------------------------------------------------------------------------

interface Result {
  system: string;
  spans: number;
  accepted_per_s: number;
  stored_readable_per_s: number;
  seconds_to_accept: number;
  seconds_to_readable: number;
  cpu_ms_per_span: number;
  peak_rss_mib: number;
}

async function measure(system: string, server: Spawned, send: () => Promise<unknown>, readable: () => Promise<boolean>): Promise<Result> {
  const pid = server.child.pid!;
  const before = await treeUsage(pid);
  const rss = sampleRss(pid);
  const started = performance.now();
  await send();
  const accepted = performance.now();
  log(`${system}: accepted ${SPANS} spans in ${((accepted - started) / 1000).toFixed(2)} s; waiting until readable`);
  const deadline = Date.now() + 30 * 60_000;
  while (!(await readable())) {
    if (Date.now() > deadline) throw new Error(`${system}: not readable within 30 minutes`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const done = performance.now();
  const after = await treeUsage(pid);
  const peak = rss.peak().rssMiB;
  rss.stop();
  return {
    system,
    spans: SPANS,
    accepted_per_s: Math.round(SPANS / ((accepted - started) / 1000)),
    stored_readable_per_s: Math.round(SPANS / ((done - started) / 1000)),
    seconds_to_accept: Math.round(accepted - started) / 1000,
    seconds_to_readable: Math.round(done - started) / 1000,
    cpu_ms_per_span: Math.round(((after.cpuSeconds - before.cpuSeconds) * 1000 * 1000) / SPANS) / 1000,
    peak_rss_mib: Math.round(peak),
  };
}

async function startMetronis(dataDir: string): Promise<Spawned> {
  return spawnServer(process.execPath, [CLI, 'dev'], { METRONIS_DATA_DIR: dataDir, METRONIS_PORT: '0', METRONIS_DEV_API_KEY: KEY, METRONIS_LOG_LEVEL: 'warn', METRONIS_RATE_LIMITS: JSON.stringify({ traces_per_second: 1_000_000, traces_burst: 1_000_000 }) }, /listening on (http:\/\/\S+)/);
}

/** Readable when every trace id answers 200 (checked from where the last check stopped). */
function metronisReadable(url: string): () => Promise<boolean> {
  let confirmed = 0;
  return async () => {
    while (confirmed < traceIds.length) {
      const batch = traceIds.slice(confirmed, confirmed + 32);
      const statuses = await Promise.all(batch.map(async (id) => (await fetch(`${url}/v1/traces/${id}`, { headers: { authorization: `Bearer ${KEY}` } }).then(async (r) => (await r.arrayBuffer(), r.status)))));
      const firstMissing = statuses.findIndex((s) => s !== 200);
      if (firstMissing !== -1) {
        confirmed += firstMissing;
        return false;
      }
      confirmed += batch.length;
    }
    return true;
  };
}

async function benchMetronis(kind: 'otlp' | 'rest'): Promise<Result> {
  const dataDir = await mkdtemp(join(tmpdir(), `metronis-bench-${kind}-`));
  const server = await startMetronis(dataDir);
  try {
    const headers = { authorization: `Bearer ${KEY}`, 'content-type': kind === 'otlp' ? 'application/x-protobuf' : 'application/json' };
    const path = kind === 'otlp' ? '/otlp/v1/traces' : '/v1/traces/batch';
    const bodies = kind === 'otlp' ? otlpBodies : restBodies;
    return await measure(kind === 'otlp' ? 'Metronis, OTLP protobuf' : 'Metronis, REST batches', server, () => sendAll<Uint8Array | string>(bodies, CONCURRENCY, (body) => fetch(`${server.url}${path}`, { method: 'POST', headers, body })), metronisReadable(server.url));
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function benchPhoenix(): Promise<Result> {
  const workDir = await mkdtemp(join(tmpdir(), 'phoenix-bench-'));
  const { server, url, spanCount } = await startPhoenix(ensurePhoenix(ROOT, log), workDir);
  // Phoenix lists spans newest first, so a span stored later can land before a page already read.
  // So: wait until its GraphQL span count (a COUNT in its database) reaches N, then read every span
  // once through its REST span list, from the first page, as a user's tool would.
  const readable = async (): Promise<boolean> => {
    if ((await spanCount()) < SPANS) return false;
    let counted = 0;
    let cursor: string | undefined;
    for (;;) {
      const query = new URLSearchParams({ limit: '1000', ...(cursor === undefined ? {} : { cursor }) });
      const response = await fetch(`${url}/v1/projects/default/spans?${query}`);
      if (!response.ok) throw new Error(`phoenix span list answered ${response.status}: ${await response.text()}`);
      const page = (await response.json()) as { data: unknown[]; next_cursor: string | null };
      counted += page.data.length;
      if (page.next_cursor === null) return counted >= SPANS;
      cursor = page.next_cursor;
    }
  };
  try {
    return await measure(`Arize Phoenix ${PHOENIX_VERSION}, OTLP protobuf`, server, () => sendAll(otlpBodies, CONCURRENCY, (body) => fetch(`${url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body })), readable);
  } finally {
    await server.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
const machine = machineInfo(ROOT);
const workload = { spans: SPANS, batch: BATCH, requests: otlpBodies.length, concurrency: CONCURRENCY, otlp_bytes_per_request: Math.round(otlpBytes / otlpBodies.length), rest_bytes_per_request: Math.round(restBodies.reduce((s, b) => s + b.length, 0) / restBodies.length) };
const results: Result[] = [];
if (only.has('otlp')) results.push(await benchMetronis('otlp'));
if (only.has('rest')) results.push(await benchMetronis('rest'));
if (only.has('phoenix')) results.push(await benchPhoenix());

await mkdir(join(ROOT, 'bench-results'), { recursive: true });
const file = join(ROOT, 'bench-results', `otlp-${machine.date.replaceAll(':', '-')}.json`);
await writeFile(file, `${JSON.stringify({ machine, workload, results }, null, 2)}\n`);
const table = [
  '| system | accepted/s | stored and readable/s | server CPU per span | peak RSS |',
  '| --- | ---: | ---: | ---: | ---: |',
  ...results.map((r) => `| ${r.system} | ${r.accepted_per_s} | ${r.stored_readable_per_s} | ${r.cpu_ms_per_span} ms | ${r.peak_rss_mib} MiB |`),
].join('\n');
process.stdout.write(`${JSON.stringify({ machine, workload }, null, 2)}\n\n${table}\n`);
log(`written ${file}`);
