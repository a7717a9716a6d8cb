/**
 * The first admin's one-time sign-in link (what `npm start` prints and `metronis user link` prints
 * for a distributed console), on PGlite: the first call creates the admin without a password, later
 * calls reuse them, each link signs in once.
 */
import { hashToken } from '@metronis/console';
import { createPgliteStore, type RelationalStore } from '@metronis/stores';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminUsageError, runAdmin } from '../src/commands/admin.js';
import { FIRST_ADMIN_EMAIL, firstAdminSignInLink } from '../src/people.js';

let store: RelationalStore;

beforeAll(async () => {
  store = createPgliteStore();
  await store.migrate();
  await store.ensureOrganization('acme', 'Acme');
}, 60_000);
afterAll(async () => store?.close());

const tokenOf = (link: string) => new URL(link).hash.slice('#token='.length);

describe('the first admin sign-in link', () => {
  it('creates the first admin once, and every link signs in once', async () => {
    const first = await firstAdminSignInLink(store, 'acme', 'http://127.0.0.1:7070');
    expect(first.link).toMatch(/^http:\/\/127\.0\.0\.1:7070\/sign-in\/link#token=[A-Za-z0-9_-]{43}$/);
    expect(first.email).toBe(FIRST_ADMIN_EMAIL);
    const second = await firstAdminSignInLink(store, 'acme', 'http://127.0.0.1:7070');
    expect(second.link).not.toBe(first.link);
    const admins = await store.users.admins('acme');
    expect(admins.map((a) => [a.email, a.has_password])).toEqual([[FIRST_ADMIN_EMAIL, false]]);
    const now = new Date();
    expect(await store.users.consumeSignInLink(hashToken(tokenOf(first.link)), now)).toEqual({ user_id: admins[0]!.id, org_id: 'acme' });
    expect(await store.users.consumeSignInLink(hashToken(tokenOf(first.link)), now)).toBeNull();
    expect(await store.users.consumeSignInLink(hashToken(tokenOf(second.link)), new Date(Date.now() + 25 * 3_600_000))).toBeNull();
  });

  it('is swept with expired sessions by the retention pass', async () => {
    const [admin] = await store.users.admins('acme');
    await store.users.createSession({ token_hash: 'a'.repeat(64), user_id: admin!.id, org_id: 'acme', csrf_token: 'c', expires_at: new Date(Date.now() - 1_000) });
    await store.users.createSession({ token_hash: 'b'.repeat(64), user_id: admin!.id, org_id: 'acme', csrf_token: 'c', expires_at: new Date(Date.now() + 60_000) });
    expect(await store.users.sweepExpired(new Date())).toBe(1);
    expect(await store.users.findSession('b'.repeat(64), new Date())).not.toBeNull();
  });

  it('is what `metronis user link` prints, and its arguments are checked', async () => {
    const printed = (await runAdmin(store, 'user', 'link', { org: 'acme', url: 'https://console.example.com' })) as { link: string; user: string };
    expect(printed.link).toMatch(/^https:\/\/console\.example\.com\/sign-in\/link#token=/);
    await expect(runAdmin(store, 'user', 'link', { org: 'acme', url: 'https://console.example.com/path' })).rejects.toThrow(AdminUsageError);
    await expect(runAdmin(store, 'user', 'link', { org: 'acme' })).rejects.toThrow(/--url is required/);
    await expect(runAdmin(store, 'user', 'link', { org: 'nope', url: 'http://x:1' })).rejects.toThrow(/no organization 'nope'/);
  });
});
