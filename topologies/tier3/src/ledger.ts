/**
 * The judge's budget and cache on the relational store (tables of migration 0008), so they hold
 * across restarts, rebalances and workers: the spend of an org's UTC day is reserved from and settled
 * in Postgres, and judgments are cached there by content hash for `ttlMs`.
 *
 * @example
 *   const budget = storeBudget(store.judge, judge.settings.budget);
 *   const cache = storeCache(store.judge, { ttlMs: 7 * 86_400_000 });
 */
import type { JudgeLimits, JudgeStore } from '@metronis/stores';
import type { Clock } from '@metronis/streams';
import type { BudgetLedger, JudgmentCache } from './judge.js';

/** The UTC day of a moment, as the budget counts it. */
export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

export function storeBudget(store: Pick<JudgeStore, 'reserve' | 'settle'>, limits: JudgeLimits, clock: Clock = Date): BudgetLedger {
  return {
    async reserve(orgId, tokens, cost) {
      // The settlement lands on the reservation's day, even when the call spans midnight.
      const day = utcDay(clock.now());
      if (!(await store.reserve(orgId, day, tokens, cost, limits))) return null;
      return { settle: (used, spent) => store.settle(orgId, day, used, spent) };
    },
  };
}

export function storeCache(store: Pick<JudgeStore, 'cacheGet' | 'cachePut'>, options: { ttlMs: number; clock?: Clock }): JudgmentCache {
  const clock = options.clock ?? Date;
  return {
    get: (orgId, key) => store.cacheGet(orgId, key, new Date(clock.now() - options.ttlMs)),
    put: (orgId, key, judgment) => store.cachePut(orgId, key, judgment),
  };
}
