/**
 * What keeps a deletion deleted while records of the deleted data are still on their way (a lagging
 * sink, a replay, a trace whose verdict was sunk before it): tombstones, each organization's retention
 * watermark, and a lock that orders deletions against sink writes.
 *
 * - **Which records are deleted** (checked by the sinks' statements and `DELETED_IN`, sink-sql.ts): a trace received at or before a tombstone of its trace
 *   id or its user id; a verdict or tier result (no `received_at`) whose trace id has a tombstone and
 *   no trace with that id is stored now; any record received (or, without `received_at`, made) before
 *   its organization's retention watermark — everything before it was deleted by retention.
 * - **A trace dropped for its user's deletion** gets a tombstone of its own (`deleted_at` = when it
 *   was received), so its verdict and tier results are dropped too, whichever sink meets them later;
 *   those that landed before it are deleted. That step holds the lock exclusive: a sink writing such
 *   a verdict at the same moment holds it shared, so it either committed first (and its row is
 *   deleted) or checks afterwards (and finds the tombstone).
 * - **The lock.** Each organization has an advisory lock (`pg_advisory_xact_lock(class, hashtext(org))`).
 *   A sink's check and its write share one transaction holding the lock *shared* (sinks never wait for
 *   each other); a deletion or a retention watermark holds it *exclusive* for its transaction. So a
 *   check never reads the tombstones of a deletion that then misses the check's rows: the deletion
 *   waits for the write to commit (and deletes what it wrote), or the check waits for the deletion to
 *   commit (and sees its tombstones). On PGlite a transaction excludes every other query of the
 *   database already, and the advisory lock of its single session is a no-op.
 */
import { sql } from 'drizzle-orm';
import type { AnyPgDatabase } from './relational-store.js';
import { DELETION_LOCK_CLASS, isoOrNull } from './sink-sql.js';

/** Takes the deletion lock of each organization, shared (a sink write) or exclusive (a deletion), until the transaction ends. */
export async function lockOrganizations(tx: AnyPgDatabase, orgIds: Iterable<string>, mode: 'shared' | 'exclusive'): Promise<void> {
  const ids = [...new Set(orgIds)].sort();
  if (ids.length === 0) return;
  if (mode === 'exclusive') {
    for (const id of ids) await tx.execute(sql`SELECT pg_advisory_xact_lock(${DELETION_LOCK_CLASS}, hashtext(${id}))`);
    return;
  }
  await tx.execute(sql`SELECT pg_advisory_xact_lock_shared(${DELETION_LOCK_CLASS}, hashtext(o)) FROM jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb) AS o`);
}

/**
 * Tombstones for traces dropped because their user was deleted (`deleted_at` = when each was
 * received; a later tombstone of the same trace is kept).
 */
export async function buryTraces(tx: AnyPgDatabase, traces: Array<{ org_id: string; trace_id: string; received_at: number }>): Promise<void> {
  if (traces.length === 0) return;
  await tx.execute(sql`
    INSERT INTO tombstones (org_id, kind, subject, deleted_at)
    SELECT t.o, 'trace', t.t, max(t.r) FROM jsonb_to_recordset(${JSON.stringify(traces.map((t) => ({ o: t.org_id, t: t.trace_id, r: isoOrNull(t.received_at) })))}::jsonb)
      AS t(o text, t text, r timestamptz) GROUP BY t.o, t.t
    ON CONFLICT (org_id, kind, subject) DO UPDATE SET deleted_at = greatest(tombstones.deleted_at, excluded.deleted_at)`);
}

/**
 * Deletes the verdicts and tier results of these traces (of their organizations) unless a trace with
 * that id is stored: what landed before a trace that was then dropped. Returns how many went.
 */
export async function deleteOrphans(tx: AnyPgDatabase, traces: Array<{ org_id: string; trace_id: string }>): Promise<{ verdicts: number; evaluations: number }> {
  if (traces.length === 0) return { verdicts: 0, evaluations: 0 };
  const json = JSON.stringify(traces.map((t) => ({ o: t.org_id, t: t.trace_id })));
  const result = await tx.execute(sql`
    WITH ids AS (
      SELECT DISTINCT k.o, k.t FROM jsonb_to_recordset(${json}::jsonb) AS k(o text, t text)
      WHERE NOT EXISTS (SELECT 1 FROM traces x WHERE x.org_id = k.o AND x.trace_id = k.t)
    ),
    v AS (DELETE FROM verdicts WHERE (org_id, trace_id) IN (SELECT o, t FROM ids) RETURNING 1),
    e AS (DELETE FROM evaluations WHERE (org_id, trace_id) IN (SELECT o, t FROM ids) RETURNING 1)
    SELECT (SELECT count(*) FROM v) AS verdicts, (SELECT count(*) FROM e) AS evaluations`);
  const row = rowsOf(result)[0] ?? {};
  return { verdicts: Number(row.verdicts ?? 0), evaluations: Number(row.evaluations ?? 0) };
}

/** Rows of `db.execute`: postgres.js answers an array, PGlite `{ rows }`. */
export function rowsOf(result: unknown): Record<string, unknown>[] {
  if (Array.isArray(result)) return result as Record<string, unknown>[];
  return ((result as { rows?: Record<string, unknown>[] }).rows ?? []) as Record<string, unknown>[];
}
