/**
 * Organization-scoped reads of the facts: the one place that binds a query to the organization of the
 * API key. `facts.forOrg(orgId)` gives a `ScopedFacts` whose `query` refuses SQL that does not
 * reference `{org_id:String}` outside comments, refuses a caller's own `org_id` parameter, always
 * binds `org_id` to the scope's organization, accepts only SELECT / WITH, and refuses an answer
 * holding an `org_id` column of another organization. An endpoint that only ever receives a
 * `ScopedFacts` cannot forget the filter.
 *
 * It guards against forgetting, not against hostile SQL: the SQL is the endpoint's code, never a
 * user's text (a `WHERE org_id = {org_id:String} OR 1` passes). With one ClickHouse user for every
 * organization, this wrapper is the enforcement point; a row policy (`CREATE ROW POLICY … USING
 * org_id = getSetting('SQL_org_id')`, with a custom setting per query) would add the engine's own
 * check on a server configured for it, and is not available in chDB's single-user embedded mode.
 *
 * @example
 *   const scoped = facts.forOrg(key.org_id);
 *   await scoped.query('SELECT count() AS n FROM trace_facts_v1 FINAL WHERE org_id = {org_id:String}');
 *   await scoped.storedCounts(); // { trace_facts: { rows, oldest, newest, retention_days }, ... }
 */
import { StoreError } from '../errors.js';
import type { FactsInventory, FactsTableInventory, RollupInventory, ScopedFacts } from '../types.js';
import { checkId, FACT_TABLES, type FailureWrapper, type SqlExecutor } from './lifecycle.js';

const ORG_PLACEHOLDER = '{org_id:String}';

/** Line comments and block comments removed (a placeholder inside a comment does not count). */
function withoutComments(sql: string): string {
  return sql.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/--[^\n]*/g, ' ');
}

/** The rollups (aggregates, no user data) and their fixed retention in days (the TTL of 0003 / 0005). */
const ROLLUP_TABLES = {
  module_rollup_minute: 'module_rollup_minute_v1',
  evaluation_rollup_minute: 'evaluation_rollup_minute_v1',
} as const;
const ROLLUP_RETENTION_DAYS = 395;

/** `forOrg(orgId)` of a facts store; `store` (`chdb`, `clickhouse`) prefixes errors. */
export function scopedFacts(store: string, exec: SqlExecutor, fail: FailureWrapper, orgId: string): ScopedFacts {
  checkId(`${store} forOrg`, 'orgId', orgId);

  async function query<T = Record<string, unknown>>(sql: string, params: Record<string, unknown> = {}): Promise<T[]> {
    const operation = `${store} scoped query`;
    if (typeof sql !== 'string') throw new TypeError(`${operation}: sql must be a string`);
    const code = withoutComments(sql);
    if (!code.includes(ORG_PLACEHOLDER)) {
      throw new TypeError(`${operation}: the SQL must filter by ${ORG_PLACEHOLDER} (bound to the scope's organization); refused: ${sql.slice(0, 120)}`);
    }
    if (!/^\s*(SELECT|WITH)\b/i.test(code)) throw new TypeError(`${operation}: only SELECT or WITH queries are allowed; refused: ${sql.slice(0, 120)}`);
    if (params === null || typeof params !== 'object') throw new TypeError(`${operation}: params must be an object`);
    if (Object.hasOwn(params, 'org_id')) {
      throw new TypeError(`${operation}: the org_id parameter is the scope's own; do not pass it (got ${JSON.stringify(params.org_id)})`);
    }
    let rows: T[];
    try {
      rows = await exec.rows<T>(sql, { ...params, org_id: orgId });
    } catch (error) {
      throw fail('scoped query', error);
    }
    for (const row of rows) {
      const other = (row as { org_id?: unknown } | null)?.org_id;
      if (other !== undefined && other !== orgId) {
        throw new StoreError(operation, `the query returned a row of another organization (${JSON.stringify(other)}); check its WHERE clause`);
      }
    }
    return rows;
  }

  async function storedCounts(): Promise<FactsInventory> {
    const facts = Object.entries(FACT_TABLES).map(
      ([key, { table, timestamp }]) =>
        `SELECT '${key}' AS key, count() AS n,
                if(n = 0, NULL, toUnixTimestamp64Milli(min(${timestamp}))) AS oldest,
                if(n = 0, NULL, toUnixTimestamp64Milli(max(${timestamp}))) AS newest,
                if(n = 0, NULL, min(retention_days)) AS min_retention,
                if(n = 0, NULL, max(retention_days)) AS max_retention
         FROM ${table} FINAL WHERE org_id = ${ORG_PLACEHOLDER}`,
    );
    const rollups = Object.entries(ROLLUP_TABLES).map(
      ([key, table]) =>
        `SELECT '${key}' AS key, count() AS n,
                if(n = 0, NULL, toInt64(toUnixTimestamp(min(minute))) * 1000) AS oldest,
                if(n = 0, NULL, toInt64(toUnixTimestamp(max(minute))) * 1000) AS newest,
                NULL AS min_retention, NULL AS max_retention
         FROM ${table} FINAL WHERE org_id = ${ORG_PLACEHOLDER}`,
    );
    interface Row {
      key: string;
      n: number;
      oldest: number | null;
      newest: number | null;
      min_retention: number | null;
      max_retention: number | null;
    }
    const rows = await query<Row>([...facts, ...rollups].join('\nUNION ALL\n'));
    const byKey = new Map(rows.map((r) => [r.key, r]));
    const table = (key: string): FactsTableInventory => {
      const r = byKey.get(key);
      const minRetention = r?.min_retention ?? null;
      const maxRetention = r?.max_retention ?? null;
      return {
        rows: Number(r?.n ?? 0),
        oldest: r?.oldest ?? null,
        newest: r?.newest ?? null,
        retention_days: minRetention === null || maxRetention === null ? null : { min: Number(minRetention), max: Number(maxRetention) },
      };
    };
    const rollup = (key: string): RollupInventory => {
      const r = byKey.get(key);
      return { rows: Number(r?.n ?? 0), oldest: r?.oldest ?? null, newest: r?.newest ?? null, retention_days: ROLLUP_RETENTION_DAYS };
    };
    return {
      org_id: orgId,
      trace_facts: table('trace_facts'),
      evaluation_facts: table('evaluation_facts'),
      module_result_facts: table('module_result_facts'),
      rollups: { module_rollup_minute: rollup('module_rollup_minute'), evaluation_rollup_minute: rollup('evaluation_rollup_minute') },
    };
  }

  return { orgId, query, storedCounts };
}
