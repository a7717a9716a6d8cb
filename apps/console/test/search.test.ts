/**
 * Finding traces over HTTP (search.ts) on real parts: PGlite with the repository's migrations, keys
 * stored by hash and checked by the gateway's authenticator. Two organizations hold the same trace
 * ids, users and sessions; neither ever sees the other's. Bad queries are 400s naming the parameter;
 * a cursor of another organization or another query is refused.
 */
import { createApiKeyAuthenticator, hashApiKey } from '@metronis/ingest-gateway';
import { makeTrace, type Trace, type Verdict } from '@metronis/schemas';
import { createPgliteStore, type RelationalStore } from '@metronis/stores';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleApp } from '../src/index.js';

const A = 'org_search_a';
const B = 'org_search_b';
const KEYS = { aRead: 'mtr_search_a_read_0123456789', aIngest: 'mtr_search_a_ingest_0123456789', bRead: 'mtr_search_b_read_0123456789' } as const;
const T0 = Date.parse('2026-11-30T08:00:00Z');
const HOUR = 3_600_000;

let store: RelationalStore;
let app: ReturnType<typeof createConsoleApp>;

function verdict(trace: Trace, overrides: Partial<Verdict>): Verdict {
  return {
    trace_id: trace.trace_id,
    org_id: trace.org_id,
    tier: 1,
    decided_at: trace.timestamp + 100,
    passed: true,
    severity: 'none',
    score: 1,
    finding_kinds: [],
    failed_modules: [],
    application: trace.application,
    environment: trace.environment,
    ...overrides,
  };
}

async function get(path: string, key: string = KEYS.aRead): Promise<{ status: number; body: any }> {
  const response = await app.request(path, { headers: { authorization: `Bearer ${key}` } });
  return { status: response.status, body: await response.json() };
}

beforeAll(async () => {
  store = createPgliteStore();
  await store.migrate();
  for (const [org, key, scopes] of [
    [A, KEYS.aRead, ['read']],
    [A, KEYS.aIngest, ['ingest']],
    [B, KEYS.bRead, ['read']],
  ] as const) {
    await store.ensureOrganization(org, org);
    await store.putApiKey({ id: `key_${key.slice(11, 20)}`, org_id: org, hash: hashApiKey(key), prefix: key.slice(0, 8), scopes: [...scopes] });
  }
  for (const org of [A, B]) {
    const traces: Trace[] = [];
    for (let i = 0; i < 12; i++) {
      traces.push(
        makeTrace({
          org_id: org,
          trace_id: `trace-${i}`,
          timestamp: T0 + i * HOUR,
          received_at: T0 + i * HOUR + 10,
          application: i % 2 === 0 ? 'checkout-bot' : 'faq-bot',
          environment: i % 3 === 0 ? 'production' : 'staging',
          model: { provider: 'openai', name: i < 6 ? 'gpt-4o' : 'gpt-4o-mini', parameters_json: null },
          user_id: i % 2 === 0 ? 'alice' : 'bob',
          session_id: `s-${i % 3}`,
          tags: ['vip'],
          metadata: { region: i % 2 === 0 ? 'eu' : 'us' },
          input: { text: `${org} question ${i}: my email is someone@example.com`, messages: [] },
          output: { content: i === 4 ? 'The refund was approved' : 'Answer', finish_reason: 'stop' },
        }),
      );
    }
    await store.upsertTraces(traces);
    await store.upsertVerdicts(
      traces.slice(0, 10).map((t, i) =>
        verdict(t, i % 3 === 0 ? { passed: false, severity: i === 9 ? 'critical' : 'high', finding_kinds: ['pii.email'], failed_modules: ['pii'], tier: 1 } : { severity: 'low' }),
      ),
    );
  }
  app = createConsoleApp({ store, authenticate: createApiKeyAuthenticator({ store }), ready: async () => ({}) });
}, 60_000);

afterAll(async () => {
  await store?.close();
});

