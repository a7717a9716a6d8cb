/**
 * People in the console on real parts (PGlite with the repository's migrations): sign-in with a scrypt
 * password, the session cookie and its CSRF token, roles mapped onto scopes, brute-force limits, sign
 * out (here and everywhere), invitations and one-time sign-in links; API keys keep working beside them.
 */
import { createApiKeyAuthenticator, createMemoryRateLimiter, hashApiKey } from '@metronis/ingest-gateway';
import { createPgliteStore, type RelationalStore } from '@metronis/stores';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from '../src/auth/password.js';
import { createSessions, hashToken, newToken } from '../src/auth/session.js';
import { createConsoleApp } from '../src/index.js';

const CHEAP = { logN: 10, r: 8, p: 1 };
const ORG = 'org_people';
const OTHER = 'org_people_other';
const ADMIN_KEY = 'mk_people_admin_0123456789';
let store: RelationalStore;
let clock = Date.now();
let app: ReturnType<typeof createConsoleApp>;
let adminId: string;

function build(idleSeconds = 3600) {
  return createConsoleApp({
    store,
    authenticate: createApiKeyAuthenticator({ store, cacheTtlMs: 0 }),
    ready: async () => ({ postgres: true }),
    people: { users: store.users, sessions: createSessions({ users: store.users, idleSeconds, clock: () => clock }), signInLimiter: createMemoryRateLimiter(), passwordCost: CHEAP },
  });
}

beforeAll(async () => {
  store = createPgliteStore();
  await store.migrate();
  await store.ensureOrganization(ORG, 'People Inc');
  await store.ensureOrganization(OTHER, 'Others');
  await store.putApiKey({ id: 'key_people_admin', org_id: ORG, hash: hashApiKey(ADMIN_KEY), prefix: 'mk_peopl', scopes: ['read', 'admin'] });
  const admin = await store.users.createUser({ email: 'Ada@Example.com', name: 'Ada', password_hash: await hashPassword('correct horse battery', CHEAP) });
  adminId = admin.id;
  await store.users.forOrg(ORG).addMember(admin.id, 'admin', { keyId: 'cli' });
  const viewer = await store.users.createUser({ email: 'vic@example.com', name: 'Vic', password_hash: await hashPassword('viewer password 1', CHEAP) });
  await store.users.forOrg(ORG).addMember(viewer.id, 'viewer', { keyId: 'cli' });
  app = build();
}, 60_000);

afterAll(async () => {
  await store?.close();
});

