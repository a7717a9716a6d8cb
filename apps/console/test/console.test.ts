/**
 * The console app on real parts: PGlite with the repository's migrations, two organizations with
 * real API keys (stored by hash, checked by the gateway's authenticator). Every status of the trace
 * view and the policy API, organization isolation, and policy versioning.
 */
import { randomUUID } from 'node:crypto';
import { DEFAULT_POLICY } from '@metronis/evaluators';
import { createApiKeyAuthenticator, hashApiKey } from '@metronis/ingest-gateway';
import { makeTrace, toPublicView, type TierResult, type Trace, type Verdict } from '@metronis/schemas';
import { createPgliteStore, type ApiKeyScope, type RelationalStore } from '@metronis/stores';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleApp, policyPath, type ConsoleDeps } from '../src/index.js';

const SETUP_TIMEOUT_MS = 60_000;
const ORG_A = 'org_alpha';
const ORG_B = 'org_beta';
const KEYS = {
  aRead: 'mk_test_a_read_0123456789',
  aAdmin: 'mk_test_a_admin_0123456789',
  aIngest: 'mk_test_a_ingest_0123456789',
  aExpired: 'mk_test_a_expired_0123456789',
  bRead: 'mk_test_b_read_0123456789',
  bAdmin: 'mk_test_b_admin_0123456789',
} as const;

let store: RelationalStore;
let app: ReturnType<typeof createConsoleApp>;
const errors: Array<{ obj: Record<string, unknown>; msg?: string }> = [];
const infos: Array<{ obj: Record<string, unknown>; msg?: string }> = [];
const logger = {
  info: (obj: object, msg?: string) => infos.push({ obj: obj as Record<string, unknown>, msg }),
  error: (obj: object, msg?: string) => errors.push({ obj: obj as Record<string, unknown>, msg }),
};

function consoleApp(overrides: Partial<ConsoleDeps> = {}) {
  return createConsoleApp({
    store,
    authenticate: createApiKeyAuthenticator({ store, cacheTtlMs: 0 }),
    ready: async () => ({ postgres: true }),
    logger,
    ...overrides,
  });
}

beforeAll(async () => {
  store = createPgliteStore();
  await store.migrate();
  await store.ensureOrganization(ORG_A, 'Alpha');
  await store.ensureOrganization(ORG_B, 'Beta');
  const put = (org: string, key: string, scopes: ApiKeyScope[], expires_at: Date | null = null) =>
    store.putApiKey({ id: `key_${key}`, org_id: org, hash: hashApiKey(key), prefix: key.slice(0, 8), scopes, expires_at });
  await put(ORG_A, KEYS.aRead, ['read']);
  await put(ORG_A, KEYS.aAdmin, ['admin']);
  await put(ORG_A, KEYS.aIngest, ['ingest']);
  await put(ORG_A, KEYS.aExpired, ['read', 'admin'], new Date(Date.now() - 60_000));
  await put(ORG_B, KEYS.bRead, ['read']);
  await put(ORG_B, KEYS.bAdmin, ['read', 'admin']);
  app = consoleApp();
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  await store?.close();
});

function get(path: string, key: string | null, headers: Record<string, string> = {}): Promise<Response> {
  return Promise.resolve(app.request(path, { headers: { ...(key === null ? {} : { authorization: `Bearer ${key}` }), ...headers } }));
}

function putPolicy(body: unknown, key: string = KEYS.aAdmin, contentType: string | null = 'application/json', target = app): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  if (contentType !== null) headers['content-type'] = contentType;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  // A string body gets a default text/plain Content-Type; bytes get none.
  return Promise.resolve(target.request('/v1/policy', { method: 'PUT', headers, body: contentType === null ? new TextEncoder().encode(text) : text }));
}

async function json<T = any>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

