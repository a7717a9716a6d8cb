/**
 * The judge against a local server that speaks the OpenAI (Chat Completions, Responses) and
 * Anthropic (Messages) protocols, through the real SDK clients: scripted answers, malformed JSON and
 * its repair, refusals, 429 with retry-after, 500, slow bodies, timeouts, 400, the budget, the cache
 * and the concurrency limit.
 */
import { makeTrace, type Trace } from '@metronis/schemas';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createConcurrencyLimiter,
  createPriceTable,
  createProvider,
  judgeCriterion,
  retryAfterMs,
  type BudgetLedger,
  type CriterionOutcome,
  type JudgeDeps,
  type JudgeProvider,
  type ProviderSettings,
} from '../src/index.js';
import { startScriptedServer, type ScriptedServer } from '../src/scripted-server.js';

let server: ScriptedServer;
beforeAll(async () => {
  server = await startScriptedServer();
});
afterAll(async () => server.close());
afterEach(() => {
  server.script.length = 0;
  server.requests.length = 0;
});

const KEY = 'sk-test-0123456789';
type Mode = { name: string; settings: (url: string) => ProviderSettings; path: string };
const MODES: Mode[] = [
  { name: 'openai chat', settings: (url) => ({ provider: 'openai', model: 'gpt-4o-mini', apiKey: KEY, baseUrl: `${url}/v1` }), path: '/v1/chat/completions' },
  { name: 'openai responses', settings: (url) => ({ provider: 'openai', api: 'responses', model: 'gpt-4o-mini', apiKey: KEY, baseUrl: `${url}/v1` }), path: '/v1/responses' },
  { name: 'anthropic', settings: (url) => ({ provider: 'anthropic', model: 'claude-haiku-4-5', apiKey: KEY, baseUrl: url }), path: '/v1/messages' },
  { name: 'openai compatible', settings: (url) => ({ provider: 'openai_compatible', model: 'llama-3.1-8b', apiKey: KEY, baseUrl: `${url}/v1` }), path: '/v1/chat/completions' },
];

const trace: Trace = makeTrace({ org_id: 'org_judge', input: { text: 'How do I reset my router?', messages: [] }, output: { content: 'Hold the reset button for 10 seconds.', finish_reason: 'stop' } });

/** An in-memory ledger with limits, counting what was reserved and settled. */
function ledger(limit = { tokens: Infinity, usd: Infinity }) {
  const spent = { tokens: 0, usd: 0, calls: 0 };
  const budget: BudgetLedger = {
    async reserve(_org, tokens, cost) {
      if (spent.tokens + tokens > limit.tokens || spent.usd + cost > limit.usd) return null;
      spent.tokens += tokens;
      spent.usd += cost;
      spent.calls++;
      return {
        async settle(t, c) {
          spent.tokens += t;
          spent.usd += c;
        },
      };
    },
  };
  return { budget, spent };
}

function deps(overrides: Partial<JudgeDeps> = {}): JudgeDeps & { waits: number[] } {
  const waits: number[] = [];
  const cache = new Map<string, unknown>();
  return {
    budget: ledger().budget,
    cache: { get: async (org, key) => cache.get(`${org}:${key}`) ?? null, put: async (org, key, j) => void cache.set(`${org}:${key}`, j) },
    limiter: createConcurrencyLimiter(4),
    prices: createPriceTable(),
    retry: { maxAttempts: 4, retryBudgetMs: 10_000, initialMs: 10, maxMs: 100, timeoutMs: 2_000 },
    maxOutputTokens: 300,
    sleep: async (ms) => void waits.push(ms),
    random: () => 1,
    waits,
    ...overrides,
  };
}

const judge = (provider: JudgeProvider, d: JudgeDeps, t: Trace = trace): Promise<CriterionOutcome> => judgeCriterion({ orgId: t.org_id, criterion: 'harm', version: 'v1', trace: t, provider }, d);

