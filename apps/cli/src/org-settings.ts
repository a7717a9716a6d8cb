/**
 * Per-organization settings (retention, rate limits) for hot paths: a small cache over the
 * organizations table, so the sinks and the gateway ask Postgres at most once per org every `ttlMs`.
 * Loads are single-flight per org; a failed load keeps serving the last good settings of that org (or
 * rejects when it never had any, so a caller retries rather than guess); `invalidate(orgId)` makes the
 * next `get` load again (an admin change in this process applies at once, elsewhere within the TTL).
 * An organization with no row (traces of it can arrive from trusted producers) gets the defaults.
 *
 * @example
 *   const settings = orgSettingsCache(store, logger);
 *   const days = (await settings.get('acme')).retention_days;
 */
import type { RelationalStore } from '@metronis/stores';
import type { Logger } from './logger.js';

export interface OrgSettings {
  retention_days: number;
  /** as saved by the admin API, or null for the deployment's defaults */
  rate_limits: Record<string, number> | null;
}

export interface OrgSettingsCache {
  get(orgId: string): Promise<OrgSettings>;
  invalidate(orgId: string): void;
}

const DEFAULTS: OrgSettings = Object.freeze({ retention_days: 90, rate_limits: null });

interface Entry {
  settings: OrgSettings | null;
  loadedAt: number;
  pending: Promise<OrgSettings> | null;
}

export function orgSettingsCache(store: Pick<RelationalStore, 'forOrg'>, logger: Pick<Logger, 'warn'>, options: { ttlMs?: number; maxOrgs?: number; clock?: () => number } = {}): OrgSettingsCache {
  const ttl = options.ttlMs ?? 2_000;
  const maxOrgs = options.maxOrgs ?? 10_000;
  const clock = options.clock ?? Date.now;
  const entries = new Map<string, Entry>();

  function load(orgId: string, entry: Entry): Promise<OrgSettings> {
    entry.pending ??= store
      .forOrg(orgId)
      .getOrganization()
      .then(
        (org) => {
          entry.settings = org === null ? DEFAULTS : { retention_days: org.retention_days, rate_limits: org.rate_limits };
          entry.loadedAt = clock();
          return entry.settings;
        },
        (error: unknown) => {
          logger.warn({ err: error, org_id: orgId }, 'organization settings could not be loaded');
          entry.loadedAt = clock();
          if (entry.settings !== null) return entry.settings;
          throw error;
        },
      )
      .finally(() => {
        entry.pending = null;
      });
    return entry.pending;
  }

  return {
    async get(orgId) {
      let entry = entries.get(orgId);
      if (entry === undefined) {
        if (entries.size >= maxOrgs) entries.delete(entries.keys().next().value!);
        entry = { settings: null, loadedAt: 0, pending: null };
        entries.set(orgId, entry);
      }
      if (entry.settings !== null && clock() - entry.loadedAt < ttl) return entry.settings;
      return load(orgId, entry);
    },
    invalidate(orgId) {
      const entry = entries.get(orgId);
      if (entry !== undefined) entry.loadedAt = 0;
    },
  };
}
