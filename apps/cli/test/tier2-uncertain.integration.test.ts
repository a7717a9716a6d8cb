/**
 * Tier 2's uncertain middle in `metronis dev` (what `npm start` runs), from the build: with tier 2 on
 * for every trace and tier 3 off, a benign answer about drug policy that model v3 reads as harmful at
 * 0.6 (`medium`, below `tier2.decide_at` `high`) is not failed: `GET /v1/traces/:id` shows tier 1's
 * decision with the verdict label `tier2_uncertain`, and tier 2's result with its finding, labelled
 * `uncertain`. With `decide_at: medium` (the rule before issue 15) the same trace fails. Needs
 * `npm run build` and the encoder (`npm run tier2:model`, run by .ci/run); no services.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, runCli, type Running } from './process.js';

const KEY = 'mtr_test_dev_key_tier2_uncertain';
let dataDir: string;
let running: Running | undefined;
let url: string;

type View = {
  verdict: { tier: number; passed: boolean; severity: string; finding_kinds: string[]; labels?: string[] } | null;
  evaluations: Array<{ tier: number; passed: boolean; modules: Array<{ module: string; passed: boolean; severity: string; labels: string[]; findings: Array<{ kind: string; confidence: number | null }> }> }>;
};

const send = (method: 'POST' | 'PUT', path: string, body: unknown) =>
  fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** The trace view once its verdict and tier 2's result have landed (they come through different sinks). */
async function decided(id: string): Promise<View | undefined> {
  const res = await fetch(`${url}/v1/traces/${id}`, { headers: { authorization: `Bearer ${KEY}` } });
  const body = res.status === 200 ? ((await res.json()) as View) : undefined;
  return body?.verdict && body.evaluations.some((e) => e.tier === 2) ? body : undefined;
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'metronis-tier2-uncertain-'));
  running = runCli(['dev'], { METRONIS_DATA_DIR: dataDir, METRONIS_PORT: '0', METRONIS_DEV_API_KEY: KEY });
  url = (await running.waitFor(/listening on (http:\/\/\S+)/))[1]!;
}, 60_000);

afterAll(async () => {
  await running?.kill('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

it('leaves a trace in tier 2\'s uncertain middle to the earlier tiers when tier 3 is off, labelled tier2_uncertain in GET /v1/traces/:id', async () => {
  // The Tier 1 corpus's drug-policy hard negative (evaluators/corpus/safety.jsonl), as a user would send it.
  const corpus = await readFile(new URL('../../../evaluators/corpus/safety.jsonl', import.meta.url), 'utf8');
  const hardNegative = corpus
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as { id: string; trace: { input: string; output: string } })
    .find((c) => c.id === 'safety-hn-drug-policy')!.trace;

  // Pinned to v3: the probability this test rests on is that version's.
  expect((await send('PUT', '/v1/policy', { escalation: { tier2: { enabled: true, sample_rate: 1 } }, tier2: { model: 'v3' } })).status).toBe(200);
  expect((await send('POST', '/v1/traces', { trace_id: 'uncertain-1', ...hardNegative })).status).toBe(202);
  const view = await eventually(() => decided('uncertain-1'), 60_000, 'the verdict of the uncertain trace');
  expect(view.verdict).toMatchObject({ tier: 2, passed: true, labels: ['tier2_uncertain'] });
  const tier2 = view.evaluations.find((e) => e.tier === 2)!;
  expect(tier2.passed).toBe(true);
  const harmful = tier2.modules.find((m) => m.module === 'harmful')!;
  expect(harmful).toMatchObject({ passed: true, severity: 'medium' });
  expect(harmful.labels).toContain('uncertain');
  const content = harmful.findings.find((f) => f.kind === 'harmful_content')!;
  expect(content.confidence).toBeGreaterThanOrEqual(0.5);
  expect(content.confidence).toBeLessThan(0.85);

  // The org that wants tier 2 to fail its uncertain middle alone says so, and the same trace fails.
  expect((await send('PUT', '/v1/policy', { escalation: { tier2: { enabled: true, sample_rate: 1 } }, tier2: { model: 'v3', decide_at: 'medium' } })).status).toBe(200);
  expect((await send('POST', '/v1/traces', { trace_id: 'uncertain-2', ...hardNegative })).status).toBe(202);
  const strict = await eventually(() => decided('uncertain-2'), 60_000, 'the verdict under decide_at medium');
  expect(strict.verdict).toMatchObject({ tier: 2, passed: false, severity: 'medium', labels: [] });
  expect(strict.verdict!.finding_kinds).toContain('harmful_content');

  // A value that is not a severity is refused, naming the path.
  const refused = await send('PUT', '/v1/policy', { tier2: { decide_at: 'sure' } });
  expect(refused.status).toBe(400);
  expect(JSON.stringify(await refused.json())).toContain('tier2.decide_at');
}, 180_000);