describe('GET /v1/traces', () => {
  it('answers summaries newest first, with the documented shape', async () => {
    const { status, body } = await get('/v1/traces');
    expect(status).toBe(200);
    expect(body.next_cursor).toBeNull();
    expect(body.items.map((t: { trace_id: string }) => t.trace_id)).toEqual(Array.from({ length: 12 }, (_, i) => `trace-${11 - i}`));
    expect(body.items.find((t: { trace_id: string }) => t.trace_id === 'trace-9')).toEqual({
      trace_id: 'trace-9',
      timestamp: new Date(T0 + 9 * HOUR).toISOString(),
      received_at: new Date(T0 + 9 * HOUR + 10).toISOString(),
      application: 'faq-bot',
      environment: 'production',
      model: { provider: 'openai', name: 'gpt-4o-mini' },
      user_id: 'bob',
      session_id: 's-0',
      severity: 'critical',
      passed: false,
      score: 1,
      finding_kinds: ['pii.email'],
      failed_modules: ['pii'],
      decided_by_tier: 1,
      preview: { input: `${A} question 9: my email is someone@example.com`, output: 'Answer' },
    });
    expect(body.items.find((t: { trace_id: string }) => t.trace_id === 'trace-11')).toMatchObject({ severity: null, passed: null, score: null, decided_by_tier: null, finding_kinds: [] });
  });

  it("finds yesterday's failing PII traces in production by filter and by full text, and pages through them", async () => {
    const filter = `from=${new Date(T0).toISOString()}&to=${new Date(T0 + 24 * HOUR).toISOString()}&environment=production&passed=false&failed_module=pii`;
    const all = await get(`/v1/traces?${filter}`);
    expect(all.body.items.map((t: { trace_id: string }) => t.trace_id)).toEqual(['trace-9', 'trace-6', 'trace-3', 'trace-0']);
    const first = await get(`/v1/traces?${filter}&limit=3`);
    expect(first.body.items).toHaveLength(3);
    expect(typeof first.body.next_cursor).toBe('string');
    const second = await get(`/v1/traces?${filter}&limit=3&cursor=${first.body.next_cursor}`);
    expect(second.body.items.map((t: { trace_id: string }) => t.trace_id)).toEqual(['trace-0']);
    expect(second.body.next_cursor).toBeNull();
    expect((await get('/v1/traces?q=refund%20approved')).body.items.map((t: { trace_id: string }) => t.trace_id)).toEqual(['trace-4']);
    expect((await get('/v1/traces?q=someone%40example.com&finding_kind=pii.email&severity_at_least=high&sort=severity')).body.items.map((t: { trace_id: string }) => t.trace_id)).toEqual([
      'trace-9',
      'trace-6',
      'trace-3',
      'trace-0',
    ]);
  });

  it('applies each filter', async () => {
    const ids = async (query: string) => (await get(`/v1/traces?${query}`)).body.items.map((t: { trace_id: string }) => t.trace_id);
    expect(await ids('application=checkout-bot&model_name=gpt-4o&model_provider=openai')).toEqual(['trace-4', 'trace-2', 'trace-0']);
    expect(await ids('user_id=bob&session_id=s-1')).toEqual(['trace-7', 'trace-1']);
    expect(await ids('tag=vip&metadata.region=us&decided_by_tier=1&severity=low')).toEqual(['trace-7', 'trace-5', 'trace-1']);
    expect(await ids('tag=vip&tag=missing')).toEqual([]);
    expect(await ids('passed=true&order=asc&limit=2')).toEqual(['trace-1', 'trace-2']);
  });

  it('refuses bad queries with a 400 naming the parameter', async () => {
    const cases: [string, string][] = [
      ['colour=red', '$.query.colour'],
      ['limit=0', '$.query.limit'],
      ['limit=201', '$.query.limit'],
      ['limit=abc', '$.query.limit'],
      ['passed=yes', '$.query.passed'],
      ['severity=bad', '$.query.severity'],
      ['decided_by_tier=-1', '$.query.decided_by_tier'],
      ['from=yesterday', '$.query.from'],
      ['to=0000-01-01T00:00:00Z', '$.query.to'],
      ['from=1969-12-31T23:59:59Z', '$.query.from'],
      ['from=2026-12-01T00:00:00Z&to=2026-11-01T00:00:00Z', '$.query.from'],
      ['application=a&application=b', '$.query.application'],
      ['application=', '$.query.application'],
      ['sort=random', '$.query.sort'],
      ['cursor=!!!', '$.query.cursor'],
      [`cursor=${Buffer.from('{"v":1}').toString('base64url')}`, '$.query.cursor'],
      ['metadata.=x', '$.query["metadata."]'],
      ['q=a%00b', '$.query.q'],
    ];
    for (const [query, path] of cases) {
      const { status, body } = await get(`/v1/traces?${query}`);
      expect(status, query).toBe(400);
      expect(body.error.code).toBe('invalid_query');
      expect(body.error.issues.map((i: { path: string }) => i.path), query).toContain(path);
    }
  });

  it("refuses a cursor of another query or another organization's key", async () => {
    const first = await get('/v1/traces?limit=2&application=faq-bot');
    const cursor = first.body.next_cursor as string;
    expect((await get(`/v1/traces?limit=2&application=faq-bot&cursor=${cursor}`)).status).toBe(200);
    expect((await get(`/v1/traces?limit=5&application=faq-bot&cursor=${cursor}`)).status, 'a different page size is the same query').toBe(200);
    for (const other of ['application=checkout-bot', 'application=faq-bot&order=asc', 'application=faq-bot&sort=severity', 'application=faq-bot&q=question']) {
      const answer = await get(`/v1/traces?limit=2&${other}&cursor=${cursor}`);
      expect(answer.status, other).toBe(400);
      expect(answer.body.error.issues[0].path).toBe('$.query.cursor');
    }
    const fromB = await get(`/v1/traces?limit=2&application=faq-bot&cursor=${cursor}`, KEYS.bRead);
    expect(fromB.status).toBe(400);
    expect(fromB.body.error.message).toMatch(/another query or organization/);
    expect((await get(`/v1/users/bob/traces?limit=2&application=faq-bot&cursor=${cursor}`)).status, 'another route').toBe(400);
  });

  it('needs the read or admin scope', async () => {
    expect((await get('/v1/traces', KEYS.aIngest)).status).toBe(403);
    expect((await app.request('/v1/traces')).status).toBe(401);
  });
});

