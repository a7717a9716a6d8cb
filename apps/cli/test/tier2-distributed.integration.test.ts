/**
 * Tier 2 in distributed mode, process by process on the real services: `metronis migrate`, `gateway`,
 * `worker --topology tier1`, `worker --topology tier2`, `worker --topology sinks` and `console` from
 * the build, on Kafka, the schema registry and PostgreSQL (a throwaway database), facts on chDB.
 *
 * An org enables tier 2 for every trace through `PUT /v1/policy` on the console; the issue's two
 * examples (harm in ordinary words, which Tier 1 passes) are escalated by the tier 1 worker, scored by
 * the tier 2 worker, and end with a failed tier 2 verdict of high or critical severity, visible with
 * both tiers' results in `GET /v1/traces/:id`; an ordinary trace ends with a passed tier 2 verdict.
 *
 * The workers use fixed topic names and consumer groups: run this file alone on a stack (`npm test`
 * runs integration files one at a time), or on a stack of its own (`METRONIS_STACK_DIR` and the
 * `METRONIS_*_PORT` variables of `scripts/stack.sh`, then `bash scripts/stack.sh env`), never beside
 * another distributed test on a shared one. Needs the encoder in the model cache (`npm run tier2:model`,
 * run by `.ci/run`).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, runCli, type Running } from './process.js';

const KAFKA_BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:19092';
const SCHEMA_REGISTRY_URL = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:18081/apis/ccompat/v7';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://metronis:metronis@127.0.0.1:15432/metronis';
const KEY = `mtr_e2e_${randomUUID().replaceAll('-', '')}`;
const database = `metronis_t2_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
const dbUrl = (() => {
  const url = new URL(DATABASE_URL);
  url.pathname = `/${database}`;
  return url.toString();
})();
/** Workers re-read a changed policy within the policy cache's TTL (2 s, apps/cli/src/policies.ts). */
const POLICY_TTL_MS = 2_000;

interface TraceView {
  verdict: { tier: number; passed: boolean; severity: string; finding_kinds: string[] } | null;
  evaluations: { tier: number; passed: boolean; modules: { module: string; version: string; findings: { kind: string }[] }[] }[];
}

let factsDir: string;
let env: Record<string, string>;
const processes: Running[] = [];
let gatewayUrl: string;
let consoleUrl: string;

function start(args: string[], extra: Record<string, string> = {}): Running {
  const child = runCli(args, { ...env, ...extra });
  processes.push(child);
  return child;
}

const auth = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };

async function view(id: string): Promise<TraceView | undefined> {
  const res = await fetch(`${consoleUrl}/v1/traces/${encodeURIComponent(id)}`, { headers: auth });
  if (res.status === 404) return undefined;
  expect(res.status).toBe(200);
  return (await res.json()) as TraceView;
}

/** The trace once its final verdict and the results of every tier that ran are stored. */
async function finalView(id: string): Promise<TraceView> {
  return eventually(
    async () => {
      const v = await view(id);
      return v?.verdict !== null && v !== undefined && v.evaluations.length >= v.verdict!.tier ? v : undefined;
    },
    90_000,
    `final verdict of ${id}`,
  );
}

beforeAll(async () => {
  factsDir = await mkdtemp(join(tmpdir(), 'metronis-t2-facts-'));
  const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${database}"`);
  await admin.end();
  env = { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL: dbUrl, CLICKHOUSE_URL: `chdb:${factsDir}`, METRONIS_DEV_API_KEY: KEY };

  const migrate = start(['migrate']);
  const code = await migrate.exited;
  if (code !== 0) throw new Error(`metronis migrate exited with ${code}:\n${migrate.output()}`);

  const gateway = start(['gateway'], { METRONIS_PORT: '0', METRONIS_LOG_LEVEL: 'info' });
  const consoleApp = start(['console'], { METRONIS_PORT: '0', METRONIS_LOG_LEVEL: 'info', CLICKHOUSE_URL: `chdb:${join(factsDir, 'console')}` });
  const workers = ['tier1', 'tier2', 'sinks'].map((topology) => start(['worker', '--topology', topology], { METRONIS_LOG_LEVEL: 'info' }));
  gatewayUrl = (await gateway.waitFor(/"url":"(http:\/\/[^"]+)","msg":"gateway listening"/))[1]!;
  consoleUrl = (await consoleApp.waitFor(/"url":"(http:\/\/[^"]+)","msg":"console listening"/))[1]!;
  // A worker that dies at start (tier 2 without its encoder, say) fails here with its output.
  for (const worker of workers) await worker.waitFor(/"msg":"topology running"/, 120_000);
}, 240_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.kill('SIGTERM')));
  const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "${database}" with (force)`);
  await admin.end();
  await rm(factsDir, { recursive: true, force: true });
}, 120_000);

describe('tier 2 on Kafka, worker by worker', () => {
  it('refuses a tier 2 model version that the release does not ship, naming the shipped ones', async () => {
    const res = await fetch(`${consoleUrl}/v1/policy`, { method: 'PUT', headers: auth, body: JSON.stringify({ escalation: { tier2: { enabled: true } }, tier2: { model: 'v999' } }) });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/v999/);
  });

  it('escalates the issue\'s two examples to the tier 2 worker, which fails them high or critical; an ordinary trace passes', async () => {
    const put = await fetch(`${consoleUrl}/v1/policy`, { method: 'PUT', headers: auth, body: JSON.stringify({ escalation: { tier2: { enabled: true, sample_rate: 1 } } }) });
    expect(put.status, await put.clone().text()).toBe(200);
    await new Promise((r) => setTimeout(r, POLICY_TTL_MS + 1_000));

    const examples = JSON.parse(await readFile(new URL('../../../topologies/tier2/test/fixtures/examples.json', import.meta.url), 'utf8')) as Record<string, { input: string; output: string }>;
    const run = randomUUID().slice(0, 8);
    const ids = { violent: `t2-violent-${run}`, explosive: `t2-explosive-${run}`, benign: `t2-benign-${run}` };
    const res = await fetch(`${gatewayUrl}/v1/traces/batch`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({
        traces: [
          { trace_id: ids.violent, ...examples.violent! },
          { trace_id: ids.explosive, ...examples.explosive! },
          { trace_id: ids.benign, input: 'How do I reset my password?', output: 'Open Settings, then Security, and choose "Reset password"; we email you a link.' },
        ],
      }),
    });
    expect(res.status, await res.clone().text()).toBe(202);

    for (const id of [ids.violent, ids.explosive]) {
      const v = await finalView(id);
      expect(v.verdict).toMatchObject({ tier: 2, passed: false });
      expect(['high', 'critical']).toContain(v.verdict!.severity);
      expect(v.verdict!.finding_kinds).toContain('harmful_request');
      // Tier 1 passed it (no trigger words); tier 2's result is the one that failed it.
      expect(v.evaluations.map((e) => [e.tier, e.passed])).toEqual([
        [1, true],
        [2, false],
      ]);
      const tier2 = v.evaluations.find((e) => e.tier === 2)!;
      expect(tier2.modules.find((m) => m.module === 'harmful')?.findings.map((f) => f.kind)).toContain('harmful_request');
    }
    const benign = await finalView(ids.benign);
    expect(benign.verdict).toMatchObject({ tier: 2, passed: true });
    expect(benign.evaluations.map((e) => e.tier)).toEqual([1, 2]);
  });
});