/** A browser: keeps the session cookie and the CSRF token. */
function browser(target = () => app) {
  let cookie: string | undefined;
  let csrf: string | undefined;
  async function call(method: string, path: string, body?: unknown, extra: Record<string, string> = {}) {
    const headers: Record<string, string> = { ...extra };
    if (cookie !== undefined) headers.cookie = cookie;
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (csrf !== undefined && method !== 'GET' && extra['x-csrf-token'] === undefined) headers['x-csrf-token'] = csrf;
    const response = await target().request(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const set = response.headers.get('set-cookie');
    if (set !== null) {
      const value = /^metronis_session=([^;]*)/.exec(set)?.[1];
      cookie = value === undefined || value === '' || /Max-Age=0/i.test(set) ? undefined : `metronis_session=${value}`;
    }
    const text = await response.text();
    const json = text === '' ? null : (JSON.parse(text) as any);
    if (json?.csrf_token !== undefined) csrf = json.csrf_token;
    return { status: response.status, json, headers: response.headers, setCookie: set };
  }
  return { call, get cookie() { return cookie; }, set csrf(v: string | undefined) { csrf = v; } };
}

describe('passwords', () => {
  it('verify only the right password and refuse unreadable hashes', async () => {
    const hash = await hashPassword('a long passphrase', CHEAP);
    expect(hash).toMatch(/^scrypt\$10\$8\$1\$/);
    expect(await verifyPassword('a long passphrase', hash)).toBe(true);
    expect(await verifyPassword('a long passphrasf', hash)).toBe(false);
    expect(await verifyPassword('x', 'bcrypt$whatever')).toBe(false);
    expect(await verifyPassword('x', 'scrypt$99$8$1$AA$AA')).toBe(false);
  });
});

describe('sign-in', () => {
  it('starts a session in an HttpOnly SameSite=Strict cookie and answers who is signed in', async () => {
    const b = browser();
    const signedIn = await b.call('POST', '/auth/sign-in', { email: ' ADA@example.com ', password: 'correct horse battery' });
    expect(signedIn.status).toBe(200);
    expect(signedIn.setCookie).toMatch(/HttpOnly/);
    expect(signedIn.setCookie).toMatch(/SameSite=Strict/);
    expect(signedIn.setCookie).not.toMatch(/Secure/);
    expect(signedIn.json).toMatchObject({ user: { email: 'ada@example.com', has_password: true }, organization: { id: ORG, name: 'People Inc' }, role: 'admin', scopes: ['read', 'ingest', 'admin'] });
    expect(signedIn.json.user.password_hash).toBeUndefined();
    const session = await b.call('GET', '/auth/session');
    expect(session.json.user.id).toBe(adminId);
    expect((await b.call('GET', '/v1/policy')).status).toBe(200);
  });

  it('sets Secure over TLS', async () => {
    const response = await app.request('https://console.example/auth/sign-in', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'ada@example.com', password: 'correct horse battery' }) });
    expect(response.headers.get('set-cookie')).toMatch(/Secure/);
  });

  it('answers a wrong password and an unknown email alike', async () => {
    const b = browser();
    const wrong = await b.call('POST', '/auth/sign-in', { email: 'vic@example.com', password: 'not the password' });
    const unknown = await b.call('POST', '/auth/sign-in', { email: 'nobody@example.com', password: 'not the password' });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.json.error.message).toBe(unknown.json.error.message);
    expect(b.cookie).toBeUndefined();
    expect((await b.call('GET', '/auth/session')).status).toBe(401);
  });

  it('names each bad field of a sign-in body', async () => {
    const r = await browser().call('POST', '/auth/sign-in', { email: 'no-at-sign', password: '' });
    expect(r.status).toBe(400);
    expect(r.json.error.issues.map((i: { path: string }) => i.path).sort()).toEqual(['$.email', '$.password']);
  });

  it('limits attempts per account, whoever guesses', async () => {
    const limited = build();
    const b = browser(() => limited);
    const email = 'target-of-guessing@example.com';
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await b.call('POST', '/auth/sign-in', { email, password: `guess ${i} guess` })).status);
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    const refused = await b.call('POST', '/auth/sign-in', { email, password: 'guess again' });
    expect(refused.status).toBe(429);
    expect(refused.json.error.code).toBe('too_many_attempts');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('a session', () => {
  it('needs the CSRF token and a same-origin Origin for every change', async () => {
    const b = browser();
    await b.call('POST', '/auth/sign-in', { email: 'ada@example.com', password: 'correct horse battery' });
    const policy = { fail_at: 'high' };
    expect((await b.call('PUT', '/v1/policy', policy, { 'x-csrf-token': 'wrong' })).status).toBe(403);
    const noToken = await b.call('PUT', '/v1/policy', policy, { 'x-csrf-token': '' });
    expect(noToken.json.error.code).toBe('csrf_failed');
    const crossSite = await b.call('PUT', '/v1/policy', policy, { origin: 'https://evil.example' });
    expect(crossSite.status).toBe(403);
    const ok = await b.call('PUT', '/v1/policy', policy);
    expect(ok.status).toBe(200);
    const audit = await b.call('GET', '/v1/audit?action=policy.changed');
    expect(audit.json.entries[0].actor).toBe(adminId);
  });

  it("maps a viewer's role onto the read scope: reading works, changing the policy is 403", async () => {
    const b = browser();
    expect((await b.call('POST', '/auth/sign-in', { email: 'vic@example.com', password: 'viewer password 1' })).json.role).toBe('viewer');
    expect((await b.call('GET', '/v1/policy')).status).toBe(200);
    const refused = await b.call('PUT', '/v1/policy', { fail_at: 'low' });
    expect(refused.status).toBe(403);
    expect(refused.json.error.message).toMatch(/role .*viewer/);
    expect((await b.call('GET', '/v1/keys')).status).toBe(403);
  });

  it('ends after its idle time and then answers 401 session_expired', async () => {
    const short = build(60);
    const b = browser(() => short);
    await b.call('POST', '/auth/sign-in', { email: 'ada@example.com', password: 'correct horse battery' });
    clock += 61_000;
    const expired = await b.call('GET', '/v1/policy');
    expect(expired.status).toBe(401);
    expect(expired.json.error.code).toBe('session_expired');
    expect(b.cookie).toBeUndefined();
  });

  it('signs out here, and everywhere', async () => {
    const one = browser();
    const two = browser();
    await one.call('POST', '/auth/sign-in', { email: 'ada@example.com', password: 'correct horse battery' });
    await two.call('POST', '/auth/sign-in', { email: 'ada@example.com', password: 'correct horse battery' });
    const everywhere = await one.call('POST', '/auth/sign-out/everywhere');
    expect(everywhere.json.sessions_ended).toBeGreaterThanOrEqual(2);
    expect((await two.call('GET', '/v1/policy')).status).toBe(401);
    const three = browser();
    await three.call('POST', '/auth/sign-in', { email: 'ada@example.com', password: 'correct horse battery' });
    expect((await three.call('POST', '/auth/sign-out')).status).toBe(204);
    expect((await three.call('GET', '/auth/session')).status).toBe(401);
  });

  it('leaves API keys working for programs', async () => {
    const response = await app.request('/v1/policy', { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(response.status).toBe(200);
  });
});

describe('invitations and sign-in links', () => {
  it('invites by a link shown once; the invitee sets a password, joins with the role, and the link is spent', async () => {
    const admin = browser();
    await admin.call('POST', '/auth/sign-in', { email: 'ada@example.com', password: 'correct horse battery' });
    const created = await admin.call('POST', '/v1/invitations', { email: 'Newcomer@example.com', role: 'member' });
    expect(created.status).toBe(201);
    expect(created.json.delivery.status).toBe('not_sent');
    const token = /#token=([A-Za-z0-9_-]{43})$/.exec(created.json.link)![1]!;
    expect(JSON.stringify((await admin.call('GET', '/v1/invitations')).json)).not.toContain(token);
    const invitee = browser();
    expect((await invitee.call('GET', `/auth/invitations/${token}`)).json).toMatchObject({ email: 'newcomer@example.com', role: 'member', existing_user: false });
    const short = await invitee.call('POST', '/auth/invitations/accept', { token, password: 'short' });
    expect(short.status).toBe(400);
    const joined = await invitee.call('POST', '/auth/invitations/accept', { token, name: 'New', password: 'a fine new password' });
    expect(joined.status).toBe(200);
    expect(joined.json).toMatchObject({ role: 'member', organization: { id: ORG } });
    expect((await browser().call('POST', '/auth/invitations/accept', { token, password: 'a fine new password' })).status).toBe(404);
    const members = (await admin.call('GET', '/v1/members')).json.members;
    expect(members.map((m: { email: string; role: string }) => `${m.email}:${m.role}`)).toContain('newcomer@example.com:member');
  });

  it('keeps the last admin', async () => {
    const admin = browser();
    await admin.call('POST', '/auth/sign-in', { email: 'ada@example.com', password: 'correct horse battery' });
    expect((await admin.call('PUT', `/v1/members/${adminId}`, { role: 'viewer' })).status).toBe(409);
    expect((await admin.call('DELETE', `/v1/members/${adminId}`)).status).toBe(409);
  });

  it('uses a sign-in link once', async () => {
    const token = newToken();
    await store.users.createSignInLink({ token_hash: hashToken(token), user_id: adminId, org_id: ORG, expires_at: new Date(clock + 60_000) });
    const b = browser();
    expect((await b.call('POST', '/auth/sign-in/link', { token })).json.role).toBe('admin');
    const again = await browser().call('POST', '/auth/sign-in/link', { token });
    expect(again.status).toBe(401);
    expect(again.json.error.code).toBe('invalid_link');
  });

  it("does not let a member's session reach another organization", async () => {
    const b = browser();
    await b.call('POST', '/auth/sign-in', { email: 'ada@example.com', password: 'correct horse battery' });
    const refused = await b.call('POST', '/auth/organization', { org_id: OTHER });
    expect(refused.status).toBe(404);
  });
});