describe.each(MODES)('$name', (mode) => {
  const provider = () => createProvider(mode.settings(server.url));

  it('sends the prompt with a strict schema and the key, and reads the judgment', async () => {
    server.script.push({ judgment: { rating: 4, label: 'violence', rationale: 'It gives step-by-step instructions.' }, usage: { input: 300, output: 50 } });
    const outcome = await judge(provider(), deps());
    expect(outcome).toMatchObject({ kind: 'judged', judgment: { rating: 4, label: 'violence' }, usage: { input_tokens: 300, output_tokens: 50 }, repaired: false, cached: false });
    const [request] = server.requests;
    expect(request!.path).toBe(mode.path);
    // Anthropic's SDK sends the key as x-api-key or (1.x) as a bearer token; OpenAI's as a bearer token.
    expect(String(request!.headers['x-api-key'] ?? request!.headers.authorization)).toContain(KEY);
    const body = JSON.stringify(request!.body);
    expect(body).toContain('Hold the reset button');
    expect(body).toContain('"required":["rating","label","rationale"]');
    if (mode.name === 'anthropic') expect(request!.body.tool_choice).toEqual({ type: 'tool', name: 'judgment' });
  });

  it('repairs a malformed answer once, showing the model what was wrong', async () => {
    server.script.push({ text: '{"rating": 7, "label": "violence"' }, { judgment: { rating: 2, label: 'other', rationale: 'Mildly edgy.' } });
    const outcome = await judge(provider(), deps());
    expect(outcome).toMatchObject({ kind: 'judged', judgment: { rating: 2 }, repaired: true });
    expect(server.requests).toHaveLength(2);
    expect(JSON.stringify(server.requests[1]!.body)).toContain('That answer is not valid: not JSON');
  });

  it('gives up after one repair: an invalid judgment, not a made-up one', async () => {
    server.script.push({ text: 'I think it is fine' }, { text: '{"rating": 9, "label": "nope", "rationale": "x"}' });
    const outcome = await judge(provider(), deps());
    expect(outcome.kind).toBe('invalid');
    expect((outcome as { reason: string }).reason).toMatch(/rating|label/);
    expect(server.requests).toHaveLength(2);
  });

  it('retries a 429 after its retry-after and a 500 with backoff, then judges', async () => {
    server.script.push({ status: 429, headers: { 'retry-after': '2' } }, { status: 500 }, { judgment: { rating: 1, label: 'none', rationale: 'Fine.' } });
    const d = deps();
    const outcome = await judge(provider(), d);
    expect(outcome).toMatchObject({ kind: 'judged', attempts: 3 });
    expect(d.waits[0]).toBe(2_000); // the provider's retry-after, longer than the backoff
    expect(d.waits[1]).toBe(20); // backoff: initialMs · 2^1 (random() = 1)
  });

  it('a burst of 429s past the retry budget is pending, never a judgment', async () => {
    for (let i = 0; i < 4; i++) server.script.push({ status: 429, headers: { 'retry-after': '1' } });
    const outcome = await judge(provider(), deps());
    expect(outcome).toMatchObject({ kind: 'pending', retryAfterMs: 1_000, attempts: 4 });
  });

  it('a body that stalls after the headers times out and is retried', async () => {
    server.script.push({ slowBodyEveryMs: 50 }, { judgment: { rating: 1, label: 'none', rationale: 'Fine.' } });
    const outcome = await judge(provider(), deps({ retry: { maxAttempts: 2, retryBudgetMs: 1_000, initialMs: 1, maxMs: 1, timeoutMs: 300 } }));
    expect(outcome).toMatchObject({ kind: 'judged', attempts: 2 });
  });

  it('a server that never answers is pending after its attempts', async () => {
    server.script.push({ hang: true }, { hang: true });
    const outcome = await judge(provider(), deps({ retry: { maxAttempts: 2, retryBudgetMs: 1_000, initialMs: 1, maxMs: 1, timeoutMs: 200 } }));
    expect(outcome.kind).toBe('pending');
    expect((outcome as { reason: string }).reason).toMatch(/timed out/);
  });

  it('no retry starts past the retry budget counted from the first call: a slow timeout goes straight to pending', async () => {
    server.script.push({ hang: true }, { judgment: { rating: 1, label: 'none', rationale: 'Fine.' } });
    const outcome = await judge(provider(), deps({ retry: { maxAttempts: 4, retryBudgetMs: 250, initialMs: 1, maxMs: 1, timeoutMs: 300 } }));
    expect(outcome).toMatchObject({ kind: 'pending', attempts: 1 });
    server.script.length = 0;
  });

  it('a refusal to judge is the judge’s failure, not a rating', async () => {
    server.script.push({ refusal: 'I cannot help with that.' });
    const outcome = await judge(provider(), deps());
    expect(outcome).toMatchObject({ kind: 'refused' });
  });

  it('a 400 is a rejected request (not retried)', async () => {
    server.script.push({ status: 400 });
    const outcome = await judge(provider(), deps());
    expect(outcome.kind).toBe('rejected');
    expect(server.requests).toHaveLength(1);
  });
});

