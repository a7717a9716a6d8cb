/**
 * API keys: issuing them and checking them. A key is `mtr_` and 43 base64url characters (256 random
 * bits), shown once when it is created; the store keeps only its hex SHA-256 (`hashApiKey`) and its
 * first 12 characters (the prefix, to recognise it in listings).
 *
 * The authenticator hashes the presented key and looks the hash up in the relational store; the
 * stored hash is then compared with the presented one in constant time (`timingSafeEqual`). Looking a
 * hash up leaks nothing useful by timing: a caller cannot choose the SHA-256 of a key it does not know.
 * The answer is a `Principal`, or a `KeyRejection` saying why (`unknown`, `expired`, `revoked`), so
 * the 401 can say which.
 *
 * Answers are cached briefly by hash — positive and negative, in a bounded map — so the hot path
 * costs one hash and one map lookup, and a flood of bad keys does not reach the database. Concurrent
 * lookups of one hash share one query. A revoked key keeps working on another instance for at most
 * `cacheTtlMs` (default 2 s: "within a few seconds" on every gateway); `forget()` drops the cache of
 * this process at once (the admin API calls it after a revocation). Expiry is checked against the
 * clock on every request, cached or not. A store failure rejects (503 `auth_unavailable`) and is not
 * cached.
 *
 * @example
 *   const authenticate = createApiKeyAuthenticator({ store });
 *   const result = await authenticate('mtr_...'); // { orgId, keyId, scopes } or { rejected: 'revoked' }
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ApiKeyRecord, ApiKeyScope, RelationalStore } from '@metronis/stores';

/** Who is calling: the organization and key an API key stands for. */
export interface Principal {
  orgId: string;
  keyId: string;
  scopes: readonly ApiKeyScope[];
}

/** Why a well-formed key was refused. */
export interface KeyRejection {
  rejected: 'unknown' | 'expired' | 'revoked';
}

export type AuthResult = Principal | KeyRejection;

export interface Authenticate {
  (token: string): Promise<AuthResult>;
  /** Drops every cached answer of this process (after a revocation here). */
  forget?(): void;
}

export function isRejection(result: AuthResult): result is KeyRejection {
  return 'rejected' in result;
}

/** The error code of a 401 for each rejection, the same in the gateway and the console. */
export const REJECTION_CODES = { unknown: 'invalid_api_key', expired: 'expired_api_key', revoked: 'revoked_api_key' } as const satisfies Record<KeyRejection['rejected'], string>;

/** The `WWW-Authenticate` challenges: no key sent, a key that is unusable, a request that repeats its credentials. */
export const AUTH_CHALLENGES = {
  missing: 'Bearer realm="metronis"',
  invalidToken: 'Bearer realm="metronis", error="invalid_token"',
  invalidRequest: 'Bearer realm="metronis", error="invalid_request"',
} as const;

/**
 * Every value a request carries for a credentials header, one per occurrence. On a Node server the
 * occurrences come from `headersDistinct`: Node's `headers` keeps only the first Authorization
 * header, while a web `Headers` joins them with ", ", so the gateway and the console read two headers
 * differently unless both count them here. Elsewhere (`app.request`) the web value, as one.
 */
export function credentialHeader(incoming: IncomingMessage | undefined, headers: Headers, name: 'authorization' | 'x-api-key'): readonly string[] | undefined {
  if (incoming !== undefined) return incoming.headersDistinct[name];
  const value = headers.get(name);
  return value === null ? undefined : [value];
}

const BEARER = /^Bearer +(\S+) *$/i;
const SANE_KEY = /^[\x21-\x7E]{1,256}$/;

/**
 * The API key a request presents: `Authorization: Bearer <key>`, else (where the caller accepts it)
 * the `X-API-Key` header. Or what is wrong: no key, a header sent more than once (`repeated`: which
 * one counts is ambiguous, so neither does), an Authorization header that is not Bearer, or a key
 * that is not 1 to 256 printable ASCII characters. Each app words its own 401 from the problem.
 * Headers come as `credentialHeader` reads them (one value per occurrence) or as one string.
 */
