/**
 * The rate limiter contract and the one algorithm behind both implementations: GCRA, the generic cell
 * rate algorithm. A limit is `{ rate, burst }`: `rate` units per second sustained, up to `burst` units
 * at once from a rested bucket. Each key keeps one number, its theoretical arrival time (TAT): the
 * moment the bucket would be full again. A take of `cost` units moves TAT forward by
 * `cost / rate` seconds and is allowed while TAT stays within `burst / rate` seconds of now.
 *
 * Compared with a token bucket it is the same policy with one stored value and no refill step, which
 * is what makes it one short atomic script in Redis (redis.ts) and a map of numbers in process
 * (memory.ts). Both follow `gcra()` below; the Lua script repeats it in microseconds.
 *
 * A limit can change between two takes (an operator raises it, or resets it to the defaults). The TAT
 * holds the key's debt in time, which means something only under the limit it was taken with: kept as
 * it was, a debt run up under a slow rate with a large burst (an hour at 1/s) locked the key out for
 * that hour under a new, higher rate with a smaller burst, on every route of the organization. So each
 * key also keeps the emission interval its TAT was taken with; a take under another limit first turns
 * the debt into units, and every take caps the debt at the current burst. A changed limit then applies
 * at once: the key is at most a full bucket behind, never longer than one emission interval of the new
 * limit from its next unit.
 *
 * A cost larger than the burst can never be allowed: it is refused with the time until the bucket is
 * full as `retryAfterMs` (finite, so clients back off), and callers say that the request is too big
 * for the limit (see middleware.ts).
 *
 * @example
 *   const d = await limiter.take('traces:org_acme', 50, { rate: 10_000, burst: 20_000 });
 *   if (!d.allowed) answer429(Math.ceil(d.retryAfterMs / 1000));
 */

/** Sustained units per second and the most units allowed at once. Positive integers. */
export interface RateLimit {
  rate: number;
  burst: number;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** Units that could still be taken right now (after this take when allowed). */
  remaining: number;
  /** 0 when allowed; else milliseconds until a take of the same cost could be allowed. */
  retryAfterMs: number;
  /** Milliseconds until the bucket is full again (remaining = limit). */
  resetMs: number;
  /** The burst: the most units at once. */
  limit: number;
}

export interface RateLimiter {
  /** Takes `cost` units from the bucket named `key`, or refuses and takes nothing. */
  take(key: string, cost: number, limit: RateLimit): Promise<RateLimitDecision>;
  /** Releases connections and timers. */
  close(): Promise<void>;
}

/** Differences below this many milliseconds are floating-point noise, not time. */
const ROUNDING_MS = 1e-6;

/** Whole units in `ms` of tolerance, forgiving the floating-point noise of a fractional clock. */
function unitsLeft(ms: number, interval: number): number {
  return Math.max(0, Math.floor((ms + ROUNDING_MS) / interval));
}

/** Milliseconds rounded up, forgiving the same noise (3000.0000001 is 3000, not 3001). */
function wholeMs(ms: number): number {
  return Math.ceil(ms - ROUNDING_MS);
}

/**
 * The stored TAT as it stands under the current limit: at least now; a debt taken with another emission
 * interval (`storedInterval`, ms) carried over as the same number of units; never more than a full
 * bucket (the burst) of debt. Absent `storedInterval` means the current one (a TAT stored before keys
 * kept their interval).
 */
export function currentTat(storedTat: number | undefined, now: number, limit: RateLimit, storedInterval?: number): number {
  if (storedTat === undefined || storedTat <= now) return now;
  const interval = 1000 / limit.rate;
  const units = storedInterval === undefined || storedInterval === interval ? (storedTat - now) / interval : (storedTat - now) / storedInterval;
  if (units <= limit.burst) return storedInterval === undefined || storedInterval === interval ? storedTat : now + units * interval;
  return now + limit.burst * interval;
}

/**
 * One GCRA step: the decision and the key's new TAT (unchanged when refused, but for the carry-over
 * of `currentTat`), with the emission interval to store beside it. Times in ms.
 */
export function gcra(
  storedTat: number | undefined,
  now: number,
  cost: number,
  limit: RateLimit,
  storedInterval?: number,
): { decision: RateLimitDecision; tat: number; interval: number } {
  const interval = 1000 / limit.rate;
  const tolerance = interval * limit.burst;
  const tat = currentTat(storedTat, now, limit, storedInterval);
  const next = tat + cost * interval;
  const allowAt = next - tolerance;
  // Fractional clocks (performance.now) make `now + x - x` land a rounding error above `now`: a take
  // that exactly fits must not be refused for 1e-13 ms.
  if (allowAt - now > ROUNDING_MS) {
    const wait = cost > limit.burst ? tat - now : allowAt - now;
    return {
      tat,
      interval,
      decision: {
        allowed: false,
        remaining: unitsLeft(tolerance - (tat - now), interval),
        retryAfterMs: Math.max(1, wholeMs(wait)),
        resetMs: wholeMs(tat - now),
        limit: limit.burst,
      },
    };
  }
  return {
    tat: next,
    interval,
    decision: {
      allowed: true,
      remaining: unitsLeft(tolerance - (next - now), interval),
      retryAfterMs: 0,
      resetMs: wholeMs(next - now),
      limit: limit.burst,
    },
  };
}

/** Throws unless cost and limit are usable (positive integers; cost may be 0). */
export function assertTake(cost: number, limit: RateLimit): void {
  if (!Number.isInteger(cost) || cost < 0) throw new RangeError(`rate limiter: cost must be a non-negative integer, got ${cost}`);
  if (!Number.isInteger(limit.rate) || limit.rate <= 0 || !Number.isInteger(limit.burst) || limit.burst <= 0) {
    throw new RangeError(`rate limiter: rate and burst must be positive integers, got ${limit.rate}/${limit.burst}`);
  }
}