function verdictOf(trace: Trace, passed: boolean): Verdict {
  return {
    trace_id: trace.trace_id,
    org_id: trace.org_id,
    tier: 1,
    decided_at: Date.now(),
    passed,
    severity: passed ? 'none' : 'high',
    score: passed ? 1 : 0.3,
    finding_kinds: passed ? [] : ['secret'],
    failed_modules: passed ? [] : ['safety'],
    application: trace.application,
    environment: trace.environment,
  };
}

function tierResultOf(trace: Trace, tier: number, passed: boolean): TierResult {
  return {
    evaluation_id: `${trace.trace_id}:${tier}`,
    trace_id: trace.trace_id,
    org_id: trace.org_id,
    tier,
    evaluated_at: Date.now(),
    trace_timestamp: trace.timestamp,
    passed,
    severity: passed ? 'none' : 'high',
    score: passed ? 0.95 : 0.3,
    modules: [
      {
        module: 'safety',
        version: '1.0.0',
        passed,
        score: passed ? 1 : 0.3,
        severity: passed ? 'none' : 'high',
        labels: passed ? [] : ['secret'],
        findings: passed ? [] : [{ kind: 'secret', message: 'an API key in the output', field: 'output', start: 3, end: 20, confidence: 0.99 }],
        latency_us: 42,
      },
    ],
    latency_us: 120 * tier,
  };
}

/** JSON as a client sees it. */
const asJson = <T>(value: T): unknown => JSON.parse(JSON.stringify(value));

