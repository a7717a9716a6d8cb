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

/** One GCRA step: the decision and the key's new TAT (unchanged when refused). Times in ms. */
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

export function gcra(storedTat: number | undefined, now: number, cost: number, limit: RateLimit): { decision: RateLimitDecision; tat: number } {
  const interval = 1000 / limit.rate;
  const tolerance = interval * limit.burst;
  const tat = storedTat === undefined || storedTat < now ? now : storedTat;
  const next = tat + cost * interval;
  const allowAt = next - tolerance;
  // Fractional clocks (performance.now) make `now + x - x` land a rounding error above `now`: a take
  // that exactly fits must not be refused for 1e-13 ms.
  if (allowAt - now > ROUNDING_MS) {
    const wait = cost > limit.burst ? tat - now : allowAt - now;
    return {
      tat,
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
