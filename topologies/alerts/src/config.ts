/**
 * Each organization's alert configuration (rules and routing), cached like policies: loaded from the
 * store at most every `ttlMs` (2 s), single-flight per organization, invalidated at once by the
 * console of the same process. A rule that no longer parses is skipped and reported; a store that
 * cannot be read keeps the last good configuration (or fails the batch when there never was one, so
 * the runner retries rather than drop alerts). An organization id that cannot exist is poison (DLQ).
 */
import type { AlertStore } from '@metronis/stores';
import { InfrastructureError, PoisonRecordError } from '@metronis/streams';
import { DEFAULT_ROUTING, parseRouting, parseRule, type Routing } from './documents.js';
import type { StoredRule } from './rules.js';

export interface OrgAlertConfig {
  rules: StoredRule[];
  routing: Routing;
}

export interface AlertConfigCache {
  get(orgId: string): Promise<OrgAlertConfig>;
  invalidate(orgId: string): void;
}

export const DEFAULT_CONFIG_TTL_MS = 2_000;

export function createAlertConfigCache(options: {
  store: Pick<AlertStore, 'rulesOf' | 'routingOf'>;
  ttlMs?: number;
  clock?: { now(): number };
  onError?: (error: unknown, orgId: string) => void;
}): AlertConfigCache {
  const ttlMs = options.ttlMs ?? DEFAULT_CONFIG_TTL_MS;
  const clock = options.clock ?? Date;
  const entries = new Map<string, { config: OrgAlertConfig | null; at: number; loading: Promise<OrgAlertConfig> | null }>();

  async function load(orgId: string): Promise<OrgAlertConfig> {
    const [rules, routing] = await Promise.all([options.store.rulesOf(orgId), options.store.routingOf(orgId)]);
    const parsed: StoredRule[] = [];
    for (const stored of rules) {
      try {
        parsed.push({ id: stored.id, version: stored.version, rule: parseRule(stored.document) });
      } catch (error) {
        options.onError?.(new Error(`alert rule ${stored.id} (version ${stored.version}) no longer validates; it is skipped`, { cause: error }), orgId);
      }
    }
    let routingDoc = DEFAULT_ROUTING;
    if (routing !== null) {
      try {
        routingDoc = parseRouting(routing.document);
      } catch (error) {
        options.onError?.(new Error(`the alert routing (version ${routing.version}) no longer validates; the default routing applies`, { cause: error }), orgId);
      }
    }
    return { rules: parsed, routing: routingDoc };
  }

  return {
    get(orgId) {
      // An id no organization can have comes from a record no producer of ours wrote: it is poison
      // (the runner sends it to the DLQ), not an outage to retry for ever.
      if (typeof orgId !== 'string' || orgId.length === 0 || orgId.length > 1000 || orgId.includes('\u0000')) {
        return Promise.reject(new PoisonRecordError(`no organization can have the id ${JSON.stringify(String(orgId).slice(0, 80))}`));
      }
      let entry = entries.get(orgId);
      if (entry === undefined) {
        entry = { config: null, at: 0, loading: null };
        entries.set(orgId, entry);
        if (entries.size > 10_000) entries.delete(entries.keys().next().value as string);
      }
      if (entry.config !== null && clock.now() - entry.at < ttlMs) return Promise.resolve(entry.config);
      if (entry.loading !== null) return entry.loading;
      const current = entry;
      current.loading = load(orgId).then(
        (config) => {
          current.loading = null;
          current.at = clock.now();
          if (entries.get(orgId) === current) current.config = config;
          return config;
        },
        (error: unknown) => {
          current.loading = null;
          options.onError?.(error, orgId);
          if (current.config !== null) return current.config;
          throw new InfrastructureError(`the alert configuration of ${JSON.stringify(orgId)} cannot be loaded: ${(error as Error)?.message ?? error}`, { cause: error });
        },
      );
      return current.loading;
    },
    invalidate(orgId) {
      entries.delete(orgId);
    },
  };
}