describe('GET /v1/traces/:id', () => {
  it('returns the trace, its verdict and its tier results in tier order', async () => {
    const trace = makeTrace({ org_id: ORG_A });
    const verdict = verdictOf(trace, false);
    const results = [tierResultOf(trace, 2, true), tierResultOf(trace, 1, false)];
    await store.upsertTraces([trace]);
    await store.upsertVerdicts([verdict]);
    await store.upsertEvaluations(results);

    const response = await get(`/v1/traces/${trace.trace_id}`, KEYS.aRead);
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(Object.keys(body).sort()).toEqual(['evaluations', 'trace', 'verdict']);
    expect(body.trace).toEqual(asJson(toPublicView(trace)));
    expect(body.verdict).toEqual(asJson(verdict));
    expect(body.evaluations).toEqual(asJson([results[1], results[0]]));
  });

  it('answers a trace not evaluated yet with a null verdict and no evaluations, for an admin key too', async () => {
    const trace = makeTrace({ org_id: ORG_A });
    await store.upsertTraces([trace]);
    const body = await json(await get(`/v1/traces/${trace.trace_id}`, KEYS.aAdmin));
    expect(body).toMatchObject({ verdict: null, evaluations: [] });
    expect(body.trace.trace_id).toBe(trace.trace_id);
  });

  it("answers 404 for another organization's trace, as for an unknown id, and shows each org only its own records", async () => {
    const traceId = randomUUID();
    const a = makeTrace({ org_id: ORG_A, trace_id: traceId, output: { content: 'alpha answer', finish_reason: 'stop' } });
    const onlyA = makeTrace({ org_id: ORG_A });
    const b = makeTrace({ org_id: ORG_B, trace_id: traceId, output: { content: 'beta answer', finish_reason: 'stop' } });
    await store.upsertTraces([a, onlyA, b]);
    await store.upsertEvaluations([tierResultOf(a, 1, false), tierResultOf(onlyA, 1, true)]);
    await store.upsertVerdicts([verdictOf(a, false)]);

    const fromB = await get(`/v1/traces/${onlyA.trace_id}`, KEYS.bRead);
    expect(fromB.status).toBe(404);
    const unknown = await get(`/v1/traces/${randomUUID()}`, KEYS.bRead);
    expect(unknown.status).toBe(404);
    const [forbidden, missing] = [await json(fromB), await json(unknown)];
    expect(forbidden.error.code).toBe('not_found');
    expect(missing.error.code).toBe('not_found');
    expect(forbidden.error.message).toBe(`No trace with id '${onlyA.trace_id}'.`);

    // The same trace id in both orgs: each sees its own trace, and only its own verdict and evaluations.
    const seenByB = await json(await get(`/v1/traces/${traceId}`, KEYS.bRead));
    expect(seenByB.trace.output).toMatchObject({ content: 'beta answer' });
    expect(seenByB.verdict).toBeNull();
    expect(seenByB.evaluations).toEqual([]);
    const seenByA = await json(await get(`/v1/traces/${traceId}`, KEYS.aRead));
    expect(seenByA.trace.output).toMatchObject({ content: 'alpha answer' });
    expect(seenByA.evaluations.map((r: TierResult) => r.org_id)).toEqual([ORG_A]);
  });

  it('answers 401 without a key, with a malformed header, with an unknown or an expired key', async () => {
    const cases: Array<[Record<string, string>, string, RegExp]> = [
      [{}, 'missing_api_key', /An API key is required/],
      [{ authorization: 'Basic abc' }, 'malformed_api_key', /Malformed Authorization header/],
      [{ authorization: 'Bearer mk_test_nobody_0123456789' }, 'invalid_api_key', /^unknown API key\.$/],
      [{ authorization: `Bearer ${KEYS.aExpired}` }, 'expired_api_key', /^this API key has expired\.$/],
    ];
    for (const [headers, code, message] of cases) {
      const response = await get(`/v1/traces/${randomUUID()}`, null, headers);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="metronis"/);
      const body = await json(response);
      expect(body.error.code).toBe(code);
      expect(body.error.message).toMatch(message);
    }
  });

  it('answers 403 to a key without the read or admin scope', async () => {
    const response = await get(`/v1/traces/${randomUUID()}`, KEYS.aIngest);
    expect(response.status).toBe(403);
    expect((await json(response)).error).toMatchObject({ code: 'insufficient_scope', message: "This API key lacks the 'read' or 'admin' scope." });
  });

  it('keeps a well-formed request id, replaces a bad one, and puts it in error bodies', async () => {
    const kept = await get(`/v1/traces/${randomUUID()}`, KEYS.aRead, { 'x-request-id': 'req-123' });
    expect(kept.headers.get('x-request-id')).toBe('req-123');
    expect((await json(kept)).error.request_id).toBe('req-123');
    const replaced = await get(`/v1/traces/${randomUUID()}`, KEYS.aRead, { 'x-request-id': 'bad id with spaces' });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers 500 without internals when the store fails, and logs the error with the request id', async () => {
    const failing = consoleApp({
      store: {
        createOrganization: (org, actor) => store.createOrganization(org, actor),
        alerts: store.alerts,
        forOrg: (orgId) => ({
          ...store.forOrg(orgId),
          getEvaluations: async () => {
            throw new Error('relation "evaluations" does not exist');
          },
        }),
      },
    });
    errors.length = 0;
    const response = await failing.request(`/v1/traces/${randomUUID()}`, { headers: { authorization: `Bearer ${KEYS.aRead}`, 'x-request-id': 'req-500' } });
    expect(response.status).toBe(500);
    const body = await json(response);
    expect(body.error).toEqual({ code: 'internal', message: 'Internal error; the request id identifies it in the logs.', request_id: 'req-500' });
    expect(JSON.stringify(body)).not.toContain('relation');
    expect(errors.map((e) => e.obj.request_id)).toEqual(['req-500']);
  });
});

