/**
 * What an organization may send: requests per second and traces per second, each with a burst. The
 * limits are per organization across every gateway instance (with the Redis limiter), and the zod
 * schema here is the one contract for them: the admin API validates changes with it.
 *
 * Defaults are above what one gateway instance sustains on a 2-core machine (BENCHMARKS.md: about
 * 6,800 single-trace requests/s and 30,000 traces/s in batches on Kafka), so an organization that
 * was never given limits — the default one, which the throughput benchmark uses — is not throttled
 * by the benchmark; operators lower them per organization.
 *
 * @example
 *   const limits = orgRateLimitsSchema.parse({ requests_per_second: 50, requests_burst: 100, traces_per_second: 500, traces_burst: 1000 });
 */
import { z } from 'zod';

export interface OrgRateLimits {
  requests_per_second: number;
  requests_burst: number;
  traces_per_second: number;
  traces_burst: number;
}

/** Where the middleware reads an org's limits: a cache in front of the store, never a query per request. */
export interface OrgLimitsSource {
  get(orgId: string): Promise<OrgRateLimits>;
}

export const DEFAULT_ORG_RATE_LIMITS: Readonly<OrgRateLimits> = Object.freeze({
  requests_per_second: 10_000,
  requests_burst: 20_000,
  traces_per_second: 50_000,
  traces_burst: 100_000,
});

/** The largest values accepted: far above one deployment's capacity, low enough to stay exact in GCRA's arithmetic. */
export const ORG_RATE_LIMIT_MAXIMA = Object.freeze({ per_second: 1_000_000, burst: 10_000_000 });

const perSecond = z.number().int().positive().max(ORG_RATE_LIMIT_MAXIMA.per_second);
const burst = z.number().int().positive().max(ORG_RATE_LIMIT_MAXIMA.burst);

export const orgRateLimitsSchema = z
  .strictObject({
    requests_per_second: perSecond.describe('Sustained requests per second, across every gateway instance.'),
    requests_burst: burst.describe('Most requests at once from a rested organization.'),
    traces_per_second: perSecond.describe('Sustained traces per second (a batch of 50 counts 50).'),
    traces_burst: burst.describe('Most traces at once; a batch with more valid traces than this is always refused.'),
  })
  .describe("An organization's rate limits.") satisfies z.ZodType<OrgRateLimits>;

/** A source that gives every organization the same limits (the defaults unless told otherwise). */
export function fixedOrgLimits(limits: OrgRateLimits = DEFAULT_ORG_RATE_LIMITS): OrgLimitsSource {
  const parsed = orgRateLimitsSchema.parse(limits);
  return { get: async () => parsed };
}
