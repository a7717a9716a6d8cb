/**
 * The facts store on chDB: the ClickHouse engine inside this process (embedded mode), with its data
 * in `path` so it persists across restarts. Runs the same DDL and queries as the server.
 *
 * chDB binds one data directory per process: open one store per path, and close it before opening
 * another path.
 *
 * @example
 *   const facts = createChdbFactsStore({ path: '.metronis/facts' });
 *   await facts.migrate();
 *   await facts.query('SELECT count() AS n FROM trace_facts_v1 FINAL WHERE org_id = {org:String}', { org });
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Session } from 'chdb';
import { CLICKHOUSE_RETRY_CODES, storeError } from '../errors.js';
import { CLICKHOUSE_DDL_DIR } from '../paths.js';
import type { FactsStore } from '../types.js';
import {
  AnalyticsSqlError,
  analyticsObjects,
  bindingStatements,
  chdbAccessConfig,
  classifyUserSqlError,
  clickhouseErrorCode,
  DEFAULT_ANALYTICS_LIMITS,
  type AnalyticsLimits,
  type AnalyticsSqlResult,
} from './analytics-sql.js';
import { factsLifecycle, type SqlExecutor } from './lifecycle.js';
import { applyDdl, readDdlFiles } from './migrations.js';
import { scopedFacts } from './scoped.js';
import { evaluationsToRows, factsToRows, moduleResultsToRows, parseJsonEachRow } from './rows.js';

export interface ChdbFactsStoreOptions {
  /** data directory (created when missing) */
  path: string;
  /** defaults to the repository's sql/clickhouse */
  ddlDir?: string;
  /** limits of a user's analytics SQL (analytics-sql.ts); defaults to DEFAULT_ANALYTICS_LIMITS */
  analyticsLimits?: AnalyticsLimits;
}

/** Functions of the syntax tree that reach the host in clickhouse-local (see analyticsSql). */
const HOST_FUNCTIONS = /^\s*Function (file|catboostEvaluate)\b/im;

/** Longest analytics SQL text accepted (characters). */
export const MAX_ANALYTICS_SQL = 100_000;

