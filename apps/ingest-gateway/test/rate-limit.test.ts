import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryRateLimiter, createRedisRateLimiter, DEFAULT_ORG_RATE_LIMITS, fixedOrgLimits, gcra, orgRateLimitsSchema, type OrgRateLimits, type RateLimiter } from '../src/index.js';
import { post, SETUP_TIMEOUT_MS, traceBody } from './fixtures.js';
import { rateLimiterContract } from './rate-limit-contract.js';
import { startTestGateway, type TestGateway } from './support.js';

const shared = createMemoryRateLimiter();
rateLimiterContract('in-process GCRA', () => shared);

describe('gcra on a controlled clock', () => {
  it('refills one unit per emission interval, never above the burst', () => {
    const limit = { rate: 10, burst: 3 };
    let tat: number | undefined;
    const take = (now: number, cost = 1) => {
      const step = gcra(tat, now, cost, limit);
      tat = step.tat;
      return step.decision;
    };
    expect([take(0), take(0), take(0)].map((d) => d.allowed)).toEqual([true, true, true]);
    expect(take(0)).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 100, resetMs: 300 });
    expect(take(99).allowed).toBe(false);
    expect(take(100)).toMatchObject({ allowed: true, remaining: 0 });
    // A long rest refills to the burst and no further.
    expect(take(10_000)).toMatchObject({ allowed: true, remaining: 2, resetMs: 100 });
  });

  it('gives a cost above the burst the time until the bucket is full, however long the wait', () => {
    const limit = { rate: 1, burst: 10 };
    const now = 1_000_000;
    const half = gcra(undefined, now, 5, limit);
    const refused = gcra(half.tat, now, 11, limit).decision;
    expect(refused).toMatchObject({ allowed: false, remaining: 5, retryAfterMs: 5000, resetMs: 5000 });
  });
});

describe('gcra on a fractional clock', () => {
  it('allows a take that exactly fits the burst, and counts what remains, whatever the fraction of the clock (now + x - x is not always now)', () => {
    const wrong: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const now = 1 + i * 48.123456789;
      const exact = gcra(undefined, now, 3, { rate: 1, burst: 3 }).decision;
      const partial = gcra(undefined, now, 1, { rate: 1, burst: 3 }).decision;
      if (!exact.allowed || exact.remaining !== 0 || !partial.allowed || partial.remaining !== 2) wrong.push(now);
    }
    expect(wrong).toEqual([]);
  });
});

describe('the in-process limiter', () => {
  it('keeps at most maxKeys keys, dropping full buckets first', async () => {
    let now = 0;
    const limiter = createMemoryRateLimiter({ maxKeys: 3, clock: () => now });
    const limit = { rate: 1, burst: 2 };
    for (const key of ['a', 'b', 'c']) await limiter.take(key, 2, limit);
    expect(limiter.size()).toBe(3);
    now = 1_500; // a key's bucket is full after 2 s: none yet
    await limiter.take('d', 1, limit);
    expect(limiter.size()).toBe(3);
    // 'a' was the oldest and was forgiven; 'b' still remembers its debt.
    expect((await limiter.take('a', 2, limit)).allowed).toBe(true);
    now = 10_000;
    await limiter.take('e', 1, limit);
    expect(limiter.size()).toBeLessThanOrEqual(3);
  });
});

