export { createGatewayApp, type GatewayDeps, type GatewayEnv, type GatewayLimits, type GatewayLogger } from './app.js';
export { createApiKeyAuthenticator, hashApiKey, type ApiKeyAuthenticatorOptions, type Authenticate, type Principal } from './auth.js';
export { ApiError, ERROR_CODES, type ErrorBody, type ErrorCode, type Issue } from './errors.js';
export { buildOpenApiDocument, responseSchemas, type OpenApiOptions } from './openapi.js';
export { startGateway, type RunningGateway, type StartGatewayOptions } from './server.js';