export function createChdbFactsStore(options: ChdbFactsStoreOptions): FactsStore {
  if (typeof options.path !== 'string' || options.path === '') {
    throw new TypeError(`createChdbFactsStore: path must be a directory path, got ${JSON.stringify(options.path)}`);
  }
  const ddlDir = options.ddlDir ?? CLICKHOUSE_DDL_DIR;
  // The row policies of analytics SQL (analytics-sql.ts), written before the engine starts: it reads
  // its users file once. Regenerated at every start, so objects added by new DDL files are covered.
  const accessDir = resolve(options.path, 'metronis-access');
  mkdirSync(accessDir, { recursive: true });
  const access = chdbAccessConfig(join(accessDir, 'users.xml'), analyticsObjects(ddlDir));
  writeFileSync(join(accessDir, 'users.xml'), access.users);
  writeFileSync(join(accessDir, 'config.xml'), access.config);
  // 64-bit integers as JSON numbers, like the server store (which sets the same setting).
  const session = new Session(options.path, { connectionArgs: [`--config-file=${join(accessDir, 'config.xml')}`, '--output_format_json_quote_64bit_integers=0'] });
  const limits = options.analyticsLimits ?? DEFAULT_ANALYTICS_LIMITS;
  /** User queries run one at a time, each in a session of its own. */
  let analyticsQueue: Promise<unknown> = Promise.resolve();

  const fail = (operation: string, error: unknown) => storeError(`chdb ${operation}`, error, CLICKHOUSE_RETRY_CODES);

  async function run<T>(operation: string, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      throw fail(operation, error);
    }
  }

  async function rows<T>(sql: string, params?: Record<string, unknown>): Promise<T[]> {
    const result =
      params && Object.keys(params).length > 0
        ? await session.queryBindAsync(sql, params, { format: 'JSONEachRow' })
        : await session.queryAsync(sql, { format: 'JSONEachRow' });
    return parseJsonEachRow<T>(result.text());
  }

  async function insert(operation: string, table: string, rows: Record<string, unknown>[]): Promise<void> {
    if (rows.length === 0) return;
    const payload = rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
    await run(operation, () => session.insert({ table, values: Buffer.from(payload), format: 'JSONEachRow' }));
  }

  /**
   * A user's SQL in a chDB session of its own, bound to the organization and read-only before the
   * SQL is seen (analytics-sql.ts). Rejects with AnalyticsSqlError when the engine refuses the SQL,
   * with a StoreError when the session cannot be opened or bound.
   */
  async function analyticsSql(orgId: string, sql: string): Promise<AnalyticsSqlResult> {
    const operation = 'chdb analyticsSql';
    if (typeof orgId !== 'string' || orgId.length === 0 || orgId.includes('\u0000')) throw new TypeError(`${operation}: orgId must be a non-empty string without U+0000`);
    if (typeof sql !== 'string' || sql.trim().length === 0 || sql.length > MAX_ANALYTICS_SQL) {
      throw new AnalyticsSqlError(operation, 'invalid', undefined, `The SQL must be 1 to ${MAX_ANALYTICS_SQL} characters.`);
    }
    let bound: Session;
    try {
      bound = new Session(options.path);
      for (const statement of bindingStatements(orgId, limits)) await bound.queryAsync(statement);
    } catch (error) {
      throw fail('analyticsSql (binding the session)', error);
    }
    try {
      // The engine's parser says whether this is one statement (the SQL goes in as a bound value)
      // and gives it back normalized, to run as a subquery (see analytics-sql.ts).
      let query: string;
      try {
        const [row] = parseJsonEachRow<{ q: string }>((await bound.queryBindAsync('SELECT formatQuerySingleLine({q:String}) AS q', { q: sql }, { format: 'JSONEachRow' })).text());
        query = row?.q ?? '';
      } catch (error) {
        const refused = classifyUserSqlError(operation, error);
        throw /multi-?statement|multiple (queries|statements)/i.test(refused.message)
          ? new AnalyticsSqlError(operation, 'invalid', refused.clickhouseCode, 'One statement per request: send the statements one at a time.', { cause: error })
          : refused;
      }
      // clickhouse-local lets the file() *function* read any file of the host, whatever the grants or
      // user_files_path (tried on chDB 26.7), and read-only mode does not stop it: the engine's own
      // syntax tree (EXPLAIN AST, the statement as the engine parsed it) says whether it is called.
      let tree: string;
      try {
        tree = (await bound.queryAsync(`EXPLAIN AST ${query}`, { format: 'TSVRaw' })).text();
      } catch (error) {
        throw classifyUserSqlError(operation, error);
      }
      const hostFunction = HOST_FUNCTIONS.exec(tree);
      if (hostFunction !== null) {
        throw new AnalyticsSqlError(operation, 'forbidden', undefined, `The function ${hostFunction[1]}() reaches the host's files: analytics SQL cannot call it.`);
      }
      let text: string;
      try {
        text = (await bound.queryAsync(`SELECT * FROM (${query})`, { format: 'JSON' })).text();
      } catch (error) {
        // One statement that parses, yet not as a subquery: not a query (a write, DDL, SET, KILL,
        // DESCRIBE…) or a query with FORMAT / INTO OUTFILE.
        if (clickhouseErrorCode(error) === '62') {
          throw new AnalyticsSqlError(operation, 'invalid', '62', 'Only a query can run here (SELECT, WITH … SELECT, UNION …), without FORMAT or INTO OUTFILE: analytics SQL is read-only.', { cause: error });
        }
        throw classifyUserSqlError(operation, error);
      }
      let parsed: { meta?: { name: string; type: string }[]; data?: Record<string, unknown>[]; statistics?: { elapsed?: number; rows_read?: number; bytes_read?: number } };
      try {
        parsed = JSON.parse(text) as typeof parsed;
      } catch {
        parsed = {};
      }
      // A FORMAT clause of the user's own changes the output: JSON with `meta` is what the API answers.
      if (parsed === null || typeof parsed !== 'object' || !Array.isArray(parsed.meta) || !Array.isArray(parsed.data)) {
        throw new AnalyticsSqlError(operation, 'invalid', undefined, 'The answer is JSON chosen by the API: leave FORMAT (and INTO OUTFILE) out of the SQL.');
      }
      return {
        columns: parsed.meta ?? [],
        rows: parsed.data ?? [],
        statistics: { elapsed_seconds: parsed.statistics?.elapsed ?? 0, rows_read: parsed.statistics?.rows_read ?? 0, bytes_read: parsed.statistics?.bytes_read ?? 0 },
      };
    } finally {
      bound.close();
    }
  }

  const executor: SqlExecutor = {
    async command(sql, params) {
      if (params && Object.keys(params).length > 0) await session.queryBindAsync(sql, params);
      else await session.queryAsync(sql);
    },
    rows: (sql, params) => rows(sql, params),
  };
  const lifecycle = factsLifecycle('chdb', executor, fail);

  return {
    kind: 'chdb',

    async migrate() {
      const files = await run('migrate', () => readDdlFiles(ddlDir));
      await run('migrate', () => applyDdl(executor, files));
    },

    insertTraceFacts: async (batch) => insert('insertTraceFacts', 'trace_facts_v1', factsToRows('chdb insertTraceFacts', batch)),

    insertEvaluationFacts: async (batch) => insert('insertEvaluationFacts', 'evaluation_facts_v1', evaluationsToRows('chdb insertEvaluationFacts', batch)),

    insertModuleResultFacts: async (batch) =>
      insert('insertModuleResultFacts', 'module_result_facts_v1', moduleResultsToRows('chdb insertModuleResultFacts', batch)),

    query: <T = Record<string, unknown>>(sql: string, params?: Record<string, unknown>) => run('query', () => rows<T>(sql, params)),

    forOrg: (orgId) => scopedFacts('chdb', executor, fail, orgId),

    analyticsSql(orgId, sql) {
      const run = analyticsQueue.then(() => analyticsSql(orgId, sql));
      analyticsQueue = run.catch(() => undefined);
      return run;
    },
    setRetention: lifecycle.setRetention,
    deleteTraces: lifecycle.deleteTraces,
    deleteUserData: lifecycle.deleteUserData,

    async ping() {
      await run('ping', () => rows('SELECT 1 AS ok'));
    },

    async close() {
      session.close();
    },
  };
}
