/**
 * Rate limits and instance protection, composed from the configuration: which limiter (Redis when
 * REDIS_URL is set, so every gateway and console instance shares one bucket per org; else in this
 * process), where each org's limits come from, and the HTTP server's timeouts and in-flight bound.
 *
 * `orgLimitsSource` is the one place that decides an organization's limits: what the org saved
 * (`PUT /v1/org/rate-limits`, read through the per-org settings cache) over the deployment's defaults
 * (`METRONIS_RATE_LIMITS` over `DEFAULT_ORG_RATE_LIMITS`).
 *
 * @example
 *   const { rateLimiter, rateLimits } = await rateLimiting(env, store, logger, lifecycle);
 *   const server = await listen(app.fetch, { host, port, limits: serverLimitsOf(env), logger });
 */
import {
  createMemoryRateLimiter,
  createRedisRateLimiter,
  type OrgLimitsSource,
  type OrgRateLimits,
  type RateLimiter,
  type ServerLimits,
} from '@metronis/ingest-gateway';
import type { Logger } from './logger.js';
import type { OrgSettingsCache } from './org-settings.js';
import type { Lifecycle } from './shutdown.js';

/** The variables of env.ts that this file reads. */
export interface LimitsEnv {
  REDIS_URL?: string;
  METRONIS_RATE_LIMITS: OrgRateLimits;
  METRONIS_MAX_INFLIGHT: number;
  METRONIS_HEADERS_TIMEOUT_MS: number;
  METRONIS_REQUEST_TIMEOUT_MS: number;
  METRONIS_KEEPALIVE_TIMEOUT_MS: number;
  METRONIS_MAX_HEADER_BYTES: number;
}

/** Each organization's rate limits: its saved ones over the deployment's defaults. */
export function orgLimitsSource(settings: Pick<OrgSettingsCache, 'get'>, defaults: OrgRateLimits): OrgLimitsSource {
  return {
    async get(orgId) {
      const saved = (await settings.get(orgId)).rate_limits;
      return saved === null ? defaults : { ...defaults, ...saved };
    },
  };
}

export function serverLimitsOf(env: LimitsEnv): ServerLimits {
  return {
    maxInFlight: env.METRONIS_MAX_INFLIGHT,
    headersTimeoutMs: env.METRONIS_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: env.METRONIS_REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: env.METRONIS_KEEPALIVE_TIMEOUT_MS,
    maxHeaderBytes: env.METRONIS_MAX_HEADER_BYTES,
  };
}

/**
 * The limiter and the limits source of a process. With REDIS_URL the Redis limiter, waited for up to
 * 2 s at start; when Redis cannot be reached the process starts anyway and lets requests through
 * until it can (fail open, logged), since rate limits must not take ingestion down with them.
 */
export async function rateLimiting(env: Pick<LimitsEnv, 'REDIS_URL' | 'METRONIS_RATE_LIMITS'>, settings: OrgSettingsCache, logger: Logger, lifecycle: Lifecycle) {
  const rateLimits = orgLimitsSource(settings, env.METRONIS_RATE_LIMITS);
  let rateLimiter: RateLimiter;
  const url = env.REDIS_URL;
  if (url === undefined) {
    rateLimiter = createMemoryRateLimiter();
  } else {
    let lastErrorAt = -Infinity;
    const redis = createRedisRateLimiter({
      url,
      onError: (err) => {
        if (Date.now() - lastErrorAt < 10_000) return;
        lastErrorAt = Date.now();
        logger.error({ err: err.message }, 'rate limiter: Redis connection error');
      },
    });
    await redis.connected().then(
      () => logger.info({ redis: redactUrl(url) }, 'rate limits shared through Redis'),
      (err: Error) => logger.error({ err: err.message }, 'rate limiter: Redis unreachable at start; requests are let through until it answers'),
    );
    rateLimiter = redis;
  }
  lifecycle.onClose('rate limiter', () => rateLimiter.close());
  return { rateLimiter, rateLimits };
}

function redactUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = '***';
  return parsed.toString();
}
