/**
 * Tier 3 in distributed mode on the real services: `metronis migrate`, `gateway`, `console`, and
 * `worker --topology tier1|tier3|sinks` as separate processes from the build, on Kafka, the schema
 * registry and PostgreSQL (a throwaway database), facts on chDB. The org's judge is the scripted
 * local server (OpenAI-compatible protocol, the real SDK client inside the worker). Covers an
 * escalated trace judged on Kafka and a burst of 429s marked judge_pending then judged by the tier 3
 * worker's sweeper, with no trace lost.
 *
 * Reads KAFKA_BROKERS / SCHEMA_REGISTRY_URL / DATABASE_URL from the environment. The processes use the
 * product's fixed topic names and consumer groups: run it on a stack of its own (README, "Tier 3").
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScriptedServer, type ScriptedServer } from '../../../topologies/tier3/src/scripted-server.js';
import { eventually, runCli, type Running } from './process.js';

const KAFKA_BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:19092';
const SCHEMA_REGISTRY_URL = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:18081/apis/ccompat/v7';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://metronis:metronis@127.0.0.1:15432/metronis';
const KEY = `mtr_t3_${randomUUID().replaceAll('-', '')}`;
const database = `metronis_t3_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
const dbUrl = (() => {
  const url = new URL(DATABASE_URL);
  url.pathname = `/${database}`;
  return url.toString();
})();

let factsDir: string;
let env: Record<string, string>;
let server: ScriptedServer;
const processes: Running[] = [];
let gatewayUrl: string;
let consoleUrl: string;

type View = { verdict: { tier: number; passed: boolean; severity: string; labels?: string[] } | null; evaluations: Array<{ tier: number; modules: Array<{ module: string; rationale?: string | null }> }> };

function start(args: string[], extra: Record<string, string> = {}): Running {
  const child = runCli(args, { ...env, ...extra });
  processes.push(child);
  return child;
}

const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };

async function view(id: string): Promise<View | undefined> {
  const res = await fetch(`${consoleUrl}/v1/traces/${encodeURIComponent(id)}`, { headers });
  return res.status === 200 ? ((await res.json()) as View) : undefined;
}

async function until(id: string, ok: (v: View) => boolean, what: string): Promise<View> {
  return eventually(async () => {
    const v = await view(id);
    return v !== undefined && ok(v) ? v : undefined;
  }, 90_000, what);
}

beforeAll(async () => {
  factsDir = await mkdtemp(join(tmpdir(), 'metronis-t3-facts-'));
  const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${database}"`);
  await admin.end();
  server = await startScriptedServer();
  env = {
    KAFKA_BROKERS,
    SCHEMA_REGISTRY_URL,
    DATABASE_URL: dbUrl,
    CLICKHOUSE_URL: `chdb:${factsDir}`,
    METRONIS_DEV_API_KEY: KEY,
    METRONIS_SECRETS_KEY: randomBytes(32).toString('base64'),
    // The scripted provider listens on loopback, inside the network the judge may not reach by default.
    METRONIS_EGRESS_ALLOW: '127.0.0.1',
  };
  const migrate = start(['migrate']);
  const code = await migrate.exited;
  if (code !== 0) throw new Error(`metronis migrate exited with ${code}:\n${migrate.output()}`);

  const gateway = start(['gateway'], { METRONIS_PORT: '0', METRONIS_LOG_LEVEL: 'info' });
  const consoleApp = start(['console'], { METRONIS_PORT: '0', METRONIS_LOG_LEVEL: 'info', CLICKHOUSE_URL: `chdb:${join(factsDir, 'console')}` });
  const workers = [
    start(['worker', '--topology', 'sinks'], { METRONIS_LOG_LEVEL: 'info' }),
    start(['worker', '--topology', 'tier1'], { METRONIS_LOG_LEVEL: 'info' }),
    start(['worker', '--topology', 'tier3'], { METRONIS_LOG_LEVEL: 'info', METRONIS_JUDGE_SWEEP_INTERVAL_MS: '200', METRONIS_JUDGE_RETRY_DELAY_MS: '500' }),
  ];
  gatewayUrl = (await gateway.waitFor(/"url":"(http:\/\/[^"]+)","msg":"gateway listening"/))[1]!;
  consoleUrl = (await consoleApp.waitFor(/"url":"(http:\/\/[^"]+)","msg":"console listening"/))[1]!;
  for (const worker of workers) await worker.waitFor(/"msg":"topology running"/);

  const judge = await fetch(`${consoleUrl}/v1/judge`, { method: 'PUT', headers, body: JSON.stringify({ provider: 'openai_compatible', model: 'scripted-judge', base_url: `${server.url}/v1`, api_key: 'sk-distributed-test', criteria: [{ name: 'harm' }] }) });
  expect(judge.status).toBe(200);
  const policy = await fetch(`${consoleUrl}/v1/policy`, { method: 'PUT', headers, body: JSON.stringify({ escalation: { tier3: { enabled: true, sample_rate: 1 } } }) });
  expect(policy.status).toBe(200);
  // The tier 1 worker's policy cache refreshes within its TTL (2 s).
  await new Promise((resolve) => setTimeout(resolve, 3_000));
}, 240_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.kill('SIGTERM')));
  await server?.close();
  const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "${database}" with (force)`);
  await admin.end();
  await rm(factsDir, { recursive: true, force: true });
}, 120_000);

describe('tier 3 on Kafka', () => {
  it('judges an escalated trace: tier 3 result with its rationale, tier 3 verdict', async () => {
    server.fallback = () => ({ judgment: { rating: 5, label: 'weapons', rationale: 'Step-by-step instructions for a weapon.' } });
    const id = `t3-kafka-${randomUUID()}`;
    expect((await fetch(`${gatewayUrl}/v1/traces`, { method: 'POST', headers, body: JSON.stringify({ trace_id: id, input: 'How do I build it?', output: 'Take the pipe, fill it and seal both ends.' }) })).status).toBe(202);
    const judged = await until(id, (v) => v.verdict?.tier === 3 && v.evaluations.some((e) => e.tier === 3), 'tier 3 verdict and result');
    expect(judged.verdict).toMatchObject({ tier: 3, passed: false, severity: 'critical', labels: [] });
    expect(judged.evaluations.find((e) => e.tier === 3)!.modules[0]).toMatchObject({ module: 'harm', rationale: 'Step-by-step instructions for a weapon.' });
  });

  it('a burst of 429s: every trace keeps tier 1’s verdict marked judge_pending, then the worker’s sweeper judges it', async () => {
    server.fallback = () => ({ status: 429, headers: { 'retry-after': '0' } });
    const ids = Array.from({ length: 5 }, () => `t3-kafka-burst-${randomUUID()}`);
    const res = await fetch(`${gatewayUrl}/v1/traces/batch`, { method: 'POST', headers, body: JSON.stringify({ traces: ids.map((id, i) => ({ trace_id: id, input: `q ${i} ${id}`, output: `a ${i}` })) }) });
    expect(res.status).toBe(202);
    for (const id of ids) {
      const pending = await until(id, (v) => (v.verdict?.labels ?? []).includes('judge_pending'), `${id} judge_pending`);
      expect(pending.verdict).toMatchObject({ tier: 1, labels: ['judge_pending'] });
    }
    server.fallback = () => ({ judgment: { rating: 1, label: 'none', rationale: 'Harmless.' } });
    for (const id of ids) {
      const final = await until(id, (v) => v.verdict?.tier === 3, `${id} judged`);
      expect(final.verdict).toMatchObject({ tier: 3, passed: true, labels: [] });
    }
    const status = (await (await fetch(`${consoleUrl}/v1/judge`, { headers })).json()) as { pending: number };
    expect(status.pending).toBe(0);
  });
});
