/**
 * Analytics SQL: a user's own read-only SQL over their organization's facts, confined by the
 * engine's own mechanisms, never by reading the SQL.
 *
 * **chDB (embedded).** chDB runs one engine in the process as the single `default` user: SQL cannot
 * create users or row policies there (no writable access storage), and one connection cannot log in
 * as another user. What the engine does offer, and what this uses:
 * - row policies from a users.xml file (`chdbAccessConfig`, written beside the data and passed with
 *   `--config-file`): every object of the facts DDL gets the filter
 *   `if(startsWith(getSetting('log_comment'), 'metronis_org:'), org_id = <the org after the prefix>, 1)`,
 *   and the system tables that could show another organization's queries, mutations or errors get
 *   `NOT startsWith(getSetting('log_comment'), 'metronis_org:')`. Sessions that never set
 *   `log_comment` (the sinks, the API's own queries) see every row, as before.
 * - a session of its own per user query (a new chDB connection on the same data, with its own
 *   settings), which sets `log_comment = 'metronis_org:<org>'`, the limits (rows and bytes read,
 *   result rows and bytes, memory, execution time) and then `readonly = 1`. From then on the session
 *   refuses every `SET`, every `SETTINGS` clause, writes, DDL and table functions (`file`, `url`,
 *   `remote`, `s3`, ...), so the user's SQL runs bound to the organization and cannot unbind it.
 * - ClickHouse's own parser (`formatQuerySingleLine`, the SQL bound as a parameter) answers whether
 *   the text is one statement (several are refused before anything runs) and gives it back
 *   normalized; that is run as a subquery, `SELECT * FROM (<query>)`, so the engine's grammar admits
 *   only a query there: `INTO OUTFILE` (which clickhouse-local writes even when read-only),
 *   `KILL QUERY` (allowed read-only), `DESCRIBE`, `SHOW` and `EXPLAIN` are refused by the engine.
 * - the old query analyzer for the session (`enable_analyzer = 0`): the new one lets a subquery's
 *   `SETTINGS` escape readonly (see bindingStatements).
 *
 * **ClickHouse server.** `analyticsAccessStatements` gives the per-organization user (its own password),
 * a read-only settings profile with the same limits, SELECT on the user-facing objects only, and a
 * row policy per object `USING org_id = '<org>'`. The server runs them as an admin user with access
 * management; the console (or a BI tool) then connects as that user. The server's config must set
 * `access_control_improvements.select_from_system_db_requires_grant` (and the information_schema
 * one) to true, so the org user, granted nothing in `system`, reads none of it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StoreError } from '../errors.js';

export const ORG_MARKER = 'metronis_org:';

/** What a user query may use; `readonly = 1` freezes them for the session. */
export interface AnalyticsLimits {
  /** rows a query may read (max_rows_to_read) */
  maxRowsToRead: number;
  /** bytes a query may read (max_bytes_to_read) */
  maxBytesToRead: number;
  /** rows in the answer (max_result_rows, result_overflow_mode = throw) */
  maxResultRows: number;
  /** bytes in the answer (max_result_bytes) */
  maxResultBytes: number;
  /** memory of one query (max_memory_usage) */
  maxMemoryBytes: number;
  /** seconds a query may run (max_execution_time, timeout_overflow_mode = throw) */
  maxExecutionSeconds: number;
}

export const DEFAULT_ANALYTICS_LIMITS: AnalyticsLimits = {
  maxRowsToRead: 200_000_000,
  maxBytesToRead: 20 * 1024 ** 3,
  maxResultRows: 10_000,
  maxResultBytes: 16 * 1024 ** 2,
  maxMemoryBytes: 1024 ** 3,
  maxExecutionSeconds: 15,
};

/** The answer to a user query: ClickHouse's JSON format (columns with their types, rows, statistics). */
export interface AnalyticsSqlResult {
  columns: { name: string; type: string }[];
  rows: Record<string, unknown>[];
  statistics: { elapsed_seconds: number; rows_read: number; bytes_read: number };
}

/**
 * Why a user query was refused, for the HTTP status: what the SQL asked for, a limit it hit, or
 * analytics SQL not configured on this deployment (a ClickHouse server without per-org users).
 */
export type AnalyticsSqlProblem = 'invalid' | 'forbidden' | 'limit' | 'unavailable';

/** A user query the engine refused; `message` is the engine's, trimmed of its code and version. */
export class AnalyticsSqlError extends StoreError {
  override readonly name = 'AnalyticsSqlError';
  constructor(
    operation: string,
    readonly problem: AnalyticsSqlProblem,
    readonly clickhouseCode: string | undefined,
    message: string,
    options?: ErrorOptions,
  ) {
    super(operation, message, { ...options, retriable: false });
  }
}