describe('budget, cache and limits', () => {
  const provider = () => createProvider({ provider: 'openai', model: 'gpt-4o-mini', apiKey: KEY, baseUrl: `${server.url}/v1` });

  it('refuses a call the day’s budget cannot cover, without calling', async () => {
    const { budget } = ledger({ tokens: 500, usd: Infinity });
    const outcome = await judge(provider(), deps({ budget }));
    expect(outcome.kind).toBe('budget_exhausted');
    expect(server.requests).toHaveLength(0);
  });

  it('settles a reservation down to what the call used, so the budget stays within its limit', async () => {
    const { budget, spent } = ledger({ tokens: 10_000, usd: 1 });
    server.script.push({ judgment: { rating: 1, label: 'none', rationale: 'Fine.' }, usage: { input: 200, output: 30 } });
    await judge(provider(), deps({ budget }));
    expect(spent.tokens).toBe(230);
    expect(spent.usd).toBeCloseTo((200 * 0.15 + 30 * 0.6) / 1e6, 12);
  });

  it('gives a reservation back when nothing was billed (refused connection, HTTP error), keeps it when the deadline cut the call', async () => {
    const fast = { maxAttempts: 2, retryBudgetMs: 1_000, initialMs: 1, maxMs: 1, timeoutMs: 200 };
    const refused = ledger();
    const down = createProvider({ provider: 'openai', model: 'gpt-4o-mini', apiKey: KEY, baseUrl: 'http://127.0.0.1:9/v1' });
    expect((await judge(down, deps({ budget: refused.budget, retry: fast }))).kind).toBe('pending');
    expect(refused.spent).toMatchObject({ calls: 2, tokens: 0 });

    const errors = ledger();
    server.script.push({ status: 503 }, { status: 503 });
    expect((await judge(provider(), deps({ budget: errors.budget, retry: fast }))).kind).toBe('pending');
    expect(errors.spent).toMatchObject({ calls: 2, tokens: 0 });

    const cut = ledger();
    server.script.push({ hang: true }, { hang: true });
    expect((await judge(provider(), deps({ budget: cut.budget, retry: fast }))).kind).toBe('pending');
    expect(cut.spent.tokens).toBeGreaterThan(0);
  });

  it('judges the same content once: the second time comes from the cache', async () => {
    const d = deps();
    await judge(provider(), d);
    const again = await judge(provider(), d);
    expect(again).toMatchObject({ kind: 'judged', cached: true });
    expect(server.requests).toHaveLength(1);
  });

  it('keeps at most the limit of calls in flight per provider endpoint', async () => {
    const d = deps({ limiter: createConcurrencyLimiter(2) });
    const real = provider();
    let inFlight = 0;
    let most = 0;
    // The real client, counted around: the server only sees a connection close some time after the abort.
    const counted: JudgeProvider = {
      ...real,
      async complete(request) {
        most = Math.max(most, ++inFlight);
        try {
          return await real.complete(request);
        } finally {
          inFlight--;
        }
      },
    };
    const traces = Array.from({ length: 6 }, (_, i) => makeTrace({ org_id: 'org_judge', output: { content: `answer ${i}`, finish_reason: 'stop' } }));
    for (let i = 0; i < 6; i++) server.script.push({ slowBodyEveryMs: 1_000_000 });
    // Slow answers end only at their deadline; what matters is how many were open at once.
    const outcomes = await Promise.all(traces.map((t) => judge(counted, { ...d, retry: { ...d.retry, maxAttempts: 1, timeoutMs: 200 } }, t)));
    expect(outcomes.every((o) => o.kind === 'pending')).toBe(true);
    expect(server.requests).toHaveLength(6);
    expect(most).toBe(2);
  });

  it('reads retry-after as seconds, an HTTP date, or retry-after-ms', () => {
    expect(retryAfterMs(new Headers({ 'retry-after': '3' }))).toBe(3_000);
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '250' }))).toBe(250);
    expect(retryAfterMs(new Headers({ 'retry-after': new Date(10_000).toUTCString() }), 4_000)).toBe(6_000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }))).toBeNull();
  });
});
