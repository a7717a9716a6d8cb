export { assertTake, gcra, type RateLimit, type RateLimitDecision, type RateLimiter } from './gcra.js';
export { DEFAULT_ORG_RATE_LIMITS, fixedOrgLimits, ORG_RATE_LIMIT_MAXIMA, orgRateLimitsSchema, type OrgLimitsSource, type OrgRateLimits } from './limits.js';
export { createMemoryRateLimiter, type MemoryRateLimiterOptions } from './memory.js';
export { createOrgRateLimit, type OrgRateLimit, type OrgRateLimitOptions, type RateLimitEnv, type RateLimitKind } from './middleware.js';
export { createRedisRateLimiter, GCRA_SCRIPT, type RedisRateLimiter, type RedisRateLimiterOptions } from './redis.js';
