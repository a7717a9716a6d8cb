/**
 * Every console endpoint across two organizations and every kind of key, on real parts: PGlite for
 * the relational store, chDB for the facts, keys stored by hash and checked by the gateway's
 * authenticator. Scopes give 401/403 as documented; another organization's ids answer 404 and are
 * left untouched; admin actions land in the audit log; deletions reach both stores.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONSOLE_CSP, createApiKeyAuthenticator, hashApiKey } from '@metronis/ingest-gateway';
import { makeTrace, type TierResult, type Trace } from '@metronis/schemas';
import { createChdbFactsStore, createPgliteStore, toEvaluationFact, type ApiKeyScope, type FactsStore, type RelationalStore } from '@metronis/stores';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleApp } from '../src/index.js';

const A = 'org_alpha';
const B = 'org_beta';
const KEYS = {
  aAdmin: 'mtr_test_a_admin_0123456789',
  aRead: 'mtr_test_a_read_0123456789',
  aIngest: 'mtr_test_a_ingest_0123456789',
  aRevoked: 'mtr_test_a_revoked_0123456789',
  bAdmin: 'mtr_test_b_admin_0123456789',
  bRead: 'mtr_test_b_read_0123456789',
} as const;

let store: RelationalStore;
let facts: FactsStore;
let dir: string;
let app: ReturnType<typeof createConsoleApp>;

function tierResult(trace: Trace): TierResult {
  return {
    evaluation_id: `${trace.trace_id}:1`,
    trace_id: trace.trace_id,
    org_id: trace.org_id,
    tier: 1,
    evaluated_at: Date.now(),
    trace_timestamp: trace.timestamp,
    passed: true,
    severity: 'none',
    score: 1,
    modules: [],
    latency_us: 10,
  };
}

/** A trace in both stores: Postgres (trace + evaluation) and the facts (trace + evaluation facts). */
async function seedTrace(orgId: string, overrides: Partial<Trace> = {}): Promise<Trace> {
  const trace = makeTrace({ org_id: orgId, ...overrides });
  await store.upsertTraces([trace]);
  await store.upsertEvaluations([tierResult(trace)]);
  await facts.insertTraceFacts([
    {
      org_id: orgId,
      trace_id: trace.trace_id,
      timestamp: trace.timestamp,
      received_at: trace.received_at,
      application: '',
      environment: '',
      model_provider: '',
      model_name: '',
      input_tokens: 1,
      output_tokens: 1,
      cost_usd: 0,
      latency_ms: 1,
      user_id: trace.user_id ?? '',
    },
  ]);
  await facts.insertEvaluationFacts([toEvaluationFact(tierResult(trace))]);
  return trace;
}

async function factRows(orgId: string, traceId: string): Promise<number> {
  const [row] = await facts.query<{ n: number }>('SELECT count() AS n FROM trace_facts_v1 FINAL WHERE org_id = {org:String} AND trace_id = {id:String}', { org: orgId, id: traceId });
  return Number(row?.n ?? 0);
}

function call(method: string, path: string, key: string | null, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const h: Record<string, string> = { ...headers };
  if (key !== null) h.authorization = `Bearer ${key}`;
  if (body !== undefined) h['content-type'] = 'application/json';
  return Promise.resolve(app.request(path, { method, headers: h, ...(body === undefined ? {} : { body: JSON.stringify(body) }) }));
}

async function json<T = any>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'metronis-console-tenancy-'));
  store = createPgliteStore();
  await store.migrate();
  facts = createChdbFactsStore({ path: join(dir, 'facts') });
  await facts.migrate();
  await store.ensureOrganization(A, 'Alpha', { operator: true });
  await store.ensureOrganization(B, 'Beta');
  const put = (org: string, key: string, scopes: ApiKeyScope[]) => store.putApiKey({ id: `key_${key.slice(9)}`, org_id: org, hash: hashApiKey(key), prefix: key.slice(0, 12), scopes });
  await put(A, KEYS.aAdmin, ['admin']);
  await put(A, KEYS.aRead, ['read']);
  await put(A, KEYS.aIngest, ['ingest']);
  await put(A, KEYS.aRevoked, ['admin', 'read']);
  await put(B, KEYS.bAdmin, ['admin', 'read']);
  await put(B, KEYS.bRead, ['read']);
  await store.forOrg(A).revokeApiKey(`key_${KEYS.aRevoked.slice(9)}`, { keyId: 'test' });
  app = createConsoleApp({ store, facts, authenticate: createApiKeyAuthenticator({ store, cacheTtlMs: 0 }), ready: async () => ({}) });
}, 120_000);

