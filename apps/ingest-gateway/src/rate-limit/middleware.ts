/**
 * Per-organization rate limits for Hono apps, after authentication (the organization comes from the
 * principal). Two limits per organization (limits.ts): requests — each request costs 1, taken by the
 * `requests` middleware — and traces — a request's valid traces, taken by `chargeTraces` once the body
 * is parsed and before anything is produced, so a refused batch writes nothing.
 *
 * A refusal answers 429 `rate_limited` in the apps' error envelope with `Retry-After` (whole seconds,
 * rounded up). Every answer past the check carries the IETF draft headers (draft-ietf-httpapi-
 * ratelimit-headers-07): `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (seconds until the
 * bucket is full) of the most constrained limit checked — the refusing one on a 429 — and
 * `RateLimit-Policy` listing each limit checked as `<burst>;w=<burst/rate seconds>;comment="<kind>"`.
 *
 * When the limiter or the limits cannot answer within `timeoutMs` (Redis down, say), the request is let
 * through: availability over exact limits. Each such decision is counted and one error line
 * (`rate_limit_fail_open`, with the count since the previous line) is logged at most every
 * `logEveryMs`. The limiter never causes a 5xx.
 *
 * @example
 *   const limit = createOrgRateLimit({ limiter, limits, logger });
 *   app.post('/v1/traces', requireKey, limit.requests, async (c) => { ...; await limit.chargeTraces(c, 1); ... });
 */
import type { Context, MiddlewareHandler } from 'hono';
import { ApiError } from '../errors.js';
import type { RateLimiter, RateLimitDecision } from './gcra.js';
import type { OrgLimitsSource, OrgRateLimits } from './limits.js';

/** What the middleware needs from the app: its request id and the authenticated organization. */
export interface RateLimitEnv {
  Variables: { requestId: string; principal: { orgId: string } };
}

export interface OrgRateLimitOptions {
  limiter: RateLimiter;
  limits: OrgLimitsSource;
  logger: { error(obj: object, msg: string): void };
  /** Longest wait for the limits and the limiter before letting the request through. Default 500 ms. */
  timeoutMs?: number;
  /** Fewest milliseconds between two fail-open log lines. Default 10,000. */
  logEveryMs?: number;
  clock?: () => number;
}

export type RateLimitKind = 'requests' | 'traces';

export interface OrgRateLimit<E extends RateLimitEnv = RateLimitEnv> {
  /** Takes 1 from the organization's requests limit; answers 429 when refused. */
  requests: MiddlewareHandler<E>;
  /** Takes `cost` traces; throws an ApiError 429 `rate_limited` when refused. */
  chargeTraces(c: Context<E>, cost: number): Promise<void>;
}

type Verdict = { kind: RateLimitKind; limit: { rate: number; burst: number }; decision: RateLimitDecision } | null;

// Hono cannot narrow `c.get` through a generic env; these read what RateLimitEnv promises.
const principalOf = (c: Context<any>): { orgId: string } => c.get('principal') as { orgId: string };
const requestIdOf = (c: Context<any>): string => c.get('requestId') as string;
const seconds = (ms: number): string => String(Math.ceil(ms / 1000));

function limitOf(limits: OrgRateLimits, kind: RateLimitKind): { rate: number; burst: number } {
  return kind === 'requests' ? { rate: limits.requests_per_second, burst: limits.requests_burst } : { rate: limits.traces_per_second, burst: limits.traces_burst };
}

function refusal(kind: RateLimitKind, cost: number, d: RateLimitDecision): string {
  if (kind === 'traces' && cost > d.limit) return `this request carries ${cost} traces, more than the organization's burst of ${d.limit}: send smaller batches`;
  const what = kind === 'requests' ? 'requests' : `traces (this request carries ${cost})`;
  return `the organization's rate limit of ${what} is exhausted; retry after ${seconds(d.retryAfterMs)} s`;
}

export function createOrgRateLimit<E extends RateLimitEnv = RateLimitEnv>(options: OrgRateLimitOptions): OrgRateLimit<E> {
  const { limiter, limits, logger } = options;
  const timeoutMs = options.timeoutMs ?? 500;
  const logEveryMs = options.logEveryMs ?? 10_000;
  const clock = options.clock ?? Date.now;
  /** Per request: the most constrained decision so far, and the policies checked. */
  const seen = new WeakMap<Request, { worst: RateLimitDecision; policies: string[] }>();
  let failedOpen = 0;
  let lastLogAt = -Infinity;

  function failOpen(kind: RateLimitKind, orgId: string, err: unknown): Verdict {
    failedOpen++;
    const now = clock();
    if (now - lastLogAt >= logEveryMs) {
      logger.error({ event: 'rate_limit_fail_open', kind, org_id: orgId, failed_open: failedOpen, err }, 'rate limiter unavailable: requests are let through unlimited');
      lastLogAt = now;
      failedOpen = 0;
    }
    return null;
  }

  async function check(kind: RateLimitKind, orgId: string, cost: number): Promise<Verdict> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the rate limiter did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const decide = async (): Promise<NonNullable<Verdict>> => {
        const limit = limitOf(await limits.get(orgId), kind);
        return { kind, limit, decision: await limiter.take(`${kind}:${orgId}`, cost, limit) };
      };
      return await Promise.race([decide(), timeout]);
    } catch (err) {
      return failOpen(kind, orgId, err);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sets the RateLimit-* headers; a refusal also sets Retry-After. */
  function annotate(c: Context<E>, verdict: Verdict): void {
    if (verdict === null) return;
    const { kind, limit, decision } = verdict;
    const state = seen.get(c.req.raw) ?? { worst: decision, policies: [] };
    state.policies.push(`${limit.burst};w=${Math.max(1, Math.ceil(limit.burst / limit.rate))};comment="${kind}"`);
    const fraction = (d: RateLimitDecision) => d.remaining / d.limit;
    if (!decision.allowed || fraction(decision) <= fraction(state.worst)) state.worst = decision;
    seen.set(c.req.raw, state);
    c.header('RateLimit-Limit', String(state.worst.limit));
    c.header('RateLimit-Remaining', String(state.worst.remaining));
    c.header('RateLimit-Reset', seconds(state.worst.resetMs));
    c.header('RateLimit-Policy', state.policies.join(', '));
    if (!decision.allowed) c.header('Retry-After', seconds(decision.retryAfterMs));
  }

  return {
    requests: async function rateLimitRequests(c, next) {
      const orgId = principalOf(c).orgId;
      const verdict = await check('requests', orgId, 1);
      annotate(c, verdict);
      if (verdict !== null && !verdict.decision.allowed) {
        const message = refusal('requests', 1, verdict.decision);
        return c.json({ error: { code: 'rate_limited', message, request_id: requestIdOf(c) } }, 429);
      }
      await next();
    },
    async chargeTraces(c, cost) {
      const orgId = principalOf(c).orgId;
      const verdict = await check('traces', orgId, cost);
      annotate(c, verdict);
      if (verdict !== null && !verdict.decision.allowed) throw new ApiError('rate_limited', refusal('traces', cost, verdict.decision));
    },
  };
}
