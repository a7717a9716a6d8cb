/**
 * The Postgres sinks' hot path without an ORM: a batch is one set-based statement per table whose
 * rows are ONE jsonb value read by `jsonb_to_recordset`, the statement text fixed but for that value.
 * The deletion check is inside that statement (see deletions.ts for what is deleted): the rows that
 * are deleted are left out of the INSERT and returned.
 *
 * A write is the organizations' deletion lock (shared) and the statement, sent as ONE simple-protocol
 * message of two statements: Postgres runs such a message as one implicit transaction (all or
 * nothing, the lock held to its end), each statement with its own snapshot, so the check sees every
 * deletion that committed while the write waited for the lock. One round trip, and no BEGIN, COMMIT
 * or ROLLBACK from the client. The lock cannot be a CTE of the write: a statement's snapshot is
 * taken when it starts, before a lock taken inside it is granted.
 *
 * Why not prepared statements inside `sql.begin` (the first version): postgres.js 3.4.9 writes the
 * ROLLBACK of a transaction whose connection has just closed on that closed connection, and the
 * deferred write throws outside any promise (upstream issues 1154 and 1208), which killed the sinks
 * worker when the fault suite restarted PostgreSQL. The value travels dollar-quoted under a tag the
 * text does not contain (`dollarQuoted`), so no content can end it; parsing and planning a statement
 * per batch costs little beside the rows.
 *
 * PGlite runs the same message (`exec`). Drizzle stays for migrations and the cold paths (deletions,
 * burying a deleted user's traces).
 */
import type { PGlite } from '@electric-sql/pglite';
import type { Sql } from 'postgres';
import type { TierResult, Trace, Verdict } from '@metronis/schemas';
import type { DeletionRef } from '../types.js';
import { encodeRecord, filterText } from './nul.js';

export type Row = Record<string, unknown>;

/** One statement whose only parameter, `$1::jsonb`, is a JSON text. */
export interface Statement {
  text: string;
  json: string;
}

/** Runs statements as one implicit transaction in a single message, and answers the rows of each. */
export interface SinkSql {
  atomic(statements: readonly Statement[]): Promise<Row[][]>;
}

/** A JSON text as a dollar-quoted literal, under a tag it does not contain. */
export function dollarQuoted(json: string): string {
  let tag = '$j$';
  for (let n = 0; json.includes(tag); n++) tag = `$j${n}$`;
  return `${tag}${json}${tag}`;
}

/** The statements as one simple-protocol message (a replacer function: `$` patterns in the value stay literal). */
export function message(statements: readonly Statement[]): string {
  return statements.map((s) => s.text.replace('$1::jsonb', () => `${dollarQuoted(s.json)}::jsonb`)).join(';\n');
}

/** On postgres.js: one simple query (`.simple()`), which answers a list of results when it holds several statements. */
export function postgresSinkSql(client: Sql): SinkSql {
  return {
    async atomic(statements) {
      const result = (await client.unsafe(message(statements)).simple()) as unknown as Row[] | Row[][];
      const lists = statements.length === 1 ? [result as Row[]] : (result as Row[][]);
      // Every statement here answers rows (see UPSERT_VERDICTS); anything else is a bug, not data.
      if (lists.length !== statements.length) throw new Error(`expected the results of ${statements.length} statements, got ${lists.length}`);
      return lists.map((rows) => [...rows]);
    },
  };
}

/** On PGlite: the same message through `exec`. */
export function pgliteSinkSql(client: Pick<PGlite, 'exec'>): SinkSql {
  return {
    async atomic(statements) {
      const results = await client.exec(message(statements));
      return results.map((r) => r.rows as Row[]);
    },
  };
}

/** The first key of the per-organization deletion lock (the second is hashtext(org_id)); see deletions.ts. */
export const DELETION_LOCK_CLASS = 7306;

/** The deletion lock of the organizations (a JSON array of ids, sorted), shared: sinks never wait for each other. */
export function sharedLock(orgIds: Iterable<string>): Statement {
  const ids = [...new Set(orgIds)].sort();
  return {
    text: `SELECT pg_advisory_xact_lock_shared(${DELETION_LOCK_CLASS}, hashtext(o)) FROM jsonb_array_elements_text($1::jsonb) AS o`,
    json: JSON.stringify(ids),
  };
}

// What is deleted (deletions.ts), over a row `r` with its org id `r.o` and trace id `r.t`: the same
// conditions in the sinks' statements and in DELETED_IN.
/** a trace received (`received`) at or before a tombstone of its user (`user`) */
const byUser = (user: string, received: string) => `(${user} IS NOT NULL AND ${received} IS NOT NULL AND EXISTS (
    SELECT 1 FROM tombstones d WHERE d.org_id = r.o AND d.kind = 'user' AND d.subject = ${user} AND d.deleted_at >= ${received}))`;