describe('GET /v1/sessions/:id and GET /v1/users/:id/traces', () => {
  it("reads a session's traces oldest first, paged", async () => {
    const { body } = await get('/v1/sessions/s-1?limit=3');
    expect(body.session_id).toBe('s-1');
    expect(body.items.map((t: { trace_id: string }) => t.trace_id)).toEqual(['trace-1', 'trace-4', 'trace-7']);
    const next = await get(`/v1/sessions/s-1?limit=3&cursor=${body.next_cursor}`);
    expect(next.body.items.map((t: { trace_id: string }) => t.trace_id)).toEqual(['trace-10']);
    expect(next.body.next_cursor).toBeNull();
    expect((await get(`/v1/sessions/s-2?limit=3&cursor=${body.next_cursor}`)).status).toBe(400);
    expect((await get('/v1/sessions/s-1?application=x')).body.error.issues[0].path).toBe('$.query.application');
    expect((await get('/v1/sessions/nobody')).body).toEqual({ session_id: 'nobody', items: [], next_cursor: null });
  });

  it("reads a user's traces with the other filters, and refuses user_id in the query", async () => {
    const { body } = await get('/v1/users/alice/traces?environment=production');
    expect(body.items.map((t: { trace_id: string }) => t.trace_id)).toEqual(['trace-6', 'trace-0']);
    expect((await get('/v1/users/alice/traces?user_id=bob')).status).toBe(400);
  });

  it("never answers another organization's traces, on any route", async () => {
    for (const path of ['/v1/traces', '/v1/traces?q=question', '/v1/sessions/s-1', '/v1/users/alice/traces', '/v1/traces?sort=severity']) {
      const a = (await get(path, KEYS.aRead)).body.items as { preview: { input: string } }[];
      const b = (await get(path, KEYS.bRead)).body.items as { preview: { input: string } }[];
      expect(a.length, path).toBeGreaterThan(0);
      expect(a.every((t) => t.preview.input.startsWith(A)), path).toBe(true);
      expect(b.every((t) => t.preview.input.startsWith(B)), path).toBe(true);
    }
  });
});

