/**
 * The facts store on a ClickHouse server over HTTP (@clickhouse/client): the distributed mode.
 * Inserts are one JSONEachRow request per batch; queries send their `{name:Type}` parameters as
 * query parameters, which the server binds (never spliced into the SQL here).
 *
 * @example
 *   const facts = createClickHouseFactsStore({ url: env.CLICKHOUSE_URL, database: 'metronis' });
 *   await facts.migrate();
 */
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { CLICKHOUSE_RETRY_CODES, StoreError, storeError } from '../errors.js';
import { CLICKHOUSE_DDL_DIR } from '../paths.js';
import type { FactsStore } from '../types.js';
import {
  AnalyticsSqlError,
  analyticsAccessStatements,
  analyticsObjects,
  classifyUserSqlError,
  DEFAULT_ANALYTICS_LIMITS,
  orgUserName,
  userFacing,
  clickhouseErrorCode,
  type AnalyticsLimits,
  type AnalyticsSqlResult,
} from './analytics-sql.js';
import { factsLifecycle, type SqlExecutor } from './lifecycle.js';
import { applyDdl, readDdlFiles } from './migrations.js';
import { scopedFacts } from './scoped.js';
import { evaluationsToRows, factsToRows, moduleResultsToRows } from './rows.js';

export interface ClickHouseFactsStoreOptions {
  /** http(s)://host:port of the HTTP interface */
  url: string;
  /** default: `default` */
  database?: string;
  username?: string;
  password?: string;
  /** milliseconds before a request fails (default 30000) */
  requestTimeoutMs?: number;
  /** defaults to the repository's sql/clickhouse */
  ddlDir?: string;
  /**
   * Analytics SQL through per-organization users (analytics-sql.ts): each organization's password
   * (derive it from a secret, e.g. an HMAC of the org id) and the limits. The connecting user needs
   * access management. Without it, `analyticsSql` answers that it is not configured.
   */
  analytics?: { password(orgId: string): string; limits?: AnalyticsLimits };
}

