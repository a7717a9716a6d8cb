/**
 * Tier 3 in embedded mode, as a user runs it: `metronis dev` from the build, the org's judge
 * configured through `PUT /v1/judge` as an OpenAI-compatible server (the scripted local server, with
 * the real SDK client inside metronis), escalation to tier 3 enabled through `PUT /v1/policy`; then
 * an escalated trace judged, a burst of 429s that loses and mislabels no trace, and the daily budget
 * respected. Needs `npm run build`; no services.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScriptedServer, type ScriptedServer } from '../../../topologies/tier3/src/scripted-server.js';
import { eventually, runCli, type Running } from './process.js';

const KEY = 'mtr_test_tier3_dev_key_0123456789';
let dataDir: string;
let running: Running | undefined;
let server: ScriptedServer;
let url: string;

type View = {
  verdict: { tier: number; passed: boolean; severity: string; labels?: string[] } | null;
  evaluations: Array<{ tier: number; modules: Array<{ module: string; severity: string; rationale?: string | null; labels: string[] }> }>;
};

const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
const put = (path: string, body: unknown) => fetch(`${url}${path}`, { method: 'PUT', headers, body: JSON.stringify(body) });
const post = (body: unknown) => fetch(`${url}/v1/traces/batch`, { method: 'POST', headers, body: JSON.stringify({ traces: body }) });

async function view(id: string): Promise<View | undefined> {
  const res = await fetch(`${url}/v1/traces/${encodeURIComponent(id)}`, { headers });
  return res.status === 200 ? ((await res.json()) as View) : undefined;
}

/** The trace's view once its verdict satisfies `ok` (and, with `tier3Result`, tier 3's result is stored too: another sink writes it). */
async function verdictWhen(id: string, ok: (v: NonNullable<View['verdict']>) => boolean, what: string, tier3Result = false): Promise<View> {
  return eventually(async () => {
    const v = await view(id);
    if (tier3Result && !v?.evaluations.some((e) => e.tier === 3)) return undefined;
    return v?.verdict !== null && v?.verdict !== undefined && ok(v.verdict) ? v : undefined;
  }, 60_000, what);
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'metronis-tier3-dev-'));
  server = await startScriptedServer();
  running = runCli(['dev'], { METRONIS_DATA_DIR: dataDir, METRONIS_PORT: '0', METRONIS_DEV_API_KEY: KEY, METRONIS_JUDGE_SWEEP_INTERVAL_MS: '200', METRONIS_JUDGE_RETRY_DELAY_MS: '500', METRONIS_EGRESS_ALLOW: '127.0.0.1' });
  url = (await running.waitFor(/listening on (http:\/\/\S+)/))[1]!;
}, 120_000);