describe('GET /v1/sessions', () => {
  const ids = (body: { items: Array<{ session_id: string }> }) => body.items.map((s) => s.session_id);

  it('lists sessions, the most recently active first, with their counts and worst severity', async () => {
    const { status, body } = await get('/v1/sessions');
    expect(status).toBe(200);
    expect(ids(body)).toEqual(['s-2', 's-1', 's-0']);
    expect(body.next_cursor).toBeNull();
    expect(body.items[2]).toEqual({
      session_id: 's-0',
      first_at: new Date(T0).toISOString(),
      last_at: new Date(T0 + 9 * HOUR).toISOString(),
      traces: 4,
      failed: 4,
      pending: 0,
      worst_severity: 'critical',
      applications: ['checkout-bot', 'faq-bot'],
      user_ids: ['alice', 'bob'],
    });
    expect(body.items[0]).toMatchObject({ session_id: 's-2', traces: 4, failed: 0, pending: 1, worst_severity: 'low' });
  });

  it('filters the traces counted and the sessions kept, and pages by key', async () => {
    expect(ids((await get('/v1/sessions?failed=true')).body)).toEqual(['s-0']);
    expect(ids((await get('/v1/sessions?failed=false')).body)).toEqual(['s-2', 's-1']);
    const morning = await get(`/v1/sessions?from=${new Date(T0).toISOString()}&to=${new Date(T0 + 3 * HOUR).toISOString()}&application=checkout-bot`);
    expect(morning.body.items.map((s: { session_id: string; traces: number }) => [s.session_id, s.traces])).toEqual([
      ['s-2', 1],
      ['s-0', 1],
    ]);
    expect(ids((await get('/v1/sessions?user_id=bob&environment=production')).body)).toEqual(['s-0']);
    const first = await get('/v1/sessions?limit=2');
    expect(ids(first.body)).toEqual(['s-2', 's-1']);
    const second = await get(`/v1/sessions?limit=2&cursor=${first.body.next_cursor}`);
    expect(ids(second.body)).toEqual(['s-0']);
    expect(second.body.next_cursor).toBeNull();
  });

  it('refuses bad queries and cursors of another query or organization with a 400 naming the parameter', async () => {
    for (const [query, path] of [
      ['failed=maybe', '$.query.failed'],
      ['limit=0', '$.query.limit'],
      ['session_id=s-1', '$.query.session_id'],
      ['from=2026-12-01T00:00:00Z&to=2026-11-01T00:00:00Z', '$.query.from'],
      ['cursor=!!!', '$.query.cursor'],
      [`cursor=${Buffer.from('{"v":1,"b":"x","k":[]}').toString('base64url')}`, '$.query.cursor'],
    ]) {
      const { status, body } = await get(`/v1/sessions?${query}`);
      expect(status, query).toBe(400);
      expect(body.error.code).toBe('invalid_query');
      expect(body.error.issues.map((i: { path: string }) => i.path), query).toContain(path);
    }
    const cursor = (await get('/v1/sessions?limit=1')).body.next_cursor as string;
    expect((await get(`/v1/sessions?limit=1&failed=false&cursor=${cursor}`)).status).toBe(400);
    expect((await get(`/v1/sessions?limit=1&cursor=${cursor}`, KEYS.bRead)).status).toBe(400);
    expect((await get('/v1/sessions', KEYS.aIngest)).status).toBe(403);
  });

  it("never lists another organization's sessions", async () => {
    await store.upsertTraces([makeTrace({ org_id: B, trace_id: 'b-only', timestamp: T0, session_id: 'b-private' })]);
    expect(ids((await get('/v1/sessions')).body)).not.toContain('b-private');
    expect(ids((await get('/v1/sessions', KEYS.bRead)).body)).toContain('b-private');
  });
});
