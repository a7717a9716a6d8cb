/**
 * A per-organization policy cache for the hot paths (the tiers, the gateway's masking switch). It
 * does no I/O of its own: `load(orgId)` fetches the stored document (for example
 * `(org) => store.getPolicy(org).then((p) => p?.document ?? null)`), the cache parses it with
 * `parsePolicy` and keeps it for `ttlMs`, so a saved change is in effect within seconds.
 *
 * - An org without a stored policy (`load` gives null) gets `DEFAULT_POLICY`.
 * - Loads are single-flight per org: concurrent `get`s of a stale org share one `load`.
 * - A failed load (the store is down) or a stored document that no longer parses is reported through
 *   `onError`; the cache keeps serving the last good policy of that org (or the default when it never
 *   had one) and tries again after another `ttlMs`. Evaluation never stops because config is unreadable.
 * - With `failClosed`, an org whose policy never loaded gets a rejection instead of the default
 *   policy when its load fails (the next `get` tries again): for callers that must not act on a guess,
 *   such as the gateway deciding whether to mask PII before anything is written.
 * - At most `maxOrgs` orgs are kept; the least recently used is dropped first.
 *
 * @example
 *   const policies = createPolicyCache({ load: (org) => store.getPolicy(org).then((p) => p?.document ?? null), onError: (e, org) => logger.warn({ err: e, org }, 'policy load failed') });
 *   const policy = await policies.get(trace.org_id);
 */
import { DEFAULT_POLICY, parsePolicy, type Policy } from './policy.js';

export interface PolicyCacheOptions {
  /** The stored policy document of an org (JSON text or a parsed value), or null when it has none. */
  load: (orgId: string) => Promise<unknown | null>;
  /** How long a loaded policy is served before it is loaded again. Default 2,000 ms. */
  ttlMs?: number;
  /** Orgs kept at most; the least recently used is dropped. Default 10,000. */
  maxOrgs?: number;
  /** Epoch milliseconds; `Date` unless a test gives its own. */
  clock?: { now(): number };
  /** Told about every failed load or unparseable document (the cache goes on with the last good policy). */
  onError?: (error: Error, orgId: string) => void;
  /** Reject `get` (instead of serving the default policy) while an org's policy has never loaded. Default false. */
  failClosed?: boolean;
}

export interface PolicyCache {
  /** The org's current policy (rejects only for an empty org id, or with `failClosed` as described). */
  get(orgId: string): Promise<Policy>;
  /** Forgets the org, so the next `get` loads it again (call it after saving a new policy). */
  invalidate(orgId: string): void;
}

interface Entry {
  /** the last good policy, or null before the first load finished */
  policy: Policy | null;
  loadedAt: number;
  loading: Promise<Policy> | null;
}

export const DEFAULT_POLICY_TTL_MS = 2_000;
export const DEFAULT_POLICY_CACHE_MAX_ORGS = 10_000;

export function createPolicyCache(options: PolicyCacheOptions): PolicyCache {
  if (typeof options?.load !== 'function') throw new TypeError('createPolicyCache: load must be a function (orgId) => Promise<document | null>');
  const ttlMs = options.ttlMs ?? DEFAULT_POLICY_TTL_MS;
  if (!Number.isFinite(ttlMs) || ttlMs < 0) throw new RangeError(`createPolicyCache: ttlMs must be a finite number >= 0, got ${ttlMs}`);
  const maxOrgs = options.maxOrgs ?? DEFAULT_POLICY_CACHE_MAX_ORGS;
  if (!Number.isInteger(maxOrgs) || maxOrgs < 1) throw new RangeError(`createPolicyCache: maxOrgs must be a positive integer, got ${maxOrgs}`);
  const clock = options.clock ?? Date;
  const { load, onError } = options;
  const failClosed = options.failClosed ?? false;
  const entries = new Map<string, Entry>();

  function remember(orgId: string, entry: Entry): void {
    entries.delete(orgId); // re-insert: the Map's order is the recency order
    entries.set(orgId, entry);
    if (entries.size > maxOrgs) entries.delete(entries.keys().next().value as string);
  }

  function report(error: unknown, orgId: string): void {
    const err = error instanceof Error ? error : new Error(String(error));
    try {
      onError?.(err, orgId);
    } catch {
      // a failing reporter must not take the policy down with it
    }
  }

  function refresh(orgId: string, entry: Entry): Promise<Policy> {
    const loading = (async function loadPolicy(): Promise<Policy> {
      let next: Policy;
      try {
        const document = await load(orgId);
        next = document === null || document === undefined ? DEFAULT_POLICY : parsePolicy(document);
      } catch (error) {
        report(error, orgId);
        if (entry.policy === null && failClosed) {
          entry.loading = null;
          if (entries.get(orgId) === entry) entries.delete(orgId);
          throw new Error(`the policy of ${JSON.stringify(orgId)} cannot be loaded: ${(error as Error)?.message ?? String(error)}`, { cause: error });
        }
        next = entry.policy ?? DEFAULT_POLICY;
      }
      entry.loading = null;
      entry.loadedAt = clock.now();
      // keep the answer unless the org was invalidated (or evicted) meanwhile: then it may be stale
      if (entries.get(orgId) === entry) entry.policy = next;
      return next;
    })();
    entry.loading = loading;
    return loading;
  }

  return {
    get(orgId) {
      if (typeof orgId !== 'string' || orgId.length === 0) {
        return Promise.reject(new TypeError(`policy cache: orgId must be a non-empty string, got ${JSON.stringify(orgId)}`));
      }
      let entry = entries.get(orgId);
      if (entry === undefined) {
        entry = { policy: null, loadedAt: 0, loading: null };
        remember(orgId, entry);
      } else if (entries.size > 1) {
        remember(orgId, entry);
      }
      if (entry.loading) return entry.loading;
      if (entry.policy !== null && clock.now() - entry.loadedAt < ttlMs) return Promise.resolve(entry.policy);
      return refresh(orgId, entry);
    },

    invalidate(orgId) {
      entries.delete(orgId);
    },
  };
}