afterAll(async () => {
  await store?.close();
  await facts?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Each endpoint, with a request that succeeds for the right key. `fresh` builds what it needs per call. */
interface Endpoint {
  name: string;
  scope: 'read' | 'admin' | 'operator';
  ok: number;
  request: () => Promise<{ method: string; path: string; body?: unknown }>;
}

const ENDPOINTS: Endpoint[] = [
  { name: 'GET trace', scope: 'read', ok: 200, request: async () => ({ method: 'GET', path: `/v1/traces/${(await seedTrace(A)).trace_id}` }) },
  { name: 'GET policy', scope: 'read', ok: 200, request: async () => ({ method: 'GET', path: '/v1/policy' }) },
  { name: 'PUT policy', scope: 'admin', ok: 200, request: async () => ({ method: 'PUT', path: '/v1/policy', body: { fail_at: 'high' } }) },
  { name: 'GET org', scope: 'read', ok: 200, request: async () => ({ method: 'GET', path: '/v1/org' }) },
  { name: 'PUT retention', scope: 'admin', ok: 200, request: async () => ({ method: 'PUT', path: '/v1/org/retention', body: { days: 90 } }) },
  {
    name: 'PUT rate limits',
    scope: 'admin',
    ok: 200,
    request: async () => ({ method: 'PUT', path: '/v1/org/rate-limits', body: { requests_per_second: 50, requests_burst: 100, traces_per_second: 500, traces_burst: 1000 } }),
  },
  { name: 'DELETE rate limits', scope: 'admin', ok: 200, request: async () => ({ method: 'DELETE', path: '/v1/org/rate-limits' }) },
  { name: 'GET keys', scope: 'admin', ok: 200, request: async () => ({ method: 'GET', path: '/v1/keys' }) },
  { name: 'POST keys', scope: 'admin', ok: 201, request: async () => ({ method: 'POST', path: '/v1/keys', body: { name: 'ci', scopes: ['ingest'] } }) },
  {
    name: 'DELETE key',
    scope: 'admin',
    ok: 200,
    request: async () => {
      const id = `key_${randomUUID()}`;
      await store.putApiKey({ id, org_id: A, hash: hashApiKey(id), prefix: 'mtr_x', scopes: ['ingest'] });
      return { method: 'DELETE', path: `/v1/keys/${id}` };
    },
  },
  { name: 'GET audit', scope: 'admin', ok: 200, request: async () => ({ method: 'GET', path: '/v1/audit?limit=5' }) },
  { name: 'DELETE trace', scope: 'admin', ok: 200, request: async () => ({ method: 'DELETE', path: `/v1/traces/${(await seedTrace(A)).trace_id}` }) },
  { name: 'DELETE user data', scope: 'admin', ok: 200, request: async () => ({ method: 'DELETE', path: `/v1/users/u-${randomUUID()}/data` }) },
  { name: 'GET compliance report', scope: 'admin', ok: 200, request: async () => ({ method: 'GET', path: '/v1/compliance/report' }) },
  { name: 'GET traces (search)', scope: 'read', ok: 200, request: async () => ({ method: 'GET', path: '/v1/traces?limit=5&environment=test' }) },
  { name: 'GET session', scope: 'read', ok: 200, request: async () => ({ method: 'GET', path: '/v1/sessions/s-1' }) },
  { name: "GET a user's traces", scope: 'read', ok: 200, request: async () => ({ method: 'GET', path: '/v1/users/u-1/traces?q=capital' }) },
  ...['traces', 'modules', 'finding-kinds', 'models'].map((what): Endpoint => ({ name: `GET analytics ${what}`, scope: 'read', ok: 200, request: async () => ({ method: 'GET', path: `/v1/analytics/${what}` }) })),
  { name: 'POST analytics SQL', scope: 'read', ok: 200, request: async () => ({ method: 'POST', path: '/v1/analytics/sql', body: { sql: 'SELECT count() AS n FROM trace_facts_v1 FINAL' } }) },
  { name: 'POST orgs', scope: 'operator', ok: 201, request: async () => ({ method: 'POST', path: '/v1/orgs', body: { name: `Org ${randomUUID()}` } }) },
];

describe('every endpoint × every kind of key', () => {
  for (const endpoint of ENDPOINTS) {
    it(`${endpoint.name}: ${endpoint.ok} for the right key, 403 for too few scopes, 401 without a usable key`, async () => {
      const allowed = endpoint.scope === 'read' ? [KEYS.aRead, KEYS.aAdmin] : [KEYS.aAdmin];
      const refused = endpoint.scope === 'read' ? [KEYS.aIngest] : [KEYS.aIngest, KEYS.aRead];
      for (const key of allowed) {
        const { method, path, body } = await endpoint.request();
        const res = await call(method, path, key, body);
        expect(res.status, `${method} ${path} with ${key}: ${await res.clone().text()}`).toBe(endpoint.ok);
      }
      for (const key of refused) {
        const { method, path, body } = await endpoint.request();
        const res = await call(method, path, key, body);
        expect(res.status, `${method} ${path} with ${key}`).toBe(403);
        expect((await json(res)).error.code).toBe('insufficient_scope');
      }
      const { method, path, body } = await endpoint.request();
      const none = await call(method, path, null, body);
      expect(none.status).toBe(401);
      expect((await json(none)).error.code).toBe('missing_api_key');
      const revoked = await call(method, path, KEYS.aRevoked, body);
      expect(revoked.status).toBe(401);
      expect((await json(revoked)).error).toMatchObject({ code: 'revoked_api_key', message: 'this API key has been revoked.' });
    });
  }

  it('POST /v1/orgs: 403 for an admin key of an organization that is not an operator', async () => {
    const res = await call('POST', '/v1/orgs', KEYS.bAdmin, { name: 'Sneaky' });
    expect(res.status).toBe(403);
    expect((await json(res)).error.code).toBe('insufficient_scope');
  });
});

describe('across organizations', () => {
  it("answers 404 for another organization's trace, deletes nothing of it (202: nothing of B's was stored), and leaves it in both stores", async () => {
    const trace = await seedTrace(A);
    for (const key of [KEYS.bRead, KEYS.bAdmin]) {
      const res = await call('GET', `/v1/traces/${trace.trace_id}`, key);
      expect(res.status, 'GET by B').toBe(404);
      expect((await json(res)).error.code).toBe('not_found');
    }
    const res = await call('DELETE', `/v1/traces/${trace.trace_id}`, KEYS.bAdmin);
    expect(res.status, 'DELETE by B').toBe(202);
    expect((await json(res)).deleted.postgres).toEqual({ traces: 0, verdicts: 0, evaluations: 0 });
    expect(await store.forOrg(A).getTrace(trace.trace_id)).not.toBeNull();
    expect(await factRows(A, trace.trace_id)).toBe(1);
  });

  it("answers 404 to revoking another organization's key, and the key keeps working", async () => {
    const res = await call('DELETE', `/v1/keys/key_${KEYS.aRead.slice(9)}`, KEYS.bAdmin);
    expect(res.status).toBe(404);
    expect((await call('GET', '/v1/org', KEYS.aRead)).status).toBe(200);
  });

  it('lists only its own keys, audit entries, organization and data', async () => {
    await call('PUT', '/v1/org/retention', KEYS.bAdmin, { days: 45 });
    const keys = (await json(await call('GET', '/v1/keys', KEYS.bAdmin))).keys as { id: string }[];
    expect(keys.map((k) => k.id).sort()).toEqual([`key_${KEYS.bAdmin.slice(9)}`, `key_${KEYS.bRead.slice(9)}`].sort());
    const audit = (await json(await call('GET', '/v1/audit', KEYS.bAdmin))).entries as { org_id: string }[];
    expect(audit.length).toBeGreaterThan(0);
    expect(new Set(audit.map((e) => e.org_id))).toEqual(new Set([B]));
    expect(await json(await call('GET', '/v1/org', KEYS.bRead))).toMatchObject({ id: B, retention_days: 45, operator: false });
    const report = await json(await call('GET', '/v1/compliance/report', KEYS.bAdmin));
    expect(report.organization.id).toBe(B);
    expect(report.stored.postgres.traces).toBe(0);
    expect(report.stored.clickhouse.trace_facts.rows).toBe(0);
  });

  it("deletes a user's data in its own organization only, from both stores", async () => {
    const user = `user-${randomUUID()}`;
    const inA = [await seedTrace(A, { user_id: user }), await seedTrace(A, { user_id: user })];
    const inB = await seedTrace(B, { user_id: user });
    const res = await call('DELETE', `/v1/users/${encodeURIComponent(user)}/data`, KEYS.aAdmin, undefined, { 'x-request-id': 'dsr-1' });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.deleted.postgres).toEqual({ traces: 2, verdicts: 0, evaluations: 2 });
    expect(body.deleted.clickhouse.trace_facts).toBe(2);
    expect(body.deleted.clickhouse.evaluation_facts).toBe(2);
    for (const t of inA) {
      expect(await store.forOrg(A).getTrace(t.trace_id)).toBeNull();
      expect(await factRows(A, t.trace_id)).toBe(0);
    }
    expect(await store.forOrg(B).getTrace(inB.trace_id)).not.toBeNull();
    expect(await factRows(B, inB.trace_id)).toBe(1);
    const [entry] = (await json(await call('GET', '/v1/audit?action=user_data.deleted&limit=1', KEYS.aAdmin))).entries;
    expect(entry).toMatchObject({ action: 'user_data.deleted', target: user, actor: `key_${KEYS.aAdmin.slice(9)}`, request_id: 'dsr-1' });
    const report = await json(await call('GET', '/v1/compliance/report', KEYS.aAdmin));
    expect(report.deletions.recent.some((d: { kind: string; subject: string }) => d.kind === 'user' && d.subject === user)).toBe(true);
  });
});

describe('admin actions', () => {
  it('creates a key that works at once, is shown once, and stops working when revoked', async () => {
    const created = await call('POST', '/v1/keys', KEYS.aAdmin, { name: 'reader', scopes: ['read'] });
    expect(created.status).toBe(201);
    const { key, id, prefix } = await json(created);
    expect(key).toMatch(/^mtr_/);
    expect(prefix).toBe(key.slice(0, 12));
    expect((await call('GET', '/v1/org', key)).status).toBe(200);
    const listed = (await json(await call('GET', '/v1/keys', KEYS.aAdmin))).keys as Record<string, unknown>[];
    expect(JSON.stringify(listed)).not.toContain(key);
    expect((await call('DELETE', `/v1/keys/${id}`, KEYS.aAdmin)).status).toBe(200);
    const refused = await call('GET', '/v1/org', key);
    expect(refused.status).toBe(401);
    expect((await json(refused)).error.code).toBe('revoked_api_key');
  });

  it('creates an organization with its first admin key, which sees that organization only', async () => {
    const res = await call('POST', '/v1/orgs', KEYS.aAdmin, { id: 'org-gamma', name: 'Gamma', retention_days: 14 });
    expect(res.status).toBe(201);
    const { organization, api_key } = await json(res);
    expect(organization).toMatchObject({ id: 'org-gamma', retention_days: 14, operator: false });
    expect(await json(await call('GET', '/v1/org', api_key.key))).toMatchObject({ id: 'org-gamma' });
    const again = await call('POST', '/v1/orgs', KEYS.aAdmin, { id: 'org-gamma', name: 'Gamma' });
    expect(again.status).toBe(409);
    const [entry] = (await json(await call('GET', '/v1/audit?action=organization.created&target=org-gamma', KEYS.aAdmin))).entries;
    expect(entry).toMatchObject({ actor: `key_${KEYS.aAdmin.slice(9)}` });
  });

  it('refuses bad bodies and queries with 400 naming the path, and changes nothing', async () => {
    const cases: [string, string, unknown, string][] = [
      ['POST', '/v1/keys', { name: 'x', scopes: ['root'] }, '$.scopes[0]'],
      ['POST', '/v1/keys', { name: 'x', scopes: [] }, '$.scopes'],
      ['POST', '/v1/keys', { name: 'x', scopes: ['read'], expires_at: '2001-01-01T00:00:00Z' }, '$.expires_at'],
      ['POST', '/v1/keys', { name: 'x', scopes: ['read'], org_id: B }, '$'],
      ['PUT', '/v1/org/retention', { days: 0 }, '$.days'],
      ['PUT', '/v1/org/retention', { days: 1.5 }, '$.days'],
      ['PUT', '/v1/org/rate-limits', { requests_per_second: -1 }, '$.requests_per_second'],
      ['POST', '/v1/orgs', { id: 'UPPER', name: 'x' }, '$.id'],
    ];
    const keysBefore = (await json(await call('GET', '/v1/keys', KEYS.aAdmin))).keys.length;
    const orgBefore = await json(await call('GET', '/v1/org', KEYS.aAdmin));
    for (const [method, path, body, where] of cases) {
      const res = await call(method, path, KEYS.aAdmin, body);
      expect(res.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(400);
      const error = (await json(res)).error;
      expect(error.issues.map((i: { path: string }) => i.path).join(' ')).toContain(where);
    }
    expect((await json(await call('GET', '/v1/keys', KEYS.aAdmin))).keys.length).toBe(keysBefore);
    expect(await json(await call('GET', '/v1/org', KEYS.aAdmin))).toEqual(orgBefore);
    expect((await call('GET', '/v1/audit?since=yesterday', KEYS.aAdmin)).status).toBe(400);
    expect((await call('GET', '/v1/audit?since=0000-01-01T00:00:00Z', KEYS.aAdmin)).status).toBe(400);
    expect((await call('GET', '/v1/audit?until=9999-12-31T23:59:59-01:00', KEYS.aAdmin)).status).toBe(400);
    expect((await call('GET', '/v1/audit?limit=0', KEYS.aAdmin)).status).toBe(400);
    expect((await call('GET', '/v1/audit?action=nope', KEYS.aAdmin)).status).toBe(400);
    expect((await call('POST', '/v1/keys', KEYS.aAdmin, undefined, { 'content-type': 'text/plain' })).status).toBe(415);
  });

  it('applies a retention change to stored facts: rows past it are gone from both stores after the job', async () => {
    const old = await seedTrace(B, { received_at: Date.now() - 20 * 86_400_000, timestamp: Date.now() }); // retention follows when it was received
    const recent = await seedTrace(B, { timestamp: Date.now() - 400 * 86_400_000 }); // an old stamp received now stays
    expect((await call('PUT', '/v1/org/retention', KEYS.bAdmin, { days: 10 })).status).toBe(200);
    expect(await factRows(B, old.trace_id)).toBe(0);
    expect(await factRows(B, recent.trace_id)).toBe(1);
    await store.enforceRetention({ now: Date.now(), batchSize: 100, maxBatches: 10 });
    expect(await store.forOrg(B).getTrace(old.trace_id)).toBeNull();
    expect(await store.forOrg(B).getTrace(recent.trace_id)).not.toBeNull();
    const [entry] = (await json(await call('GET', '/v1/audit?action=retention.changed&limit=1', KEYS.bAdmin))).entries;
    expect(entry.details).toMatchObject({ to: 10 });
  });
});

describe('console security headers', () => {
  it('are on every answer: success, refusal, missing route and the UI placeholder', async () => {
    for (const res of [await call('GET', '/v1/org', KEYS.aRead), await call('GET', '/v1/keys', KEYS.aRead), await call('GET', '/nope', null), await call('GET', '/', null)]) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
      expect(res.headers.get('x-frame-options')).toBe('DENY');
    }
  });
});

describe('deletions racing ingestion', () => {
  it('accepts the deletion of a trace still on its way (202, recorded and audited), and it never appears', async () => {
    const inFlight = makeTrace({ org_id: A, received_at: Date.now() - 1000 });
    const res = await call('DELETE', `/v1/traces/${inFlight.trace_id}`, KEYS.aAdmin, undefined, { 'x-request-id': 'del-in-flight' });
    expect(res.status).toBe(202);
    expect(await json(res)).toMatchObject({ trace_id: inFlight.trace_id, deleted: { postgres: { traces: 0, verdicts: 0, evaluations: 0 } } });
    const [entry] = (await json(await call('GET', `/v1/audit?action=trace.deleted&target=${inFlight.trace_id}&limit=1`, KEYS.aAdmin))).entries;
    expect(entry).toMatchObject({ action: 'trace.deleted', target: inFlight.trace_id, request_id: 'del-in-flight' });
    const report = await json(await call('GET', '/v1/compliance/report', KEYS.aAdmin));
    expect(report.deletions.recent.some((d: { kind: string; subject: string }) => d.kind === 'trace' && d.subject === inFlight.trace_id)).toBe(true);
    // The sinks reach it now: it is not stored, nor its verdict.
    await store.upsertTraces([inFlight]);
    await store.upsertEvaluations([tierResult(inFlight)]);
    expect((await call('GET', `/v1/traces/${inFlight.trace_id}`, KEYS.aRead)).status).toBe(404);
    expect(await store.forOrg(A).getEvaluations(inFlight.trace_id)).toEqual([]);
  });

  it("deletes a user's trace that only the facts hold yet (its Postgres sink behind), in both stores, and drops its records still on their way", async () => {
    const user = `user-${randomUUID()}`;
    const trace = makeTrace({ org_id: A, user_id: user, received_at: Date.now() - 1000 });
    // The facts sinks were ahead: trace and evaluation facts; Postgres has the evaluation, not the trace.
    await facts.insertTraceFacts([
      { org_id: A, trace_id: trace.trace_id, timestamp: trace.timestamp, received_at: trace.received_at, application: '', environment: '', model_provider: '', model_name: '', input_tokens: 1, output_tokens: 1, cost_usd: 0, latency_ms: 1, user_id: user },
    ]);
    await facts.insertEvaluationFacts([toEvaluationFact(tierResult(trace))]);
    await store.upsertEvaluations([tierResult(trace)]);
    const res = await call('DELETE', `/v1/users/${encodeURIComponent(user)}/data`, KEYS.aAdmin);
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.trace_ids).toEqual([trace.trace_id]);
    expect(body.deleted.postgres).toEqual({ traces: 0, verdicts: 0, evaluations: 1 });
    expect(body.deleted.clickhouse).toMatchObject({ trace_facts: 1, evaluation_facts: 1 });
    // A tier result of the trace delivered again is dropped: the trace id was buried.
    await store.upsertEvaluations([tierResult(trace)]);
    expect(await store.forOrg(A).getEvaluations(trace.trace_id)).toEqual([]);
  });
});

describe('deletion ids', () => {
  it("deletes the data of a user_id as long as the public trace allows (1,000 characters), and refuses longer ones with 400", async () => {
    const user = 'u'.repeat(1000);
    const trace = await seedTrace(A, { user_id: user });
    const res = await call('DELETE', `/v1/users/${user}/data`, KEYS.aAdmin);
    expect(res.status).toBe(200);
    expect((await json(res)).deleted.postgres.traces).toBe(1);
    expect(await store.forOrg(A).getTrace(trace.trace_id)).toBeNull();
    const tooLong = await call('DELETE', `/v1/users/${'u'.repeat(1001)}/data`, KEYS.aAdmin);
    expect(tooLong.status).toBe(400);
    expect((await json(tooLong)).error.code).toBe('invalid_id');
  });
});