describe('orgRateLimitsSchema', () => {
  it('takes positive integers within the maxima, nothing else', () => {
    expect(orgRateLimitsSchema.parse(DEFAULT_ORG_RATE_LIMITS)).toEqual(DEFAULT_ORG_RATE_LIMITS);
    const bad = (patch: Record<string, unknown>) => orgRateLimitsSchema.safeParse({ ...DEFAULT_ORG_RATE_LIMITS, ...patch }).success;
    expect(bad({ requests_per_second: 0 })).toBe(false);
    expect(bad({ traces_burst: 1.5 })).toBe(false);
    expect(bad({ traces_per_second: 1_000_001 })).toBe(false);
    expect(bad({ requests_burst: '10' })).toBe(false);
    expect(bad({ extra: 1 })).toBe(false);
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface ErrorJson {
  error: { code: string; message: string; request_id: string };
}

describe('rate limits on the gateway', () => {
  const small: OrgRateLimits = { requests_per_second: 1, requests_burst: 4, traces_per_second: 1, traces_burst: 10 };
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({ rateLimiter: createMemoryRateLimiter(), rateLimits: fixedOrgLimits(small) });
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await gw.close();
  });

  const batch = (n: number) => ({ traces: Array.from({ length: n }, () => traceBody()) });

  it('charges each request 1 and each valid trace 1, refusing with 429, Retry-After and RateLimit headers, and writes nothing refused', async () => {
    const first = await gw.app.request(...post('/v1/traces/batch', batch(6)));
    expect(first.status).toBe(202);
    // Traces: 6 of 10 taken (the most constrained of the two limits: 4 of 10 left vs 3 of 4 requests).
    expect(first.headers.get('ratelimit-limit')).toBe('10');
    expect(first.headers.get('ratelimit-remaining')).toBe('4');
    expect(Number(first.headers.get('ratelimit-reset'))).toBe(6);
    expect(first.headers.get('ratelimit-policy')).toBe('4;w=4;comment="requests", 10;w=10;comment="traces"');
    expect(first.headers.get('retry-after')).toBeNull();

    const onLog = await gw.countOnLog();
    const sends = gw.sends.length;
    const refused = await gw.app.request(...post('/v1/traces/batch', { traces: [...batch(5).traces, { input: 'no output' }] }));
    const text = await refused.text();
    expect(refused.status, text).toBe(429);
    const body = JSON.parse(text) as ErrorJson;
    expect(body.error.code).toBe('rate_limited');
    expect(body.error.message).toMatch(/traces \(this request carries 5\)/);
    expect(body.error.request_id).toBe(refused.headers.get('x-request-id'));
    expect(Number(refused.headers.get('retry-after'))).toBe(1);
    expect(refused.headers.get('ratelimit-limit')).toBe('10');
    expect(refused.headers.get('ratelimit-remaining')).toBe('4');
    expect(await gw.countOnLog()).toBe(onLog);
    expect(gw.sends.length).toBe(sends);

    // A batch larger than the burst can never pass, and says so.
    const tooBig = await gw.app.request(...post('/v1/traces/batch', batch(11)));
    expect(tooBig.status).toBe(429);
    expect(((await tooBig.json()) as ErrorJson).error.message).toMatch(/carries 11 traces, more than the organization's burst of 10/);

    // 3 requests so far; the 4th passes (and fits 4 traces), the 5th is refused on the requests limit.
    expect((await gw.app.request(...post('/v1/traces', traceBody()))).status).toBe(202);
    const overRequests = await gw.app.request(...post('/v1/traces', traceBody()));
    expect(overRequests.status).toBe(429);
    const over = (await overRequests.json()) as ErrorJson;
    expect(over.error.message).toMatch(/rate limit of requests/);
    expect(overRequests.headers.get('ratelimit-limit')).toBe('4');
    expect(overRequests.headers.get('ratelimit-policy')).toBe('4;w=4;comment="requests"');
    expect(Number(overRequests.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await gw.countOnLog()).toBe(onLog + 1);
  });

  it('does not limit what fails authentication or the health routes', async () => {
    const anonymous = await gw.app.request('/v1/traces', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('ratelimit-limit')).toBeNull();
    expect((await gw.app.request('/healthz')).status).toBe(200);
  });
});

describe('when the limiter cannot answer', () => {
  let gw: TestGateway;
  let limiter: RateLimiter;

  beforeAll(async () => {
    // The real Redis limiter pointed at a port where nothing listens.
    limiter = createRedisRateLimiter({ url: `redis://127.0.0.1:${await closedPort()}`, timeoutMs: 100 });
    gw = await startTestGateway({ rateLimiter: limiter, rateLimits: fixedOrgLimits({ requests_per_second: 1, requests_burst: 1, traces_per_second: 1, traces_burst: 1 }) });
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await limiter.close();
    await gw.close();
  });

  it('lets requests through (fail open), without RateLimit headers, and logs once per interval with a count', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await gw.app.request(...post('/v1/traces', traceBody()));
      expect(res.status).toBe(202);
      expect(res.headers.get('ratelimit-limit')).toBeNull();
    }
    const lines = gw.logger.lines.filter((l) => l.obj.event === 'rate_limit_fail_open');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'error', obj: { kind: 'requests', failed_open: 1 } });
  });

  it('lets requests through when the limits cannot be read either', async () => {
    const failing = await startTestGateway({ rateLimiter: createMemoryRateLimiter(), rateLimits: { get: () => Promise.reject(new Error('store down')) } });
    try {
      expect((await failing.app.request(...post('/v1/traces', traceBody()))).status).toBe(202);
      expect(failing.logger.lines.some((l) => l.obj.event === 'rate_limit_fail_open')).toBe(true);
    } finally {
      await failing.close();
    }
  });
});
