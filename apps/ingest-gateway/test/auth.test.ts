import { createHash } from 'node:crypto';
import { createPgliteStore, type ApiKeyRecord, type RelationalStore } from '@metronis/stores';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKeyAuthenticator, hashApiKey, issueApiKey } from '../src/index.js';
import { KEYS, ORG, SETUP_TIMEOUT_MS, seedKeys } from './fixtures.js';

/**
 * A store over a fixed set of records that counts lookups and can be told to fail: it implements our
 * own `findApiKeyByHash` to observe caching and to inject revocation and outages.
 */
function countingStore(records: Record<string, ApiKeyRecord>) {
  const state = { calls: 0, fail: false, gate: undefined as Promise<void> | undefined };
  return {
    state,
    records,
    async findApiKeyByHash(hash: string): Promise<(ApiKeyRecord & { hash: string }) | null> {
      state.calls++;
      if (state.gate !== undefined) await state.gate;
      if (state.fail) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:15432'), { code: 'ECONNREFUSED' });
      const found = records[hash];
      return found === undefined ? null : { ...found, hash };
    },
  };
}

const record = (overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord => ({
  id: 'key_1',
  org_id: ORG,
  prefix: 'mk_test_',
  scopes: ['ingest'],
  expires_at: null,
  revoked_at: null,
  ...overrides,
});

describe('hashApiKey', () => {
  it('is the lowercase hex SHA-256 of the key text, the form the store keeps', () => {
    expect(hashApiKey('abc')).toBe(createHash('sha256').update('abc').digest('hex'));
    expect(hashApiKey('abc')).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('createApiKeyAuthenticator over PGlite', () => {
  let store: RelationalStore;
  beforeAll(async () => {
    store = createPgliteStore();
    await seedKeys(store);
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await store.close();
  });

  it('gives the org, key id and scopes of a stored key', async () => {
    const authenticate = createApiKeyAuthenticator({ store });
    expect(await authenticate(KEYS.ingest)).toEqual({ orgId: ORG, keyId: 'key_ingest', scopes: ['ingest', 'read'] });
    expect(await authenticate(KEYS.readOnly)).toEqual({ orgId: ORG, keyId: 'key_read', scopes: ['read'] });
  });

  it('refuses unknown and expired keys', async () => {
    const authenticate = createApiKeyAuthenticator({ store });
    expect(await authenticate('mk_test_nobody')).toEqual({ rejected: 'unknown' });
    expect(await authenticate(KEYS.expired)).toEqual({ rejected: 'expired' });
  });
});

describe('createApiKeyAuthenticator cache', () => {
  const key = 'mk_live_cached';
  const hash = hashApiKey(key);

  it('refuses a revoked key', async () => {
    const store = countingStore({ [hash]: record({ revoked_at: new Date(0) }) });
    expect(await createApiKeyAuthenticator({ store })(key)).toEqual({ rejected: 'revoked' });
  });

  it('reuses an answer within the TTL and asks the store again after it, so a revocation lands within the TTL', async () => {
    let now = 1_000;
    const store = countingStore({ [hash]: record() });
    const authenticate = createApiKeyAuthenticator({ store, cacheTtlMs: 5_000, clock: () => now });
    expect(await authenticate(key)).toHaveProperty('orgId');
    expect(await authenticate(key)).toHaveProperty('orgId');
    expect(store.state.calls).toBe(1);
    store.records[hash] = record({ revoked_at: new Date(now) });
    now += 4_999;
    expect(await authenticate(key)).toHaveProperty('orgId');
    now += 2;
    expect(await authenticate(key)).toEqual({ rejected: 'revoked' });
    expect(store.state.calls).toBe(2);
  });

  it('caches unknown keys too, so a flood of bad keys does not reach the store', async () => {
    const store = countingStore({});
    const authenticate = createApiKeyAuthenticator({ store, clock: () => 0 });
    for (let i = 0; i < 5; i++) expect(await authenticate('mk_unknown')).toEqual({ rejected: 'unknown' });
    expect(store.state.calls).toBe(1);
  });

  it('checks expiry on every request, even while the answer is cached', async () => {
    let now = 1_000;
    const store = countingStore({ [hash]: record({ expires_at: new Date(1_500) }) });
    const authenticate = createApiKeyAuthenticator({ store, cacheTtlMs: 60_000, clock: () => now });
    expect(await authenticate(key)).toHaveProperty('orgId');
    now = 1_500;
    expect(await authenticate(key)).toEqual({ rejected: 'expired' });
    expect(store.state.calls).toBe(1);
  });

  it('holds at most maxEntries answers, dropping the oldest', async () => {
    const store = countingStore({});
    const authenticate = createApiKeyAuthenticator({ store, maxEntries: 2, clock: () => 0 });
    await authenticate('a');
    await authenticate('b');
    await authenticate('c'); // drops 'a'
    await authenticate('b');
    await authenticate('c');
    expect(store.state.calls).toBe(3);
    await authenticate('a');
    expect(store.state.calls).toBe(4);
  });

  it('shares one store lookup between concurrent requests with the same key', async () => {
    let open!: () => void;
    const store = countingStore({ [hash]: record() });
    store.state.gate = new Promise((resolve) => (open = resolve));
    const authenticate = createApiKeyAuthenticator({ store });
    const pending = [authenticate(key), authenticate(key), authenticate(key)];
    open();
    const principals = await Promise.all(pending);
    expect(principals.every((p) => 'keyId' in p && p.keyId === 'key_1')).toBe(true);
    expect(store.state.calls).toBe(1);
  });

  it('rejects when the store fails, and does not cache the failure', async () => {
    const store = countingStore({ [hash]: record() });
    const authenticate = createApiKeyAuthenticator({ store, clock: () => 0 });
    store.state.fail = true;
    await expect(authenticate(key)).rejects.toThrow(/ECONNREFUSED/);
    store.state.fail = false;
    expect(await authenticate(key)).toHaveProperty('orgId');
    expect(store.state.calls).toBe(2);
  });

  it('refuses a record whose stored hash differs from the presented one (compared in constant time)', async () => {
    const authenticate = createApiKeyAuthenticator({ store: { findApiKeyByHash: async () => ({ ...record(), hash: hashApiKey('another key') }) } });
    expect(await authenticate(key)).toEqual({ rejected: 'unknown' });
  });

  it('forget() drops cached answers, so a revocation in this process applies at once', async () => {
    const store = countingStore({ [hash]: record() });
    const authenticate = createApiKeyAuthenticator({ store, cacheTtlMs: 60_000, clock: () => 0 });
    expect(await authenticate(key)).toHaveProperty('orgId');
    store.records[hash] = record({ revoked_at: new Date(0) });
    authenticate.forget?.();
    expect(await authenticate(key)).toEqual({ rejected: 'revoked' });
  });

  it('issues keys in the documented form, stored by hash', () => {
    const issued = issueApiKey();
    expect(issued.key).toMatch(/^mtr_[A-Za-z0-9_-]{43}$/);
    expect(issued.hash).toBe(hashApiKey(issued.key));
    expect(issued.prefix).toBe(issued.key.slice(0, 12));
    expect(issueApiKey().key).not.toBe(issued.key);
  });

  it('with cacheTtlMs 0 asks the store every time', async () => {
    const store = countingStore({ [hash]: record() });
    const authenticate = createApiKeyAuthenticator({ store, cacheTtlMs: 0 });
    await authenticate(key);
    await authenticate(key);
    expect(store.state.calls).toBe(2);
  });
});
