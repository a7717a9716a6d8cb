/**
 * The judge API (`/v1/judge`) on real parts (PGlite, real keys, the real secrets box): the key sealed,
 * never returned nor logged nor audited; scopes; validation with paths; the policy accepting escalation
 * to tier 3 only once the org has a judge; removal refused while the policy uses it.
 */
import { createApiKeyAuthenticator, hashApiKey } from '@metronis/ingest-gateway';
import { createPgliteStore, createSecretBox, generateSecretsKey, parseSecretsKey, type RelationalStore } from '@metronis/stores';
import { judgeSecretContext } from '@metronis/topology-tier3';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleApp } from '../src/index.js';

const ORG_A = 'org_judge_a';
const ORG_B = 'org_judge_b';
const KEYS = { aAdmin: 'mk_judge_a_admin_0123456789', aRead: 'mk_judge_a_read_0123456789', bAdmin: 'mk_judge_b_admin_0123456789' } as const;
const PROVIDER_KEY = 'sk-proj-SECRETJUDGEKEY0123456789';

let store: RelationalStore;
let app: ReturnType<typeof createConsoleApp>;
const logLines: string[] = [];
const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
const changed: string[] = [];
const secrets = createSecretBox(parseSecretsKey(generateSecretsKey()));

beforeAll(async () => {
  store = createPgliteStore();
  await store.migrate();
  for (const [org, key, scopes] of [
    [ORG_A, KEYS.aAdmin, ['admin']],
    [ORG_A, KEYS.aRead, ['read']],
    [ORG_B, KEYS.bAdmin, ['admin', 'read']],
  ] as const) {
    await store.ensureOrganization(org, org);
    await store.putApiKey({ id: `key_${key}`, org_id: org, hash: hashApiKey(key), prefix: key.slice(0, 8), scopes: [...scopes] });
  }
  app = createConsoleApp({
    store,
    authenticate: createApiKeyAuthenticator({ store, cacheTtlMs: 0 }),
    ready: async () => ({}),
    logger,
    tiers: { tier2: { models: ['v1', 'v2', 'v3'] }, tier3: { models: [] } },
    judge: { store: store.judge, secrets, onChanged: (org) => void changed.push(org) },
  });
}, 60_000);

afterAll(async () => {
  await store?.close();
});

function call(method: string, path: string, key: string, body?: unknown, target = app) {
  return Promise.resolve(
    target.request(path, { method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) }),
  );
}
const json = async (r: Response) => (await r.json()) as any;