describe('/v1/policy', () => {
  // These tests run in order: org A's policy versions grow from 0.
  it('answers the default policy with version 0 before any save, to a read key', async () => {
    const response = await get('/v1/policy', KEYS.aRead);
    expect(response.status).toBe(200);
    expect(await json(response)).toEqual({ policy: asJson(DEFAULT_POLICY), version: 0, updated_at: null });
  });

  it('refuses a save by a read key (403) and by an ingest key, and stores nothing', async () => {
    for (const key of [KEYS.aRead, KEYS.aIngest]) {
      const response = await putPolicy({ fail_at: 'high' }, key);
      expect(response.status).toBe(403);
      expect((await json(response)).error.code).toBe('insufficient_scope');
    }
    expect((await json(await putPolicy({ fail_at: 'high' }, KEYS.aRead))).error.message).toBe("This API key lacks the 'admin' scope.");
    expect((await json(await get('/v1/policy', KEYS.aRead))).version).toBe(0);
  });

  it('saves a policy as version 1, answers the policy in effect, and reads it back', async () => {
    const response = await putPolicy({ fail_at: 'high', modules: { quality: { config: { max_chars: 8000 } } } });
    expect(response.status).toBe(200);
    const saved = await json(response);
    expect(saved.version).toBe(1);
    expect(new Date(saved.updated_at).getTime()).not.toBeNaN();
    expect(saved.policy.fail_at).toBe('high');
    expect(saved.policy.modules.quality.config.max_chars).toBe(8000);
    // The omitted values are the defaults.
    expect(saved.policy.modules.safety).toEqual(asJson(DEFAULT_POLICY.modules.safety));
    expect(saved.policy.mask_pii_before_storage).toBe(DEFAULT_POLICY.mask_pii_before_storage);

    const read = await json(await get('/v1/policy', KEYS.aRead));
    expect(read).toEqual(saved);
    // Stored as sent: the defaults are filled in when read, not frozen into the document.
    expect((await store.getPolicy(ORG_A))?.document).toEqual({ fail_at: 'high', modules: { quality: { config: { max_chars: 8000 } } } });
    expect(infos.some((i) => i.msg === 'policy saved' && i.obj.org_id === ORG_A && i.obj.version === 1)).toBe(true);
  });

  it('gives every later save the next version, and leaves other organizations alone', async () => {
    const second = await json(await putPolicy({ fail_at: 'critical' }, KEYS.aAdmin, 'application/json; charset=utf-8'));
    expect(second.version).toBe(2);
    expect(second.policy.fail_at).toBe('critical');
    expect(second.policy.modules.quality.config.max_chars).toBe(DEFAULT_POLICY.modules.quality.config.max_chars);
    expect((await json(await get('/v1/policy', KEYS.aAdmin))).version).toBe(2);

    expect(await json(await get('/v1/policy', KEYS.bRead))).toEqual({ policy: asJson(DEFAULT_POLICY), version: 0, updated_at: null });
    const b = await json(await putPolicy({ mask_pii_before_storage: true }, KEYS.bAdmin));
    expect(b.version).toBe(1);
    const a = await json(await get('/v1/policy', KEYS.aRead));
    expect(a).toMatchObject({ version: 2, policy: { fail_at: 'critical', mask_pii_before_storage: false } });
  });

  it('answers 400 naming the path of each bad value, and keeps the stored version', async () => {
    const response = await putPolicy({
      fail_at: 'fatal',
      modules: { quality: { config: { max_chars: -5 } } },
      severity_overrides: [{ kind: 'secret', severity: 'high' }, { kind: '', severity: 'low' }],
    });
    expect(response.status).toBe(400);
    const { error } = await json(response);
    expect(error.code).toBe('invalid_policy');
    expect(error.request_id).toEqual(expect.any(String));
    const paths = error.issues.map((i: { path: string }) => i.path).sort();
    expect(paths).toEqual(['$.fail_at', '$.modules.quality.config.max_chars', '$.severity_overrides[1].kind']);
    for (const issue of error.issues) expect(issue.message).toEqual(expect.any(String));
    expect(error.message).toContain('$.modules.quality.config.max_chars');
    expect((await json(await get('/v1/policy', KEYS.aRead))).version).toBe(2);
  });

  it('refuses to enable escalation to a tier that is not built, naming it', async () => {
    const response = await putPolicy({ escalation: { tier2: { enabled: true, band: { min_score: 0.4, max_score: 0.8 } } } });
    expect(response.status).toBe(400);
    const { error } = await json(response);
    expect(error.code).toBe('invalid_policy');
    expect(error.issues).toEqual([{ path: '$.escalation.tier2.enabled', message: 'tier2 is not built yet; escalation to it cannot be enabled' }]);
  });

  it('answers 400 for an unknown field, a document that is not an object, malformed JSON and an empty body', async () => {
    const unknown = await json(await putPolicy({ modules: { qualty: {} } }));
    expect(unknown.error.code).toBe('invalid_policy');
    expect(unknown.error.issues).toEqual([{ path: '$.modules', message: expect.stringMatching(/qualty/) }]);

    const array = await json(await putPolicy([]));
    expect(array.error).toMatchObject({ code: 'invalid_policy', issues: [{ path: '$', message: expect.any(String) }] });

    const malformed = await putPolicy('{"fail_at": ');
    expect(malformed.status).toBe(400);
    expect((await json(malformed)).error).toMatchObject({ code: 'invalid_json', message: expect.stringMatching(/^Malformed JSON/) });

    const empty = await putPolicy('');
    expect(empty.status).toBe(400);
    expect((await json(empty)).error.message).toBe('Malformed JSON: the body is empty.');
    expect((await json(await get('/v1/policy', KEYS.aRead))).version).toBe(2);
  });

  it('answers 415 for a body that is not declared as JSON', async () => {
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', null]) {
      const response = await putPolicy({ fail_at: 'high' }, KEYS.aAdmin, contentType);
      expect(response.status).toBe(415);
      const { error } = await json(response);
      expect(error.code).toBe('unsupported_media_type');
      expect(error.message).toMatch(contentType === null ? /none was sent/ : new RegExp(contentType));
    }
    expect((await json(await get('/v1/policy', KEYS.aRead))).version).toBe(2);
  });

  it('answers 413 for a document over the size limit', async () => {
    const small = consoleApp({ maxPolicyBytes: 100 });
    const response = await putPolicy({ severity_overrides: Array.from({ length: 10 }, () => ({ kind: 'secret', severity: 'high' })) }, KEYS.aAdmin, 'application/json', small);
    expect(response.status).toBe(413);
    expect((await json(response)).error).toMatchObject({ code: 'body_too_large', message: expect.stringMatching(/limit of 100 bytes/) });
    expect((await json(await get('/v1/policy', KEYS.aRead))).version).toBe(2);
  });

  it('answers 500 naming the paths when a stored policy no longer validates', async () => {
    const org = 'org_gamma';
    const key = 'mk_test_g_read_0123456789';
    await store.ensureOrganization(org, 'Gamma');
    await store.putApiKey({ id: 'key_gamma', org_id: org, hash: hashApiKey(key), prefix: key.slice(0, 8), scopes: ['read'] });
    await store.putPolicy(org, { fail_at: 'never' });
    errors.length = 0;
    const response = await get('/v1/policy', key);
    expect(response.status).toBe(500);
    const { error } = await json(response);
    expect(error).toMatchObject({ code: 'stored_policy_invalid', issues: [{ path: '$.fail_at', message: expect.any(String) }] });
    expect(error.message).toMatch(/version 1/);
    expect(errors).toHaveLength(1);
  });

  it('answers 401 without a key', async () => {
    const response = await app.request('/v1/policy', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(response.status).toBe(401);
  });
});

describe('policyPath', () => {
  it('writes issue paths as JSON paths', () => {
    expect(policyPath('')).toBe('$');
    expect(policyPath('fail_at')).toBe('$.fail_at');
    expect(policyPath('modules.quality.config.max_chars')).toBe('$.modules.quality.config.max_chars');
    expect(policyPath('severity_overrides.3.kind')).toBe('$.severity_overrides[3].kind');
  });
});
