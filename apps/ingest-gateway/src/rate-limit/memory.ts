/**
 * GCRA in process, for one instance (embedded mode, tests): a map from key to TAT. The map is
 * bounded: a key whose TAT has passed is a full bucket, the same as an absent one, so such entries
 * are dropped first; when every entry is still active the oldest inserted key is dropped, which
 * forgives that key its debt (a leak towards allowing, never towards refusing).
 *
 * Across several gateway processes each would keep its own buckets and together allow N times the
 * limit: use the Redis limiter (redis.ts) there.
 *
 * @example
 *   const limiter = createMemoryRateLimiter();
 *   await limiter.take('requests:org_acme', 1, { rate: 100, burst: 200 });
 */
import { assertTake, gcra, type RateLimiter } from './gcra.js';

export interface MemoryRateLimiterOptions {
  /** Most keys kept. Default 100,000 (a few MB). */
  maxKeys?: number;
  /** Milliseconds from any origin; only differences matter. Default `performance.now` (monotonic: a wall-clock step cannot refill or drain buckets). */
  clock?: () => number;
}

export function createMemoryRateLimiter(options: MemoryRateLimiterOptions = {}): RateLimiter & { size(): number } {
  const maxKeys = options.maxKeys ?? 100_000;
  const clock = options.clock ?? (() => performance.now());
  if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new RangeError(`createMemoryRateLimiter: maxKeys must be a positive integer, got ${maxKeys}`);
  /** Each key's TAT and the emission interval it was taken with (gcra.ts: limits may change between takes). */
  const tats = new Map<string, { tat: number; interval: number }>();

  function makeRoom(now: number): void {
    for (const [key, { tat }] of tats) {
      if (tat <= now) tats.delete(key);
    }
    if (tats.size >= maxKeys) {
      const oldest = tats.keys().next();
      if (oldest.done !== true) tats.delete(oldest.value);
    }
  }

  return {
    async take(key, cost, limit) {
      assertTake(cost, limit);
      const now = clock();
      const stored = tats.get(key);
      const { decision, tat, interval } = gcra(stored?.tat, now, cost, limit, stored?.interval);
      if (decision.allowed && cost > 0) {
        if (stored === undefined && tats.size >= maxKeys) makeRoom(now);
        tats.set(key, { tat, interval });
      } else if (stored !== undefined && (stored.tat !== tat || stored.interval !== interval)) {
        // Refused under a changed limit: keep the debt as carried over, so it drains at the new rate
        // (recomputed from the old TAT each time, it would stay a full bucket behind until that TAT).
        tats.set(key, { tat, interval });
      }
      return decision;
    },
    size: () => tats.size,
    async close() {
      tats.clear();
    },
  };
}