export function createClickHouseFactsStore(options: ClickHouseFactsStoreOptions): FactsStore {
  if (typeof options.url !== 'string' || !/^https?:\/\//.test(options.url)) {
    throw new TypeError(`createClickHouseFactsStore: url must be an http(s):// URL, got ${JSON.stringify(options.url)}`);
  }
  const client = createClient({
    url: options.url,
    database: options.database ?? 'default',
    username: options.username ?? 'default',
    password: options.password ?? '',
    request_timeout: options.requestTimeoutMs ?? 30_000,
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    // Failures reach the caller as errors; the client's own console logging would only repeat them.
    log: { level: ClickHouseLogLevel.OFF },
  });
  const ddlDir = options.ddlDir ?? CLICKHOUSE_DDL_DIR;

  const fail = (operation: string, error: unknown) => explain(storeError(`clickhouse ${operation}`, error, CLICKHOUSE_RETRY_CODES));

  async function run<T>(operation: string, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      throw fail(operation, error);
    }
  }

  async function rows<T>(sql: string, params?: Record<string, unknown>): Promise<T[]> {
    const result = await client.query({ query: sql, query_params: params ?? {}, format: 'JSONEachRow' });
    return result.json<T>();
  }

  /** One request carrying the whole batch as JSONEachRow. */
  async function insert(operation: string, table: string, rows: Record<string, unknown>[]): Promise<void> {
    if (rows.length === 0) return;
    await run(operation, () => client.insert({ table, values: rows, format: 'JSONEachRow' }).then(() => undefined));
  }

  /** Organizations whose user, profile, grants and row policies this process has (re)applied. */
  const provisioned = new Set<string>();

  /**
   * A user's SQL as the organization's own ClickHouse user: the server's row policies, read-only
   * profile and grants confine it. Not verified by the test suite: the stack's ClickHouse 18.16 has
   * no SQL-driven access control; the statements are checked to parse on current ClickHouse (chDB).
   */
  async function analyticsSql(orgId: string, sql: string): Promise<AnalyticsSqlResult> {
    const operation = 'clickhouse analyticsSql';
    const analytics = options.analytics;
    if (analytics === undefined) throw new AnalyticsSqlError(operation, 'unavailable', undefined, 'Analytics SQL is not configured on this deployment (no per-organization ClickHouse users).');
    const password = analytics.password(orgId);
    if (!provisioned.has(orgId)) {
      const statements = analyticsAccessStatements(orgId, { database: options.database ?? 'default', password, objects: analyticsObjects(ddlDir), limits: analytics.limits ?? DEFAULT_ANALYTICS_LIMITS });
      try {
        for (const statement of statements) await client.command({ query: statement });
      } catch (error) {
        // The server answered and refused (too old for SQL access control, or no access management
        // for this user): analytics SQL cannot run here. No answer at all is an outage to retry.
        if (clickhouseErrorCode(error) === undefined) throw fail('analyticsSql (provisioning)', error);
        throw new AnalyticsSqlError(operation, 'unavailable', clickhouseErrorCode(error), `The ClickHouse server refused to set up the organization's analytics user: ${userFacing((error as Error).message)}`, { cause: error });
      }
      provisioned.add(orgId);
    }
    const asOrg = createClient({ url: options.url, database: options.database ?? 'default', username: orgUserName(orgId), password, request_timeout: options.requestTimeoutMs ?? 30_000, log: { level: ClickHouseLogLevel.OFF } });
    try {
      const result = await asOrg.query({ query: sql, format: 'JSON' });
      const parsed = await result.json<Record<string, unknown>>();
      const stats = (parsed as { statistics?: { elapsed?: number; rows_read?: number; bytes_read?: number } }).statistics;
      return {
        columns: (parsed as { meta?: { name: string; type: string }[] }).meta ?? [],
        rows: (parsed as { data?: Record<string, unknown>[] }).data ?? [],
        statistics: { elapsed_seconds: stats?.elapsed ?? 0, rows_read: stats?.rows_read ?? 0, bytes_read: stats?.bytes_read ?? 0 },
      };
    } catch (error) {
      if (clickhouseErrorCode(error) !== undefined) throw classifyUserSqlError(operation, error);
      throw fail('analyticsSql', error);
    } finally {
      await asOrg.close();
    }
  }

  const executor: SqlExecutor = {
    async command(sql, params) {
      await client.command({ query: sql, query_params: params ?? {} });
    },
    rows: (sql, params) => rows(sql, params),
  };
  const lifecycle = factsLifecycle('clickhouse', executor, fail);

  return {
    kind: 'clickhouse',

    async migrate() {
      const files = await run('migrate', () => readDdlFiles(ddlDir));
      await run('migrate', () => applyDdl(executor, files));
    },

    insertTraceFacts: async (batch) => insert('insertTraceFacts', 'trace_facts_v1', factsToRows('clickhouse insertTraceFacts', batch)),

    insertEvaluationFacts: async (batch) =>
      insert('insertEvaluationFacts', 'evaluation_facts_v1', evaluationsToRows('clickhouse insertEvaluationFacts', batch)),

    insertModuleResultFacts: async (batch) =>
      insert('insertModuleResultFacts', 'module_result_facts_v1', moduleResultsToRows('clickhouse insertModuleResultFacts', batch)),

    query: <T = Record<string, unknown>>(sql: string, params?: Record<string, unknown>) => run('query', () => rows<T>(sql, params)),

    forOrg: (orgId) => scopedFacts('clickhouse', executor, fail, orgId),
    analyticsSql,
    setRetention: lifecycle.setRetention,
    deleteTraces: lifecycle.deleteTraces,
    deleteUserData: lifecycle.deleteUserData,

    async ping() {
      await run('ping', async () => {
        const result = await client.ping();
        if (!result.success) throw result.error;
      });
    },

    async close() {
      await client.close();
    },
  };
}

/** Servers older than query parameters answer "Unknown setting param_x": say what that means. */
function explain(error: StoreError): StoreError {
  if (!/Unknown setting param_/.test(error.message)) return error;
  return new StoreError(
    error.operation,
    `${error.message.slice(error.operation.length + 2).replace(/\s+/g, ' ').trim()} — this ClickHouse server predates {name:Type} query parameters; use a current ClickHouse`,
    { cause: error.cause },
  );
}
