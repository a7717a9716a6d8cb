export { createConsoleApp, type ConsoleDeps, type Principal, type ConsoleLogger } from './app.js';
export { createPolicyRoutes, policyPath, availabilityIssues, type PolicyRoutesOptions, type PolicyView, type TierAvailability } from './policy.js';
export { ApiError, type ConsoleEnv, type Issue } from './http.js';
export { buildConsoleOpenApiDocument, consoleResponseSchemas, mergeOpenApiDocuments } from './openapi.js';
