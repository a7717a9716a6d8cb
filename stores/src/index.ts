export * from './types.js';
export { StoreError, InvalidRecordError, ConflictError } from './errors.js';
export * from './tenancy.js';
export * from './alerts.js';
export * from './judge.js';
export * from './search.js';
export * from './users.js';
export type { StoreLogger } from './logger.js';
export { POSTGRES_MIGRATIONS_DIR, CLICKHOUSE_DDL_DIR } from './paths.js';
export { createPostgresStore, type PostgresStoreOptions } from './postgres/postgres.js';
export { createPgliteStore, PGLITE_START_PARAMS, type PgliteStoreOptions } from './postgres/pglite.js';
export { AUTOVACUUM_THRESHOLDS, startPgliteAutovacuum, type PgliteAutovacuum, type PgliteAutovacuumOptions } from './postgres/pglite-vacuum.js';
export { searchTracesQuery } from './postgres/search.js';
export { createChdbFactsStore, type ChdbFactsStoreOptions } from './clickhouse/chdb.js';
export { createClickHouseFactsStore, type ClickHouseFactsStoreOptions } from './clickhouse/server.js';
export { toEvaluationFact, toModuleResultFacts } from './clickhouse/rows.js';
export { MAX_RETENTION_DAYS } from './clickhouse/lifecycle.js';
export { createSecretBox, generateSecretsKey, loadOrCreateSecretsKey, parseSecretsKey, SecretsError, type SecretBox } from './secrets.js';
export {
  AnalyticsSqlError,
  DEFAULT_ANALYTICS_LIMITS,
  HIDDEN_SYSTEM_TABLES,
  analyticsAccessStatements,
  analyticsObjects,
  orgUserName,
  type AnalyticsLimits,
  type AnalyticsSqlProblem,
  type AnalyticsSqlResult,
} from './clickhouse/analytics-sql.js';
export * from './egress.js';
