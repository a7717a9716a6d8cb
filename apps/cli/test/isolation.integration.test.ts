/**
 * One tenant cannot stall the others (README, "Evaluation bounds"), on `metronis dev` from the build:
 * one organization sends hostile traces (a json_schema pattern that backtracks catastrophically, about
 * 1 MB of dense text, a long repetitive output against its own large lexicon), and another
 * organization's 202 and verdict still come within the documented bounds. These are correctness
 * bounds, set far above normal costs, not benchmarks. Needs `npm run build`; no services.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, runCli, type Running } from './process.js';

/** The documented bounds: another org's 202, and its verdict, while one org sends hostile traces. */
const ACCEPT_BOUND_MS = 2_000;
const VERDICT_BOUND_MS = 15_000;

const DEV_KEY = 'mtr_test_isolation_key_0123456789';
let dataDir: string;
let dev: Running | undefined;
let url: string;

function request(path: string, method: string, key: string, body?: unknown, timeoutMs = 30_000): Promise<Response> {
  return fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(timeoutMs),
  });
}

async function createOrg(id: string): Promise<string> {
  const res = await request('/v1/orgs', 'POST', DEV_KEY, { id, name: id });
  expect(res.status).toBe(201);
  return ((await res.json()) as { api_key: { key: string } }).api_key.key;
}

type View = { verdict: { passed: boolean } | null; evaluations: Array<{ modules: Array<{ module: string; labels: string[]; findings: Array<{ kind: string }> }> }> };
async function view(key: string, id: string): Promise<View | undefined> {
  const res = await request(`/v1/traces/${id}`, 'GET', key);
  if (res.status === 404) return undefined;
  const body = (await res.json()) as View;
  return body.verdict === null || body.evaluations.length === 0 ? undefined : body;
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'metronis-isolation-'));
  dev = runCli(['dev'], { METRONIS_DATA_DIR: dataDir, METRONIS_PORT: '0', METRONIS_DEV_API_KEY: DEV_KEY });
  url = (await dev.waitFor(/listening on (http:\/\/\S+)/))[1]!;
}, 120_000);

afterAll(async () => {
  await dev?.kill('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

describe('one organization cannot stall another', () => {
  it("answers another org's trace and gives it a verdict within the bounds while one org sends hostile traces and policy", async () => {
    const hostileKey = await createOrg('hostile-co');
    const victimKey = await createOrg('victim-co');

    // A large lexicon (as large as the policy body limit allows) whose phrases all start like the output.
    const phrases = Array.from({ length: 1_000 }, (_, i) => `kill the ${i.toString(36)} proc`);
    const policy = { modules: { safety: { config: { extra_terms: { violence: phrases.slice(0, 500), hate: phrases.slice(500) } } } } };
    expect((await request('/v1/policy', 'PUT', hostileKey, policy)).status).toBe(200);

    const dense = 'On 12 March 2024 Dr. Ada Lovelace of Acme Corp said revenue was $5M, not $7M; call (415) 555-2671 or mail ada@acme.dev. ';
    const hostile = [
      // (a+)+$ against "aaa…a!" takes 2^n steps in a backtracking engine
      { trace_id: 'hostile-regex', input: 'Give me the code.', expected_format: 'json', json_schema: { type: 'object', properties: { code: { type: 'string', pattern: '^(a+)+$' } } }, output: JSON.stringify({ code: `${'a'.repeat(40)}!` }) },
      { trace_id: 'hostile-dense', input: 'Summarise.', output: dense.repeat(Math.floor(900_000 / dense.length)) },
      { trace_id: 'hostile-lexicon', input: 'Go on.', output: 'kill the process kill the '.repeat(30_000) },
    ];
    for (const trace of hostile) expect((await request('/v1/traces', 'POST', hostileKey, trace)).status).toBe(202);

    const started = Date.now();
    const accepted = await request('/v1/traces', 'POST', victimKey, { trace_id: 'victim-1', input: 'What is 2+2?', output: '4' }, ACCEPT_BOUND_MS);
    expect(accepted.status).toBe(202);
    expect(Date.now() - started).toBeLessThan(ACCEPT_BOUND_MS);

    const victim = await eventually(() => view(victimKey, 'victim-1'), VERDICT_BOUND_MS, "the other org's verdict within the bound");
    expect(victim.verdict!.passed).toBe(true);

    // The hostile traces get their verdicts too: the catastrophic pattern answered by RE2, the rest bounded and labelled.
    const regex = await eventually(() => view(hostileKey, 'hostile-regex'), 60_000, 'verdict of the catastrophic pattern');
    const format = regex.evaluations[0]!.modules.find((m) => m.module === 'format')!;
    expect(format.findings.map((f) => f.kind)).toEqual(['schema_violation']);
    const lexicon = await eventually(() => view(hostileKey, 'hostile-lexicon'), 60_000, 'verdict of the lexicon trace');
    const safety = lexicon.evaluations[0]!.modules.find((m) => m.module === 'safety')!;
    expect(safety.labels).toContain('truncated_output');
    const denseView = await eventually(() => view(hostileKey, 'hostile-dense'), 60_000, 'verdict of the dense trace');
    expect(denseView.evaluations[0]!.modules.map((m) => m.module)).toEqual(['format', 'safety', 'pii', 'consistency', 'quality']);
  });
});