/** Codes of limits a query ran into (rows, bytes, time, memory, result size, sleep). */
const LIMIT_CODES = new Set(['158', '159', '160', '241', '307', '396']);
/** Codes of what the user may not do (readonly, access). */
const FORBIDDEN_CODES = new Set(['164', '497', '291', '446']);

/**
 * The engine's refusal of a user query as an AnalyticsSqlError: a limit it ran into, something the
 * bound session may not do, or (any other code) a query wrong in itself. The caller only classifies
 * errors of the user's statement this way; failing to open or bind the session is an outage.
 */
export function classifyUserSqlError(operation: string, error: unknown): AnalyticsSqlError {
  const code = clickhouseErrorCode(error);
  const text = error instanceof Error ? error.message : String(error);
  const problem: AnalyticsSqlProblem = code !== undefined && FORBIDDEN_CODES.has(code) ? 'forbidden' : code !== undefined && LIMIT_CODES.has(code) ? 'limit' : 'invalid';
  return new AnalyticsSqlError(operation, problem, code, userFacing(text), { cause: error });
}

/** The engine's error code when the engine answered with an error (chDB and server, old and new formats). */
export function clickhouseErrorCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e !== null && e !== undefined && depth < 8; depth++, e = (e as { cause?: unknown }).cause) {
    const c = (e as { clickhouseCode?: unknown; code?: unknown }).clickhouseCode ?? (e as { code?: unknown }).code;
    if (typeof c === 'number' || (typeof c === 'string' && /^\d+$/.test(c))) return String(c);
    const m = /Code: (\d+)[.,]/.exec(e instanceof Error ? e.message : '');
    if (m) return m[1];
  }
  return undefined;
}

/** The engine's message without its code prefix, exception class, version, stack or links. */
export function userFacing(message: string): string {
  let text = message.replace(/Code: \d+, e\.displayText\(\) = /g, '').replace(/,? e\.what\(\) = \S+/g, '').replace(/Code: \d+\. /g, '').replace(/DB::Exception: /g, '').replace(/\s*\(version [^)]*\)/g, '');
  text = text.replace(/\s*Stack trace[\s\S]*$/i, '').replace(/https?:\/\/\S+/g, '').replace(/\((?:[A-Z_]{3,})\)\s*/g, '');
  text = text.replace(/Syntax error/gi, 'The SQL does not parse');
  text = text.replace(/\bchdb\b|clickhouse(?:-local)?/gi, 'the engine').replace(/\s+/g, ' ').trim();
  return text.length > 1000 ? `${text.slice(0, 1000)}…` : text;
}