/** a trace received at or before a tombstone of its id */
const byTrace = (received: string) => `EXISTS (SELECT 1 FROM tombstones d WHERE d.org_id = r.o AND d.kind = 'trace' AND d.subject = r.t AND d.deleted_at >= ${received})`;
/** a verdict or tier result whose trace id has a tombstone and no stored trace */
const OF_BURIED_TRACE = `EXISTS (SELECT 1 FROM tombstones d WHERE d.org_id = r.o AND d.kind = 'trace' AND d.subject = r.t
    AND NOT EXISTS (SELECT 1 FROM traces x WHERE x.org_id = r.o AND x.trace_id = r.t))`;
/** anything received or made (`at`) before the organization's retention watermark */
const expired = (at: string) => `EXISTS (SELECT 1 FROM organizations g WHERE g.id = r.o AND g.retention_watermark > ${at})`;

/**
 * Which of the refs (`$1`: [{i, o, t, u, r, a}]) are deleted, and whether for their user's tombstone
 * (see `deletedRecords`); the facts sinks' check.
 */
export const DELETED_IN = `
SELECT i, by_user FROM (
  SELECT r.i, ${byUser('r.u', 'r.r')} AS by_user,
    (CASE WHEN r.r IS NULL THEN ${OF_BURIED_TRACE} ELSE ${byTrace('r.r')} END) AS by_trace,
    ${expired('coalesce(r.r, r.a)')} AS expired
  FROM jsonb_to_recordset($1::jsonb) AS r(i int, o text, t text, u text, r timestamptz, a timestamptz)
) AS checked
WHERE by_user OR by_trace OR expired`;

/**
 * Traces (`$1`: rows of `traceRow`): inserts or updates those not deleted; deletes the verdicts and
 * tier results that landed before a dropped trace whose id has no stored trace; answers the dropped
 * rows (`i`) and whether each was dropped for its user's deletion (`by_user`).
 */
export const UPSERT_TRACES = `
WITH r AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(i int, o text, t text, ts timestamptz, ra timestamptz, app text, env text, mp text, mn text,
    u text, cu text, s text, ne boolean, rec jsonb)
), c AS (
  SELECT r.*, ${byUser('r.cu', 'r.ra')} AS by_user, (${byTrace('r.ra')} OR ${expired('r.ra')}) AS gone
  FROM r
), written AS (
  INSERT INTO traces (org_id, trace_id, "timestamp", received_at, application, environment, model_provider, model_name, user_id, session_id, nul_escaped, record)
  SELECT o, t, ts, ra, app, env, mp, mn, u, s, ne, rec FROM c WHERE NOT (by_user OR gone)
  ON CONFLICT (org_id, trace_id) DO UPDATE SET "timestamp" = excluded."timestamp", received_at = excluded.received_at,
    application = excluded.application, environment = excluded.environment, model_provider = excluded.model_provider,
    model_name = excluded.model_name, user_id = excluded.user_id, session_id = excluded.session_id,
    nul_escaped = excluded.nul_escaped, record = excluded.record
), orphans AS (
  SELECT DISTINCT c.o, c.t FROM c WHERE (c.by_user OR c.gone) AND NOT EXISTS (SELECT 1 FROM traces x WHERE x.org_id = c.o AND x.trace_id = c.t)
), v AS (
  DELETE FROM verdicts WHERE (org_id, trace_id) IN (SELECT o, t FROM orphans)
), e AS (
  DELETE FROM evaluations WHERE (org_id, trace_id) IN (SELECT o, t FROM orphans)
)
SELECT i, by_user FROM c WHERE by_user OR gone`;

/**
 * Verdicts (`$1`: rows of `verdictRow`): inserts or updates those whose trace was not deleted. It
 * answers an empty SELECT rather than nothing: postgres.js lists a simple message's results by their
 * row descriptions, so every statement of a message must have one.
 */
export const UPSERT_VERDICTS = `
WITH r AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(o text, t text, tier smallint, p boolean, sev text, sc float8, at timestamptz, ne boolean, rec jsonb)
), written AS (
  INSERT INTO verdicts (org_id, trace_id, tier, passed, severity, score, decided_at, nul_escaped, record)
  SELECT o, t, tier, p, sev, sc, at, ne, rec FROM r WHERE NOT (${OF_BURIED_TRACE} OR ${expired('r.at')})
  ON CONFLICT (org_id, trace_id) DO UPDATE SET tier = excluded.tier, passed = excluded.passed, severity = excluded.severity,
    score = excluded.score, decided_at = excluded.decided_at, nul_escaped = excluded.nul_escaped, record = excluded.record
)
SELECT NULL AS none WHERE false`;

