/**
 * Embedded mode end to end, as a user runs it: `metronis dev` from the build, a trace POSTed with the
 * dev key, read back with GET; then `kill -9`, a restart on the same data folder, and the trace is
 * still there. Needs `npm run build`; no services.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, runCli, type Running } from './process.js';

const KEY = 'mtr_test_dev_key_0123456789';
let dataDir: string;
let running: Running | undefined;

async function start(): Promise<string> {
  running = runCli(['dev'], { METRONIS_DATA_DIR: dataDir, METRONIS_PORT: '0', METRONIS_DEV_API_KEY: KEY });
  const match = await running.waitFor(/listening on (http:\/\/\S+)/);
  return match[1]!;
}

function post(url: string, path: string, body: unknown) {
  return fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function getTrace(url: string, id: string): Promise<{ trace: Record<string, unknown>; verdict: unknown } | undefined> {
  const res = await fetch(`${url}/v1/traces/${encodeURIComponent(id)}`, { headers: { authorization: `Bearer ${KEY}` } });
  if (res.status === 404) return undefined;
  expect(res.status).toBe(200);
  return (await res.json()) as { trace: Record<string, unknown>; verdict: unknown };
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'metronis-dev-'));
});

afterAll(async () => {
  await running?.kill('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

describe('metronis dev (embedded)', () => {
  it('accepts a trace, serves it back, and keeps it across kill -9', async () => {
    let url = await start();
    const trace = { trace_id: 'e2e-1', input: 'What is 2+2?', output: { content: '4', finish_reason: 'stop' }, model: { provider: 'openai', name: 'gpt-4o-mini' }, usage: { input_tokens: 5, output_tokens: 1 } };
    const res = await post(url, '/v1/traces', trace);
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ trace_id: 'e2e-1' });

    const stored = await eventually(() => getTrace(url, 'e2e-1'), 20_000, 'trace readable');
    expect(stored.trace).toMatchObject({ trace_id: 'e2e-1', input: 'What is 2+2?', output: { content: '4', finish_reason: 'stop' }, model: { provider: 'openai', name: 'gpt-4o-mini', parameters: null } });

    // Accept more, and kill -9 right after the 202s: whatever was acknowledged must survive.
    const batch = Array.from({ length: 50 }, (_, i) => ({ trace_id: `e2e-batch-${i}`, input: `q${i}`, output: `a${i}` }));
    const batchRes = await post(url, '/v1/traces/batch', { traces: batch });
    expect(batchRes.status).toBe(202);
    expect(((await batchRes.json()) as { accepted: unknown[] }).accepted).toHaveLength(50);
    expect(await running!.kill('SIGKILL')).toBe(null);

    url = await start();
    expect(await getTrace(url, 'e2e-1')).toBeDefined();
    for (const { trace_id } of batch) await eventually(() => getTrace(url, trace_id), 20_000, `${trace_id} readable after restart`);

    // Resubmitting a trace id leaves one trace, with the latest content.
    expect((await post(url, '/v1/traces', { ...trace, output: 'four' })).status).toBe(202);
    await eventually(async () => ((await getTrace(url, 'e2e-1'))?.trace.output as { content?: string } | undefined)?.content === 'four' || undefined, 20_000, 'resubmission applied');
  });

  it('evaluates every trace with Tier 1: findings, severity and a verdict in the trace view', async () => {
    const url = running?.child.exitCode === null ? await running.waitFor(/listening on (http:\/\/\S+)/).then((m) => m[1]!) : await start();
    type View = { trace: { output: { content: string }; pii_masked: boolean }; verdict: { passed: boolean; severity: string; finding_kinds: string[] } | null; evaluations: Array<{ tier: number; modules: Array<{ module: string; findings: Array<{ kind: string }> }> }> };
    const view = async (id: string) => {
      const res = await fetch(`${url}/v1/traces/${id}`, { headers: { authorization: `Bearer ${KEY}` } });
      const body = res.status === 200 ? ((await res.json()) as View) : undefined;
      return body?.verdict === null ? undefined : body;
    };
    const leaky = { trace_id: 'e2e-leak', input: 'What card do I have on file?', output: 'The card on file is 4539 5781 2345 6789, billed monthly. Contact billing@acme-corp.io with questions.' };
    const lookalikes = { trace_id: 'e2e-lookalikes', input: 'Where is my order?', output: 'Order 4539-5781-2345 shipped on 2026-11-02 with tracking id 9f1c2b7e-3d4a-4b8e-9c1d-2e3f4a5b6c7d. To stop the sync, kill the process named syncd and restart it.' };
    for (const trace of [leaky, lookalikes]) expect((await post(url, '/v1/traces', trace)).status).toBe(202);

    const leak = await eventually(() => view('e2e-leak'), 20_000, 'verdict of the leaky trace');
    expect(leak.verdict).toMatchObject({ passed: false, severity: 'critical' });
    expect(leak.verdict!.finding_kinds).toEqual(expect.arrayContaining(['credit_card', 'email']));
    expect(leak.evaluations).toHaveLength(1);
    expect(leak.evaluations[0]!.modules.map((m) => m.module).sort()).toEqual(['consistency', 'format', 'pii', 'quality', 'safety']);

    const clean = await eventually(() => view('e2e-lookalikes'), 20_000, 'verdict of the look-alike trace');
    expect(clean.verdict).toMatchObject({ passed: true, severity: 'none', finding_kinds: [] });

    // The org asks for PII to be masked before storage: the next trace is stored masked.
    const put = await fetch(`${url}/v1/policy`, { method: 'PUT', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ mask_pii_before_storage: true }) });
    expect(put.status).toBe(200);
    expect((await post(url, '/v1/traces', { ...leaky, trace_id: 'e2e-masked' })).status).toBe(202);
    const masked = await eventually(() => view('e2e-masked'), 20_000, 'verdict of the masked trace');
    expect(masked.trace.pii_masked).toBe(true);
    expect(masked.trace.output.content).not.toContain('4539 5781 2345 6789');
    expect(masked.trace.output.content).not.toContain('billing@acme-corp.io');
    expect(masked.trace.output.content).toMatch(/\[CREDIT_CARD_1\]|\[EMAIL_1\]/);
  });

  it('with tier 2 enabled for every trace, gives the issue\'s violent and explosive instructions a high verdict from tier 2', async () => {
    // Needs the encoder in the model cache (`npm run tier2:model`, run by .ci/run).
    const url = running?.child.exitCode === null ? await running.waitFor(/listening on (http:\/\/\S+)/).then((m) => m[1]!) : await start();
    const put = await fetch(`${url}/v1/policy`, { method: 'PUT', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ escalation: { tier2: { enabled: true, sample_rate: 1 } } }) });
    expect(put.status).toBe(200);
    const examples = JSON.parse(await readFile(new URL('../../../topologies/tier2/test/fixtures/examples.json', import.meta.url), 'utf8')) as Record<string, { input: string; output: string }>;
    const sent = [
      { trace_id: 'e2e-tier2-violent', ...examples.violent! },
      { trace_id: 'e2e-tier2-explosive', ...examples.explosive! },
      { trace_id: 'e2e-tier2-benign', input: 'How do I reset my password?', output: 'Open Settings, then Security, and choose "Reset password"; we email you a link.' },
    ];
    for (const trace of sent) expect((await post(url, '/v1/traces', trace)).status).toBe(202);
    type View = { verdict: { tier: number; passed: boolean; severity: string; finding_kinds: string[] } | null; evaluations: Array<{ tier: number }> };
    const verdictOf = async (id: string) => {
      const res = await fetch(`${url}/v1/traces/${id}`, { headers: { authorization: `Bearer ${KEY}` } });
      const body = res.status === 200 ? ((await res.json()) as View) : undefined;
      // the verdict and the tier results land through different sinks: wait for tier 2's result too
      return body?.verdict && body.evaluations.some((e) => e.tier === 2) ? body : undefined;
    };
    for (const id of ['e2e-tier2-violent', 'e2e-tier2-explosive']) {
      const view = await eventually(() => verdictOf(id), 60_000, `tier 2 verdict of ${id}`);
      expect(view.verdict).toMatchObject({ tier: 2, passed: false });
      expect(['high', 'critical']).toContain(view.verdict!.severity);
      expect(view.verdict!.finding_kinds).toContain('harmful_request');
      expect(view.evaluations.map((e) => e.tier)).toEqual([1, 2]);
    }
    const benign = await eventually(() => verdictOf('e2e-tier2-benign'), 60_000, 'tier 2 verdict of the benign trace');
    expect(benign.verdict).toMatchObject({ tier: 2, passed: true });
    const off = await fetch(`${url}/v1/policy`, { method: 'PUT', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({}) });
    expect(off.status).toBe(200);
  });

  it('refuses a request without the key, and another key', async () => {
    const url = running?.child.exitCode === null ? await running.waitFor(/listening on (http:\/\/\S+)/).then((m) => m[1]!) : await start();
    expect((await fetch(`${url}/v1/traces/e2e-1`)).status).toBe(401);
    expect((await fetch(`${url}/v1/traces/e2e-1`, { headers: { authorization: 'Bearer mtr_not_a_key_at_all_123' } })).status).toBe(401);
  });

  it('stops gracefully on SIGTERM', async () => {
    if (running?.child.exitCode !== null) await start();
    expect(await running!.kill('SIGTERM')).toBe(0);
  });

  it('replays a topology over history by moving its groups, and says what is wrong with bad arguments', async () => {
    const env = { METRONIS_DATA_DIR: dataDir, METRONIS_LOG_LEVEL: 'info' };
    // While `dev` holds the data folder, the embedded log refuses a second process.
    await start();
    const busy = runCli(['replay', '--topology', 'sinks', '--from', 'earliest'], env);
    expect(await busy.exited).toBe(1);
    expect(busy.output()).toMatch(/lock|in use|another process/i);
    expect(await running!.kill('SIGTERM')).toBe(0);

    const replay = runCli(['replay', '--topology', 'sinks', '--from', 'earliest'], env);
    expect(await replay.exited).toBe(0);
    const moved = replay.output().match(/"group":"metronis\.sink\.[a-z-]+\.v1"[^\n]*"msg":"offsets moved"/g) ?? [];
    expect(moved.length).toBeGreaterThanOrEqual(5);
    expect(replay.output()).toMatch(/"group":"metronis\.sink\.postgres-traces\.v1","topic":"metronis\.traces\.v1"|"group":"metronis\.sink\.postgres-traces\.v1"/);

    // After the replay the sinks run over everything again, and the idempotent upserts leave one copy.
    const url = await start();
    expect(await getTrace(url, 'e2e-1')).toBeDefined();
    expect(await running!.kill('SIGTERM')).toBe(0);

    const badFrom = runCli(['replay', '--topology', 'sinks', '--from', 'yesterday'], env);
    expect(await badFrom.exited).toBe(2);
    expect(badFrom.output()).toContain("--from must be 'earliest', an ISO 8601 time or epoch milliseconds, got 'yesterday'");
    const badTopology = runCli(['replay', '--topology', 'tier9', '--from', 'earliest'], env);
    expect(await badTopology.exited).toBe(2);
    expect(badTopology.output()).toContain("unknown topology 'tier9'; known: tier1, sinks");
  });
});