export function presentedKey(
  authorizationHeader: string | readonly string[] | undefined,
  apiKeyHeaders?: string | readonly string[],
): { key: string } | { problem: 'missing' | 'repeated' | 'not_bearer' | 'bad_key' } {
  const [authorization, apiKeyHeader] = [authorizationHeader, apiKeyHeaders].map((h) => (typeof h === 'string' || h === undefined ? h : h.length <= 1 ? h[0] : null));
  if (authorization === null || (authorization === undefined && apiKeyHeader === null)) return { problem: 'repeated' };
  let token: string | undefined;
  if (authorization !== undefined) {
    token = BEARER.exec(authorization)?.[1];
    if (token === undefined) return { problem: 'not_bearer' };
  } else if (apiKeyHeader !== undefined && apiKeyHeader !== null) {
    token = apiKeyHeader.trim();
  } else {
    return { problem: 'missing' };
  }
  return SANE_KEY.test(token) ? { key: token } : { problem: 'bad_key' };
}

/** What a 401 says for each rejection. */
export const REJECTION_MESSAGES: Record<KeyRejection['rejected'], string> = {
  unknown: 'unknown API key',
  expired: 'this API key has expired',
  revoked: 'this API key has been revoked',
};

/** A new key: its text (shown once), the hash the store keeps, its listing prefix and an id. */
export function issueApiKey(): { key: string; hash: string; prefix: string; id: string } {
  const key = `mtr_${randomBytes(32).toString('base64url')}`;
  return { key, hash: hashApiKey(key), prefix: key.slice(0, 12), id: `key_${randomBytes(8).toString('hex')}` };
}

export interface ApiKeyAuthenticatorOptions {
  store: Pick<RelationalStore, 'findApiKeyByHash'>;
  /** How long an answer (key found or not) is reused. Default 2,000 ms; 0 disables the cache. */
  cacheTtlMs?: number;
  /** Most cached answers; the oldest is dropped first. Default 10,000. */
  maxEntries?: number;
  /** Epoch milliseconds. Default `Date.now`. */
  clock?: () => number;
}

interface Entry {
  /** a rejection: no usable key with this hash */
  principal: Principal | KeyRejection;
  /** epoch ms after which the key itself is expired (Infinity: never). */
  keyExpiresAt: number;
  /** epoch ms after which this cache entry must be refreshed. */
  staleAt: number;
}

/** The hex SHA-256 of a key's text: what the store keeps instead of the key. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

const UNKNOWN: KeyRejection = Object.freeze({ rejected: 'unknown' });
const EXPIRED: KeyRejection = Object.freeze({ rejected: 'expired' });
const REVOKED: KeyRejection = Object.freeze({ rejected: 'revoked' });

function sameHash(stored: string, presented: string): boolean {
  const a = Buffer.from(stored, 'hex');
  const b = Buffer.from(presented, 'hex');
  return a.length === 32 && b.length === 32 && timingSafeEqual(a, b);
}

function toEntry(record: (ApiKeyRecord & { hash: string }) | null, hash: string, now: number, ttl: number): Entry {
  const staleAt = now + ttl;
  if (record === null || !sameHash(record.hash, hash)) return { principal: UNKNOWN, keyExpiresAt: Infinity, staleAt };
  if (record.revoked_at !== null) return { principal: REVOKED, keyExpiresAt: Infinity, staleAt };
  const principal: Principal = { orgId: record.org_id, keyId: record.id, scopes: Object.freeze([...record.scopes]) };
  return { principal, keyExpiresAt: record.expires_at === null ? Infinity : record.expires_at.getTime(), staleAt };
}

export function createApiKeyAuthenticator(options: ApiKeyAuthenticatorOptions): Authenticate {
  const { store } = options;
  const ttl = options.cacheTtlMs ?? 2_000;
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
          const entry = toEntry(record, hash, clock(), ttl);
          remember(hash, entry);
          return entry;
        })
        .finally(() => inFlight.delete(hash));
      inFlight.set(hash, pending);
    }
    return pending;
  }

  function usable(entry: Entry, now: number): AuthResult {
    return now < entry.keyExpiresAt ? entry.principal : EXPIRED;
  }

  const authenticate = async function authenticate(token: string): Promise<AuthResult> {
    const hash = hashApiKey(token);
    const now = clock();
    const cached = cache.get(hash);
    if (cached !== undefined && now < cached.staleAt) return usable(cached, now);
    return usable(await lookUp(hash), clock());
  } as Authenticate;
  authenticate.forget = () => cache.clear();
  return authenticate;
}