describe('judge API', () => {
  it('refuses escalation to tier 3 until the org has a judge, then accepts it', async () => {
    const refused = await call('PUT', '/v1/policy', KEYS.aAdmin, { escalation: { tier3: { enabled: true } } });
    expect(refused.status).toBe(400);
    expect((await json(refused)).error.issues).toEqual([{ path: '$.escalation.tier3.enabled', message: 'no judge provider is configured for this organization (PUT /v1/judge); escalation to it cannot be enabled' }]);

    const saved = await call('PUT', '/v1/judge', KEYS.aAdmin, { provider: 'anthropic', model: 'claude-haiku-4-5', api_key: PROVIDER_KEY, criteria: [{ name: 'harm' }, { name: 'pii_disclosure', version: 'v1' }], budget: { daily_usd: 2 } });
    expect(saved.status).toBe(200);
    const view = await json(saved);
    expect(view).toMatchObject({ configured: true, api_key_set: true, version: 1, judge: { provider: 'anthropic', model: 'claude-haiku-4-5', budget: { daily_usd: 2, daily_tokens: 2_000_000 } } });
    expect(JSON.stringify(view)).not.toContain(PROVIDER_KEY);
    expect(changed).toContain(ORG_A);

    const accepted = await call('PUT', '/v1/policy', KEYS.aAdmin, { escalation: { tier3: { enabled: true, sample_rate: 0.1 } } });
    expect(accepted.status).toBe(200);
    // Another org's judge does not count for this one.
    expect((await call('PUT', '/v1/policy', KEYS.bAdmin, { escalation: { tier3: { enabled: true } } })).status).toBe(400);
  });

  it('never returns, logs or audits the key; seals it for the org only', async () => {
    const read = await json(await call('GET', '/v1/judge', KEYS.aRead));
    expect(read).toMatchObject({ configured: true, api_key_set: true, usage_today: { tokens: 0, calls: 0 }, pending: 0 });
    expect(JSON.stringify(read)).not.toContain(PROVIDER_KEY);
    expect(logLines.join('\n')).not.toContain(PROVIDER_KEY);
    const audit = await json(await call('GET', '/v1/audit?action=judge.configured', KEYS.aAdmin));
    expect(audit.entries).toHaveLength(1);
    expect(audit.entries[0]).toMatchObject({ action: 'judge.configured', target: 'judge', actor: `key_${KEYS.aAdmin}`, details: { provider: 'anthropic', model: 'claude-haiku-4-5', key_changed: true } });
    expect(JSON.stringify(audit)).not.toContain(PROVIDER_KEY);
    const stored = await store.judge.getProvider(ORG_A);
    expect(stored!.secret).not.toContain(PROVIDER_KEY);
    expect(secrets.open(stored!.secret, judgeSecretContext(ORG_A))).toBe(PROVIDER_KEY);
    expect(() => secrets.open(stored!.secret, judgeSecretContext(ORG_B))).toThrow();
  });

  it('keeps the stored key when a change leaves it out; requires one the first time', async () => {
    const changedModel = await call('PUT', '/v1/judge', KEYS.aAdmin, { provider: 'anthropic', model: 'claude-sonnet-4-5' });
    expect(changedModel.status).toBe(200);
    expect(await json(changedModel)).toMatchObject({ version: 2, judge: { model: 'claude-sonnet-4-5' } });
    expect(secrets.open((await store.judge.getProvider(ORG_A))!.secret, judgeSecretContext(ORG_A))).toBe(PROVIDER_KEY);

    const first = await call('PUT', '/v1/judge', KEYS.bAdmin, { provider: 'openai', model: 'gpt-4o-mini' });
    expect(first.status).toBe(400);
    expect((await json(first)).error.issues).toEqual([{ path: '$.api_key', message: 'is required the first time a judge is configured' }]);
  });

  it('answers 400 naming each bad path', async () => {
    const bad = await call('PUT', '/v1/judge', KEYS.bAdmin, { provider: 'openai_compatible', model: '', api: 'responses', api_key: 'has spaces in it', criteria: [{ name: 'harm', version: 'v9' }, { name: 'tone' }], budget: { daily_usd: -1 }, extra: 1 });
    expect(bad.status).toBe(400);
    const paths = (await json(bad)).error.issues.map((i: { path: string }) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['$.model', '$.api_key', '$.criteria[1].name', '$.budget.daily_usd']));
    const compat = await call('PUT', '/v1/judge', KEYS.bAdmin, { provider: 'openai_compatible', model: 'llama', api_key: 'x' });
    expect((await json(compat)).error.issues).toEqual([{ path: '$.base_url', message: 'is required for openai_compatible' }]);
    const leaky = await call('PUT', '/v1/judge', KEYS.bAdmin, { provider: 'openai_compatible', model: 'llama', base_url: 'http://user:hunter2@127.0.0.1:8000/v1', api_key: 'x' });
    expect((await json(leaky)).error.issues).toEqual([{ path: '$.base_url', message: 'must not carry credentials (user:password@); put the key in api_key, which is sealed' }]);
    const malformed = await app.request('/v1/judge', { method: 'PUT', headers: { authorization: `Bearer ${KEYS.bAdmin}`, 'content-type': 'application/json' }, body: '{"provider":' });
    expect(malformed.status).toBe(400);
  });

  it('needs the admin scope to change it and read or admin to see it', async () => {
    expect((await call('PUT', '/v1/judge', KEYS.aRead, { provider: 'openai', model: 'gpt-4o-mini', api_key: 'sk-x' })).status).toBe(403);
    expect((await call('DELETE', '/v1/judge', KEYS.aRead)).status).toBe(403);
    expect((await call('GET', '/v1/judge', KEYS.bAdmin)).status).toBe(200);
  });

  it('refuses removal while the policy escalates to tier 3; removes it (audited) once that is off', async () => {
    const refused = await call('DELETE', '/v1/judge', KEYS.aAdmin);
    expect(refused.status).toBe(409);
    expect((await json(refused)).error.code).toBe('judge_in_use');
    expect((await call('PUT', '/v1/policy', KEYS.aAdmin, { escalation: { tier3: { enabled: false } } })).status).toBe(200);
    expect((await call('DELETE', '/v1/judge', KEYS.aAdmin)).status).toBe(204);
    expect((await call('DELETE', '/v1/judge', KEYS.aAdmin)).status).toBe(404);
    expect(await json(await call('GET', '/v1/judge', KEYS.aAdmin))).toMatchObject({ configured: false, api_key_set: false });
  });

  it('without a secrets key the judge cannot be configured (503), and without the judge API tier 3 cannot be enabled', async () => {
    const noKey = createConsoleApp({ store, authenticate: createApiKeyAuthenticator({ store, cacheTtlMs: 0 }), ready: async () => ({}), judge: { store: store.judge }, tiers: { tier2: { models: ['v1', 'v2', 'v3'] }, tier3: { models: [] } } });
    const put = await call('PUT', '/v1/judge', KEYS.bAdmin, { provider: 'openai', model: 'gpt-4o-mini', api_key: 'sk-x' }, noKey);
    expect(put.status).toBe(503);
    expect((await json(put)).error.code).toBe('secrets_unavailable');
    const noJudge = createConsoleApp({ store, authenticate: createApiKeyAuthenticator({ store, cacheTtlMs: 0 }), ready: async () => ({}), tiers: { tier2: { models: ['v1', 'v2', 'v3'] }, tier3: { models: [] } } });
    expect((await call('GET', '/v1/judge', KEYS.bAdmin, undefined, noJudge)).status).toBe(501);
    const policy = await call('PUT', '/v1/policy', KEYS.bAdmin, { escalation: { tier3: { enabled: true } } }, noJudge);
    expect((await json(policy)).error.issues[0].message).toMatch(/LLM judge \(tier 3\) is not configured in this deployment/);
  });
});
