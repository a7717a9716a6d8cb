/**
 * The SQL of trace search (`OrgScope.searchTraces`), the same on PostgreSQL and PGlite. One table is
 * read: `traces` carries the verdict's summary and a full-text vector (migration 0005), so every
 * filter is an index condition and a page is the next `limit` rows of an index after the previous
 * page's last key — a row comparison `(timestamp, trace_id) < (…)`, never OFFSET.
 *
 * Which index serves which filter (each B-tree is org_id, the filter's columns, timestamp DESC,
 * trace_id DESC): application, environment, model, user, session, passed, decided_by_tier and sort by
 * severity have their own; time range alone uses traces_org_time_idx; tags and metadata (jsonb @>),
 * finding kinds and failed modules (text[] @>) and the full text (tsvector @@) have GIN indexes that
 * the planner combines with the org's B-tree in a bitmap when they are selective, or it walks the
 * time index and filters when they are not (it decides from the statistics).
 */
import { sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Severity } from '@metronis/schemas';
import { decodeRecord } from './nul.js';
import type { AnyPgDatabase } from './relational-store.js';
import { PREVIEW_CHARS, SEVERITY_RANK, type SessionSearch, type SessionSummaryRow, type TraceSearch, type TraceSummaryRow } from '../search.js';

/** Postgres text cannot hold U+0000, so no stored value has it: a filter holding it matches nothing. */
function holdsNul(query: TraceSearch): boolean {
  const texts = [query.application, query.environment, query.model_provider, query.model_name, query.user_id, query.session_id, query.failed_module, query.finding_kind, query.text, query.after?.trace_id];
  const all = [...texts, ...(query.tags ?? []), ...Object.entries(query.metadata ?? {}).flat()];
  return all.some((v) => typeof v === 'string' && v.includes('\u0000'));
}

const iso = (ms: number) => new Date(ms).toISOString();

export async function searchTraces(db: AnyPgDatabase, orgId: string, query: TraceSearch): Promise<TraceSummaryRow[]> {
  if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > 1000) throw new RangeError(`searchTraces: limit must be an integer in 1..1000, got ${query.limit}`);
  if (holdsNul(query)) return [];
  const result = await db.execute(searchTracesSql(orgId, query));
  const rows = (Array.isArray(result) ? result : ((result as { rows?: unknown[] }).rows ?? [])) as Record<string, unknown>[];
  return rows.map(toSummary);
}

/**
 * The statement `searchTraces` runs, as SQL text and parameters (the search benchmark EXPLAINs it on
 * PostgreSQL and PGlite).
 */
export function searchTracesQuery(orgId: string, query: TraceSearch): { sql: string; params: unknown[] } {
  return new PgDialect().sqlToQuery(searchTracesSql(orgId, query));
}

function searchTracesSql(orgId: string, query: TraceSearch): SQL {
  const where: SQL[] = [sql`org_id = ${orgId}`];
  const eq = (column: string, value: string | number | boolean | undefined) => {
    if (value !== undefined) where.push(sql`${sql.identifier(column)} = ${value}`);
  };
  if (query.from !== undefined) where.push(sql`"timestamp" >= ${iso(query.from)}::timestamptz`);
  if (query.to !== undefined) where.push(sql`"timestamp" < ${iso(query.to)}::timestamptz`);
  eq('application', query.application);
  eq('environment', query.environment);
  eq('model_provider', query.model_provider);
  eq('model_name', query.model_name);
  eq('user_id', query.user_id);
  eq('session_id', query.session_id);
  eq('passed', query.passed);
  eq('decided_by_tier', query.decided_by_tier);
  if (query.severity !== undefined) where.push(sql`severity_rank = ${SEVERITY_RANK[query.severity]}`);
  if (query.severity_at_least !== undefined) where.push(sql`severity_rank >= ${SEVERITY_RANK[query.severity_at_least]}`);
  if (query.tags !== undefined && query.tags.length > 0) where.push(sql`(record -> 'tags') @> ${JSON.stringify(query.tags)}::jsonb`);
  if (query.metadata !== undefined && Object.keys(query.metadata).length > 0) where.push(sql`(record -> 'metadata') @> ${JSON.stringify(query.metadata)}::jsonb`);
  if (query.failed_module !== undefined) where.push(sql`failed_modules @> ARRAY[${query.failed_module}]::text[]`);
  if (query.finding_kind !== undefined) where.push(sql`finding_kinds @> ARRAY[${query.finding_kind}]::text[]`);
  if (query.text !== undefined) where.push(sql`search_tsv @@ websearch_to_tsquery('simple', ${query.text})`);

  const bySeverity = query.sort === 'severity';
  const after = query.after;
  if (after !== undefined) {
    const ts = sql`${iso(after.timestamp)}::timestamptz`;
    const cmp = query.order === 'desc' ? sql.raw('<') : sql.raw('>');
    where.push(
      bySeverity
        ? sql`(severity_rank, "timestamp", trace_id) ${cmp} (${after.severity_rank ?? -1}::smallint, ${ts}, ${after.trace_id})`
        : sql`("timestamp", trace_id) ${cmp} (${ts}, ${after.trace_id})`,
    );
  }
  const direction = sql.raw(query.order === 'desc' ? 'DESC' : 'ASC');
  const orderBy = bySeverity ? sql`severity_rank ${direction}, "timestamp" ${direction}, trace_id ${direction}` : sql`"timestamp" ${direction}, trace_id ${direction}`;

  return sql`
    SELECT trace_id,
           floor(extract(epoch FROM "timestamp") * 1000)::float8 AS ts,
           floor(extract(epoch FROM received_at) * 1000)::float8 AS received,
           application, environment, model_provider, model_name, user_id, session_id,
           severity, severity_rank, passed, score, decided_by_tier, finding_kinds, failed_modules, nul_escaped,
           left(coalesce(record #>> '{input,text}', (
             SELECT string_agg(m ->> 'content', E'\n\n') FROM jsonb_array_elements(
               CASE WHEN jsonb_typeof(record #> '{input,messages}') = 'array' THEN record #> '{input,messages}' ELSE '[]'::jsonb END) AS m), ''), ${PREVIEW_CHARS * 3}) AS input_preview,
           left(coalesce(record #>> '{output,content}', ''), ${PREVIEW_CHARS * 3}) AS output_preview
    FROM traces
    WHERE ${sql.join(where, sql` AND `)}
    ORDER BY ${orderBy}
    LIMIT ${query.limit}`;
}