/** Tier results (`$1`: rows of `evaluationRow`): as UPSERT_VERDICTS, keyed by evaluation id. */
export const UPSERT_EVALUATIONS = `
WITH r AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(o text, ev text, t text, tier smallint, p boolean, sev text, sc float8, at timestamptz, ne boolean, rec jsonb)
), written AS (
  INSERT INTO evaluations (org_id, evaluation_id, trace_id, tier, passed, severity, score, evaluated_at, nul_escaped, record)
  SELECT o, ev, t, tier, p, sev, sc, at, ne, rec FROM r WHERE NOT (${OF_BURIED_TRACE} OR ${expired('r.at')})
  ON CONFLICT (org_id, evaluation_id) DO UPDATE SET trace_id = excluded.trace_id, tier = excluded.tier, passed = excluded.passed,
    severity = excluded.severity, score = excluded.score, evaluated_at = excluded.evaluated_at, nul_escaped = excluded.nul_escaped,
    record = excluded.record
)
SELECT NULL AS none WHERE false`;

const hasNul = (v: string | null | undefined): boolean => typeof v === 'string' && v.includes('\u0000');
const iso = (ms: number): string => new Date(ms).toISOString();
/** A double as JSON: NaN and the infinities as the strings Postgres's float8 reads (JSON has no such numbers). */
const double = (n: number): number | string => (Number.isFinite(n) ? n : String(n));

/** A trace as one JSON row of UPSERT_TRACES (`i`: its position in the batch). */
export function traceRow(trace: Trace, i: number): string {
  const { record, escaped } = encodeRecord(trace);
  const user = trace.user_id;
  return JSON.stringify({
    i,
    o: trace.org_id,
    t: trace.trace_id,
    ts: iso(trace.timestamp),
    ra: iso(trace.received_at),
    app: filterText(trace.application),
    env: filterText(trace.environment),
    mp: filterText(trace.model?.provider),
    mn: filterText(trace.model?.name),
    u: filterText(user),
    // the user id the tombstones are checked against: none when it holds U+0000 (no tombstone can)
    cu: user === null || user === undefined || hasNul(user) ? null : user,
    s: filterText(trace.session_id),
    ne: escaped,
    rec: record,
  });
}

/** A verdict as one JSON row of UPSERT_VERDICTS. */
export function verdictRow(verdict: Verdict): string {
  const { record, escaped } = encodeRecord(verdict);
  return JSON.stringify({
    o: verdict.org_id,
    t: verdict.trace_id,
    tier: verdict.tier,
    p: verdict.passed,
    sev: verdict.severity,
    sc: double(verdict.score),
    at: iso(verdict.decided_at),
    ne: escaped,
    rec: record,
  });
}

/** A tier result as one JSON row of UPSERT_EVALUATIONS. */
export function evaluationRow(result: TierResult): string {
  const { record, escaped } = encodeRecord(result);
  return JSON.stringify({
    o: result.org_id,
    ev: result.evaluation_id,
    t: result.trace_id,
    tier: result.tier,
    p: result.passed,
    sev: result.severity,
    sc: double(result.score),
    at: iso(result.evaluated_at),
    ne: escaped,
    rec: record,
  });
}

/** Years Postgres reads in ISO 8601 (it refuses the six-digit years JavaScript writes past 9999). */
const FIRST_MS = Date.parse('0001-01-01T00:00:00.000Z');
const LAST_MS = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * An epoch-millisecond time as ISO 8601 (clamped to years 1..9999: a later time is later than any
 * deletion all the same), or null when there is none or it is not a valid date.
 */
export function isoOrNull(ms: number | undefined): string | null {
  if (ms === undefined || Number.isNaN(new Date(ms).getTime())) return null;
  return new Date(Math.min(LAST_MS, Math.max(FIRST_MS, ms))).toISOString();
}

/**
 * The refs as the `$1` of DELETED_IN. No tombstone holds U+0000 (deletions refuse such ids, Postgres
 * text cannot carry it), so a ref with it in an id matches none and is left out; a user id with it
 * is no user id to match.
 */
export function deletionRefs(refs: DeletionRef[]): string {
  return JSON.stringify(
    refs.flatMap((r, i) =>
      hasNul(r.org_id) || hasNul(r.trace_id)
        ? []
        : [{ i, o: r.org_id, t: r.trace_id, u: hasNul(r.user_id) ? null : (r.user_id ?? null), r: isoOrNull(r.received_at), a: isoOrNull(r.made_at) }],
    ),
  );
}

/** JSON rows (each already a JSON text) as JSON arrays of at most `maxRows` rows and about `maxChars` characters. */
export function jsonChunks(rows: string[], maxRows: number, maxChars = MAX_STATEMENT_CHARS): string[] {
  const out: string[] = [];
  let start = 0;
  let chars = 0;
  for (let i = 0; i < rows.length; i++) {
    const length = rows[i]!.length + 1;
    if (i > start && (i - start >= maxRows || chars + length > maxChars)) {
      out.push(`[${rows.slice(start, i).join(',')}]`);
      start = i;
      chars = 0;
    }
    chars += length;
  }
  if (start < rows.length) out.push(`[${rows.slice(start).join(',')}]`);
  return out;
}

/** The text one statement's rows may take (a jsonb value holds at most 256 MB; a trace's record about 1 MB). */
export const MAX_STATEMENT_CHARS = 64 * 1024 * 1024;
