export { createGatewayApp, type GatewayDeps, type GatewayEnv, type GatewayLimits, type GatewayLogger } from './app.js';
export {
  createApiKeyAuthenticator,
  credentialHeader,
  hashApiKey,
  AUTH_CHALLENGES,
  isRejection,
  issueApiKey,
  presentedKey,
  REJECTION_CODES,
  REJECTION_MESSAGES,
  type ApiKeyAuthenticatorOptions,
  type Authenticate,
  type AuthResult,
  type KeyRejection,
  type Principal,
} from './auth.js';
export { ApiError, ERROR_CODES, type ErrorBody, type ErrorCode, type Issue } from './errors.js';
export { buildOpenApiDocument, responseSchemas, type OpenApiOptions } from './openapi.js';
export { startGateway, type RunningGateway, type StartGatewayOptions } from './server.js';
export {
  createMemoryRateLimiter,
  createOrgRateLimit,
  createRedisRateLimiter,
  DEFAULT_ORG_RATE_LIMITS,
  fixedOrgLimits,
  gcra,
  ORG_RATE_LIMIT_MAXIMA,
  orgRateLimitsSchema,
  type MemoryRateLimiterOptions,
  type OrgLimitsSource,
  type OrgRateLimit,
  type OrgRateLimitOptions,
  type OrgRateLimits,
  type RateLimit,
  type RateLimitDecision,
  type RateLimiter,
  type RateLimitEnv,
  type RedisRateLimiter,
  type RedisRateLimiterOptions,
} from './rate-limit/index.js';
export { DEFAULT_SERVER_LIMITS, resolveServerLimits, serverGuard, type ServerLimits } from './server-limits.js';
export { API_CSP, CONSOLE_CSP, corsAllowList, securityHeaders, type SecurityHeadersOptions } from './security.js';