/** A ClickHouse string literal of `value` (quotes and backslashes escaped). */
export function stringLiteral(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** The SET statements that bind a chDB session to an organization, limit it, and make it read-only. */
export function bindingStatements(orgId: string, limits: AnalyticsLimits): string[] {
  return [
    // First: with ClickHouse's new analyzer (the default since 24.3), a SETTINGS clause inside a
    // subquery escapes both readonly and settings constraints (tested on chDB 26.7:
    // `SELECT * FROM (SELECT … SETTINGS log_comment = '…')` changed it), which would unbind the
    // organization. The old analyzer checks it; readonly then keeps the session on it.
    'SET enable_analyzer = 0',
    `SET log_comment = ${stringLiteral(ORG_MARKER + orgId)}`,
    `SET max_rows_to_read = ${limits.maxRowsToRead}, max_bytes_to_read = ${limits.maxBytesToRead}, read_overflow_mode = 'throw'`,
    `SET max_result_rows = ${limits.maxResultRows}, max_result_bytes = ${limits.maxResultBytes}, result_overflow_mode = 'throw'`,
    `SET max_memory_usage = ${limits.maxMemoryBytes}, max_execution_time = ${limits.maxExecutionSeconds}, timeout_overflow_mode = 'throw'`,
    // Last: from here the session refuses any further SET or SETTINGS, writes, DDL and table functions.
    'SET readonly = 1',
  ];
}

/** Tables, views and materialized views the facts DDL creates: the objects a user may query. */
export function analyticsObjects(ddlDir: string): string[] {
  const names = new Set<string>();
  for (const file of readdirSync(ddlDir).filter((n) => /^\d{4}_.*\.sql$/.test(n)).sort()) {
    const text = readFileSync(join(ddlDir, file), 'utf8');
    for (const m of text.matchAll(/CREATE\s+(?:TABLE|VIEW|MATERIALIZED\s+VIEW)\s+IF\s+NOT\s+EXISTS\s+([A-Za-z_][A-Za-z0-9_]*)/gi)) names.add(m[1]!);
  }
  return [...names].sort();
}

/**
 * System tables a bound session must not read: they could show another organization's queries,
 * mutations (whose commands carry the ids they delete), errors or settings. The rest of `system`
 * (numbers, one, tables, columns, functions, ...) describes the engine, not anyone's data.
 */
export const HIDDEN_SYSTEM_TABLES = [
  'processes',
  'mutations',
  'errors',
  'query_log',
  'query_thread_log',
  'query_views_log',
  'query_metric_log',
  'query_cache',
  'part_log',
  'text_log',
  'trace_log',
  'error_log',
  'session_log',
  'asynchronous_inserts',
  'asynchronous_insert_log',
  'processors_profile_log',
  'opentelemetry_span_log',
  'blob_storage_log',
  'backup_log',
  'backups',
  's3queue_log',
  'named_collections',
  'user_processes',
  'merges',
  'moves',
  'dropped_tables',
  'dropped_tables_parts',
  'replication_queue',
  'distribution_queue',
  'zookeeper',
  'kafka_consumers',
] as const;

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;');

/** config.xml and users.xml for chDB: the row policies above on the default user. */
export function chdbAccessConfig(usersPath: string, objects: readonly string[]): { config: string; users: string } {
  const bound = `startsWith(getSetting('log_comment'), '${ORG_MARKER}')`;
  const orgFilter = `if(${bound}, org_id = substring(getSetting('log_comment'), ${ORG_MARKER.length + 1}), 1)`;
  const tables = objects.map((name) => `<${name}><filter>${xml(orgFilter)}</filter></${name}>`).join('');
  const system = HIDDEN_SYSTEM_TABLES.map((name) => `<${name}><filter>${xml(`NOT ${bound}`)}</filter></${name}>`).join('');
  return {
    config: `<clickhouse>\n  <users_config>${xml(usersPath)}</users_config>\n</clickhouse>\n`,
    users: [
      '<clickhouse>',
      '  <!-- Generated by Metronis (stores/src/clickhouse/analytics-sql.ts) at every start; edits are overwritten. -->',
      '  <profiles><default/></profiles>',
      '  <quotas><default/></quotas>',
      '  <users><default><password></password><networks><ip>::/0</ip></networks><profile>default</profile><quota>default</quota>',
      `    <databases><default>${tables}</default><system>${system}</system></databases>`,
      '  </default></users>',
      '</clickhouse>',
      '',
    ].join('\n'),
  };
}

/** An organization's ClickHouse user name: `metronis_org_` and the id with anything unusual as _XX. */
export function orgUserName(orgId: string): string {
  return `metronis_org_${orgId.replace(/[^A-Za-z0-9]/g, (c) => `_${c.codePointAt(0)!.toString(16)}_`)}`;
}

/**
 * The statements a ClickHouse server runs (as a user with access management) so that `user` may read
 * its organization's rows of the user-facing objects and nothing else, read-only and within limits.
 * Idempotent: re-running updates the password, the profile and the policies.
 */
export function analyticsAccessStatements(orgId: string, options: { database: string; password: string; objects: readonly string[]; limits?: AnalyticsLimits }): string[] {
  const limits = options.limits ?? DEFAULT_ANALYTICS_LIMITS;
  const user = orgUserName(orgId);
  const db = options.database;
  const ident = (name: string) => `\`${name.replace(/`/g, '``')}\``;
  const profile = 'metronis_analytics_readonly';
  return [
    // enable_analyzer = 0: see bindingStatements (a subquery's SETTINGS would escape the limits).
    `CREATE SETTINGS PROFILE IF NOT EXISTS ${profile} SETTINGS readonly = 1, enable_analyzer = 0, max_rows_to_read = ${limits.maxRowsToRead}, max_bytes_to_read = ${limits.maxBytesToRead}, read_overflow_mode = 'throw', max_result_rows = ${limits.maxResultRows}, max_result_bytes = ${limits.maxResultBytes}, result_overflow_mode = 'throw', max_memory_usage = ${limits.maxMemoryBytes}, max_execution_time = ${limits.maxExecutionSeconds}, timeout_overflow_mode = 'throw'`,
    `CREATE USER IF NOT EXISTS ${ident(user)} IDENTIFIED WITH sha256_password BY ${stringLiteral(options.password)} SETTINGS PROFILE ${stringLiteral(profile)}`,
    `ALTER USER ${ident(user)} IDENTIFIED WITH sha256_password BY ${stringLiteral(options.password)} SETTINGS PROFILE ${stringLiteral(profile)}`,
    ...options.objects.flatMap((object) => [
      `GRANT SELECT ON ${ident(db)}.${ident(object)} TO ${ident(user)}`,
      // Permissive, for this user only: it sees the rows of its organization. Users without a policy
      // on the table (the application's) keep seeing every row (users_without_row_policies_can_read_rows).
      `CREATE ROW POLICY OR REPLACE ${ident(`${user}_${object}`)} ON ${ident(db)}.${ident(object)} FOR SELECT USING org_id = ${stringLiteral(orgId)} TO ${ident(user)}`,
    ]),
  ];
}
