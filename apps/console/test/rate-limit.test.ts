/**
 * The console's /v1 routes take from the organization's requests limit, after the key check: 429 in
 * the console's envelope with Retry-After and RateLimit headers; organizations apart; health routes
 * never limited.
 */
import { createApiKeyAuthenticator, createMemoryRateLimiter, fixedOrgLimits, hashApiKey } from '@metronis/ingest-gateway';
import { createPgliteStore, type RelationalStore } from '@metronis/stores';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleApp } from '../src/index.js';

const KEY_A = 'mk_test_rl_a_0123456789';
const KEY_B = 'mk_test_rl_b_0123456789';

describe('console rate limits', () => {
  let store: RelationalStore;
  let app: ReturnType<typeof createConsoleApp>;

  beforeAll(async () => {
    store = createPgliteStore();
    await store.migrate();
    for (const [org, key] of [['org_rl_a', KEY_A], ['org_rl_b', KEY_B]] as const) {
      await store.ensureOrganization(org, org);
      await store.putApiKey({ id: `key_${org}`, org_id: org, hash: hashApiKey(key), prefix: key.slice(0, 8), scopes: ['read'], expires_at: null });
    }
    app = createConsoleApp({
      store,
      authenticate: createApiKeyAuthenticator({ store }),
      ready: async () => ({ postgres: true }),
      rateLimiter: createMemoryRateLimiter(),
      rateLimits: fixedOrgLimits({ requests_per_second: 1, requests_burst: 2, traces_per_second: 1, traces_burst: 1 }),
    });
  }, 60_000);
  afterAll(async () => {
    await store.close();
  });

  const get = (key: string) => app.request('/v1/traces/nope', { headers: { authorization: `Bearer ${key}` } });

  it('answers the burst, then 429 with the envelope and headers; another organization is not affected', async () => {
    const first = await get(KEY_A);
    expect(first.status).toBe(404);
    expect(first.headers.get('ratelimit-limit')).toBe('2');
    expect(first.headers.get('ratelimit-remaining')).toBe('1');
    expect((await get(KEY_A)).status).toBe(404);
    const refused = await get(KEY_A);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.headers.get('ratelimit-remaining')).toBe('0');
    expect(refused.headers.get('ratelimit-policy')).toBe('2;w=2;comment="requests"');
    expect(await refused.json()).toEqual({ error: { code: 'rate_limited', message: expect.stringMatching(/rate limit of requests/), request_id: refused.headers.get('x-request-id') } });
    expect((await get(KEY_B)).status).toBe(404);
  });

  it('does not charge unauthenticated requests or the health routes', async () => {
    const anonymous = await app.request('/v1/traces/nope');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('ratelimit-limit')).toBeNull();
    for (let i = 0; i < 5; i++) expect((await app.request('/healthz')).status).toBe(200);
  });
});