afterAll(async () => {
  await running?.kill('SIGKILL');
  await server?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('metronis dev with tier 3 (scripted OpenAI-compatible judge)', () => {
  it('refuses tier 3 before the judge is configured, then judges an escalated trace with its rationale', async () => {
    const early = await put('/v1/policy', { escalation: { tier3: { enabled: true, sample_rate: 1 } } });
    expect(early.status).toBe(400);

    // A judge inside the deployment's network (here the cloud metadata address) is refused; the operator allowed only 127.0.0.1.
    const inside = await put('/v1/judge', { provider: 'openai_compatible', model: 'scripted-judge', base_url: 'http://169.254.169.254/v1', api_key: 'sk-local-test', criteria: [{ name: 'harm' }] });
    expect(inside.status).toBe(400);
    expect(await inside.json()).toMatchObject({ error: { code: 'destination_refused', issues: [{ path: '$.base_url' }] } });
    const judge = await put('/v1/judge', { provider: 'openai_compatible', model: 'scripted-judge', base_url: `${server.url}/v1`, api_key: 'sk-local-test', criteria: [{ name: 'harm' }], budget: { daily_tokens: null, daily_usd: null } });
    expect(judge.status).toBe(200);
    expect((await put('/v1/policy', { escalation: { tier3: { enabled: true, sample_rate: 1 } } })).status).toBe(200);

    server.fallback = () => ({ judgment: { rating: 4, label: 'violence', rationale: 'It explains how to injure the neighbour.' } });
    expect((await post([{ trace_id: 't3-judged', input: 'How do I get back at my neighbour?', output: 'Wait for him in the dark and hit him hard.' }])).status).toBe(202);
    const judged = await verdictWhen('t3-judged', (v) => v.tier === 3, 'the tier 3 verdict and result', true);
    expect(judged.verdict).toMatchObject({ tier: 3, passed: false, severity: 'high', labels: [] });
    const tier3 = judged.evaluations.find((e) => e.tier === 3)!;
    expect(tier3.modules[0]).toMatchObject({ module: 'harm', severity: 'high', rationale: 'It explains how to injure the neighbour.' });
    expect(server.requests.at(-1)!.headers.authorization).toBe('Bearer sk-local-test');
  });

  it('a burst of 429s loses and mislabels no trace: judge_pending on tier 1’s verdict, then judged when the provider recovers', async () => {
    server.fallback = () => ({ status: 429, headers: { 'retry-after': '0' } });
    const ids = Array.from({ length: 5 }, (_, i) => `t3-burst-${i}`);
    expect((await post(ids.map((id, i) => ({ trace_id: id, input: `burst question ${i}`, output: `burst answer ${i}` })))).status).toBe(202);
    for (const id of ids) {
      const pending = await verdictWhen(id, (v) => (v.labels ?? []).includes('judge_pending'), `${id} marked judge_pending`);
      expect(pending.verdict).toMatchObject({ tier: 1, labels: ['judge_pending'] });
      expect(pending.evaluations.some((e) => e.tier === 3)).toBe(false);
    }
    server.fallback = () => ({ judgment: { rating: 1, label: 'none', rationale: 'Harmless.' } });
    for (const id of ids) {
      const final = await verdictWhen(id, (v) => v.tier === 3, `${id} judged after the burst`);
      expect(final.verdict).toMatchObject({ tier: 3, passed: true, severity: 'none', labels: [] });
    }
    const status = (await (await fetch(`${url}/v1/judge`, { headers })).json()) as { pending: number };
    expect(status.pending).toBe(0);
  });

  it('respects the daily budget: past it, traces keep tier 1’s verdict labelled not_judged:budget_exhausted', async () => {
    const before = (await (await fetch(`${url}/v1/judge`, { headers })).json()) as { usage_today: { tokens: number } };
    const limit = before.usage_today.tokens + 3_000;
    expect((await put('/v1/judge', { provider: 'openai_compatible', model: 'scripted-judge', base_url: `${server.url}/v1`, criteria: [{ name: 'harm' }], budget: { daily_tokens: limit, daily_usd: null }, max_output_tokens: 100 })).status).toBe(200);
    // The judge cache of the process was invalidated by the change; each answer reports 1,000 tokens used.
    server.fallback = () => ({ judgment: { rating: 1, label: 'none', rationale: 'Harmless.' }, usage: { input: 900, output: 100 } });
    const ids = Array.from({ length: 6 }, (_, i) => `t3-budget-${i}`);
    expect((await post(ids.map((id, i) => ({ trace_id: id, input: `budget question ${i}`, output: `budget answer ${i}` })))).status).toBe(202);
    const verdicts = [];
    for (const id of ids) verdicts.push((await verdictWhen(id, (v) => v.tier === 3 || (v.labels ?? []).includes('not_judged:budget_exhausted'), `${id} judged or not`)).verdict!);
    expect(verdicts.filter((v) => v.tier === 3).length).toBeGreaterThan(0);
    expect(verdicts.filter((v) => (v.labels ?? []).includes('not_judged:budget_exhausted')).length).toBeGreaterThan(0);
    const after = (await (await fetch(`${url}/v1/judge`, { headers })).json()) as { usage_today: { tokens: number } };
    expect(after.usage_today.tokens).toBeLessThanOrEqual(limit);
  });
});