/** At most PREVIEW_CHARS characters (code points, so a surrogate pair is never cut in half). */
function preview(text: unknown, escaped: boolean): string {
  const decoded = escaped ? decodeRecord<string>(String(text ?? ''), true) : String(text ?? '');
  const points = Array.from(decoded);
  return points.length <= PREVIEW_CHARS ? decoded : points.slice(0, PREVIEW_CHARS).join('');
}

function texts(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

function toSummary(row: Record<string, unknown>): TraceSummaryRow {
  const escaped = row.nul_escaped === true;
  const nullable = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return {
    trace_id: String(row.trace_id),
    timestamp: Number(row.ts),
    received_at: Number(row.received),
    application: nullable(row.application),
    environment: nullable(row.environment),
    model_provider: nullable(row.model_provider),
    model_name: nullable(row.model_name),
    user_id: nullable(row.user_id),
    session_id: nullable(row.session_id),
    severity: (row.severity ?? null) as Severity | null,
    severity_rank: Number(row.severity_rank),
    passed: row.passed === null || row.passed === undefined ? null : Boolean(row.passed),
    score: row.score === null || row.score === undefined ? null : Number(row.score),
    decided_by_tier: row.decided_by_tier === null || row.decided_by_tier === undefined ? null : Number(row.decided_by_tier),
    finding_kinds: texts(row.finding_kinds),
    failed_modules: texts(row.failed_modules),
    preview: { input: preview(row.input_preview, escaped), output: preview(row.output_preview, escaped) },
  };
}

const SEVERITY_OF_RANK = Object.fromEntries(Object.entries(SEVERITY_RANK).map(([severity, rank]) => [rank, severity])) as Record<number, Severity>;

/**
 * The organization's sessions, most recently active first: its traces with a session id, grouped. The
 * index (org_id, session_id, timestamp) serves the grouping; the work grows with the traces in the
 * range, so the console asks for a time range.
 */
export async function listSessions(db: AnyPgDatabase, orgId: string, query: SessionSearch): Promise<SessionSummaryRow[]> {
  if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > 1000) throw new RangeError(`listSessions: limit must be an integer in 1..1000, got ${query.limit}`);
  const given = [query.application, query.environment, query.user_id, query.after?.session_id];
  if (given.some((v) => v?.includes('\u0000'))) return [];
  const where: SQL[] = [sql`org_id = ${orgId}`, sql`session_id IS NOT NULL`];
  if (query.from !== undefined) where.push(sql`"timestamp" >= ${iso(query.from)}::timestamptz`);
  if (query.to !== undefined) where.push(sql`"timestamp" < ${iso(query.to)}::timestamptz`);
  if (query.application !== undefined) where.push(sql`application = ${query.application}`);
  if (query.environment !== undefined) where.push(sql`environment = ${query.environment}`);
  if (query.user_id !== undefined) where.push(sql`user_id = ${query.user_id}`);
  const having: SQL[] = [sql`true`];
  if (query.failed === true) having.push(sql`bool_or(passed = false)`);
  if (query.failed === false) having.push(sql`NOT coalesce(bool_or(passed = false), false)`);
  if (query.after !== undefined) having.push(sql`(max("timestamp"), session_id) < (${iso(query.after.last_at)}::timestamptz, ${query.after.session_id})`);
  const result = await db.execute(sql`
    SELECT session_id,
           floor(extract(epoch FROM min("timestamp")) * 1000)::float8 AS first_ts,
           floor(extract(epoch FROM max("timestamp")) * 1000)::float8 AS last_ts,
           count(*)::int AS traces,
           (count(*) FILTER (WHERE passed = false))::int AS failed,
           (count(*) FILTER (WHERE passed IS NULL))::int AS pending,
           max(severity_rank)::int AS worst_rank,
           coalesce(array_agg(DISTINCT application ORDER BY application) FILTER (WHERE application IS NOT NULL), '{}') AS applications,
           coalesce(array_agg(DISTINCT user_id ORDER BY user_id) FILTER (WHERE user_id IS NOT NULL), '{}') AS user_ids
    FROM traces
    WHERE ${sql.join(where, sql` AND `)}
    GROUP BY session_id
    HAVING ${sql.join(having, sql` AND `)}
    ORDER BY max("timestamp") DESC, session_id DESC
    LIMIT ${query.limit}`);
  const rows = (Array.isArray(result) ? result : ((result as { rows?: unknown[] }).rows ?? [])) as Record<string, unknown>[];
  return rows.map((row) => ({
    session_id: String(row.session_id),
    first_at: Number(row.first_ts),
    last_at: Number(row.last_ts),
    traces: Number(row.traces),
    failed: Number(row.failed),
    pending: Number(row.pending),
    worst_severity: SEVERITY_OF_RANK[Number(row.worst_rank)] ?? null,
    applications: texts(row.applications),
    user_ids: texts(row.user_ids),
  }));
}
