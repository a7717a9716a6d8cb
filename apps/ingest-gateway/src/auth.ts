/**
 * API-key authentication. A key is stored by the hex SHA-256 of its text (`hashApiKey`); the
 * authenticator hashes the presented key, looks the hash up in the relational store, and refuses
 * keys that are unknown, revoked or expired. Answers are cached briefly by hash — positive and
 * negative, in a bounded map — so the hot path costs one hash and one map lookup, and a flood of
 * bad keys does not reach the database. Concurrent lookups of one hash share one query.
 *
 * Consequence of the cache: a revoked key keeps working for at most `cacheTtlMs` (default 10 s);
 * expiry is checked against the clock on every request, cached or not.
 *
 * A store failure rejects (the gateway answers 503 `auth_unavailable`) and is not cached.
 *
 * @example
 *   const authenticate = createApiKeyAuthenticator({ store });
 *   const principal = await authenticate('mk_live_...'); // { orgId, keyId, scopes } or null
 */
import { createHash } from 'node:crypto';
import type { ApiKeyRecord, ApiKeyScope, RelationalStore } from '@metronis/stores';

/** Who is calling: the organization and key an API key stands for. */
export interface Principal {
  orgId: string;
  keyId: string;
  scopes: readonly ApiKeyScope[];
}

export type Authenticate = (token: string) => Promise<Principal | null>;

export interface ApiKeyAuthenticatorOptions {
  store: Pick<RelationalStore, 'findApiKeyByHash'>;
  /** How long an answer (key found or not) is reused. Default 10,000 ms; 0 disables the cache. */
  cacheTtlMs?: number;
  /** Most cached answers; the oldest is dropped first. Default 10,000. */
  maxEntries?: number;
  /** Epoch milliseconds. Default `Date.now`. */
  clock?: () => number;
}

interface Entry {
  /** null: no usable key with this hash. */
  principal: Principal | null;
  /** epoch ms after which the key itself is expired (Infinity: never). */
  keyExpiresAt: number;
  /** epoch ms after which this cache entry must be refreshed. */
  staleAt: number;
}

/** The hex SHA-256 of a key's text: what the store keeps instead of the key. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

function toEntry(record: ApiKeyRecord | null, now: number, ttl: number): Entry {
  const staleAt = now + ttl;
  if (record === null || record.revoked_at !== null) return { principal: null, keyExpiresAt: Infinity, staleAt };
  const principal: Principal = { orgId: record.org_id, keyId: record.id, scopes: Object.freeze([...record.scopes]) };
  return { principal, keyExpiresAt: record.expires_at === null ? Infinity : record.expires_at.getTime(), staleAt };
}

export function createApiKeyAuthenticator(options: ApiKeyAuthenticatorOptions): Authenticate {
  const { store } = options;
  const ttl = options.cacheTtlMs ?? 10_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const clock = options.clock ?? Date.now;
  const cache = new Map<string, Entry>();
  const inFlight = new Map<string, Promise<Entry>>();

  function remember(hash: string, entry: Entry): void {
    if (ttl <= 0) return;
    cache.delete(hash);
    if (cache.size >= maxEntries) {
      const oldest = cache.keys().next();
      if (oldest.done !== true) cache.delete(oldest.value);
    }
    cache.set(hash, entry);
  }

  function lookUp(hash: string): Promise<Entry> {
    let pending = inFlight.get(hash);
    if (pending === undefined) {
      pending = store
        .findApiKeyByHash(hash)
        .then((record) => {
          const entry = toEntry(record, clock(), ttl);
          remember(hash, entry);
          return entry;
        })
        .finally(() => inFlight.delete(hash));
      inFlight.set(hash, pending);
    }
    return pending;
  }

  function usable(entry: Entry, now: number): Principal | null {
    return entry.principal !== null && now < entry.keyExpiresAt ? entry.principal : null;
  }

  return async function authenticate(token: string): Promise<Principal | null> {
    const hash = hashApiKey(token);
    const now = clock();
    const cached = cache.get(hash);
    if (cached !== undefined && now < cached.staleAt) return usable(cached, now);
    return usable(await lookUp(hash), clock());
  };
}
