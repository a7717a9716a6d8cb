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
import { Session } from 'chdb';
import { CLICKHOUSE_RETRY_CODES, storeError } from '../errors.js';
import { CLICKHOUSE_DDL_DIR } from '../paths.js';
import type { FactsStore } from '../types.js';
import { factsLifecycle, type SqlExecutor } from './lifecycle.js';
import { applyDdl, readDdlFiles } from './migrations.js';
import { scopedFacts } from './scoped.js';
import { evaluationsToRows, factsToRows, moduleResultsToRows, parseJsonEachRow } from './rows.js';

export interface ChdbFactsStoreOptions {
  /** data directory (created when missing) */
  path: string;
  /** defaults to the repository's sql/clickhouse */
  ddlDir?: string;
}

export function createChdbFactsStore(options: ChdbFactsStoreOptions): FactsStore {
  if (typeof options.path !== 'string' || options.path === '') {
    throw new TypeError(`createChdbFactsStore: path must be a directory path, got ${JSON.stringify(options.path)}`);
  }
  // 64-bit integers as JSON numbers, like the server store (which sets the same setting).
  const session = new Session(options.path, { connectionArgs: ['--output_format_json_quote_64bit_integers=0'] });
  const ddlDir = options.ddlDir ?? CLICKHOUSE_DDL_DIR;

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
