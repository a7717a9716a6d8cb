/**
 * Retention and deletion of facts, the same SQL on chDB and on a ClickHouse server (each store gives
 * an executor for its engine). Values are always bound as `{name:Type}` parameters, never spliced.
 *
 * - `setRetention(org, days)`: `ALTER TABLE … UPDATE retention_days` on the three fact tables, as a
 *   synchronous mutation. The TTL reads `retention_days`, so the mutation recomputes the TTL of the
 *   rows it rewrites and drops those that expired: an org's rows past the new retention are gone when
 *   the call returns (seen on chDB 26.7, with no OPTIMIZE; stores/test/chdb-lifecycle.test.ts).
 * - `deleteTraces(org, ids)`: counts what is there (under FINAL: a duplicate not yet merged counts
 *   once), then `ALTER TABLE … DELETE … SETTINGS mutations_sync = 2` — the mutation rewrites the
 *   parts, so the data leaves the disk, which a lightweight `DELETE FROM` (rows only masked until a
 *   merge) does not promise. Module and evaluation facts go first, trace facts last, so a call that
 *   fails half-way can simply be repeated: `deleteUserData` still finds the user's trace ids.
 * - `deleteUserData(org, user)`: the user's trace ids from trace_facts_v1 (every stored version,
 *   within the org), then `deleteTraces` with them.
 *
 * @example
 *   const facts = factsLifecycle('chdb', executor, (op, e) => storeError(`chdb ${op}`, e, CLICKHOUSE_RETRY_CODES));
 *   await facts.setRetention('org_a', 30);
 *   const deleted = await facts.deleteUserData('org_a', 'user-42'); // { trace_facts: 3, ... }
 */
import type { FactsDeletion, FactsStore } from '../types.js';

/** The longest retention an organization may ask for (ten years). */
export const MAX_RETENTION_DAYS = 3650;

/** Trace ids per statement: they travel as a bound Array(String), in the URL for the HTTP server. */
export const DELETE_CHUNK_SIZE = 1_000;

/** Runs statements on one engine, binding `{name:Type}` parameters. */
export interface SqlExecutor {
  command(sql: string, params?: Record<string, unknown>): Promise<void>;
  rows<T>(sql: string, params?: Record<string, unknown>): Promise<T[]>;
}

/** The fact tables that hold one organization's trace-level data, keyed as `FactsDeletion` names them. */
export const FACT_TABLES = {
  module_result_facts: { table: 'module_result_facts_v1', timestamp: 'trace_timestamp' },
  evaluation_facts: { table: 'evaluation_facts_v1', timestamp: 'trace_timestamp' },
  trace_facts: { table: 'trace_facts_v1', timestamp: 'timestamp' },
} as const;

/** Deletion order: dependents first, trace facts (where a user's trace ids are found) last. */
const DELETE_ORDER = ['module_result_facts', 'evaluation_facts', 'trace_facts'] as const;

type Lifecycle = Pick<FactsStore, 'setRetention' | 'deleteTraces' | 'deleteUserData'>;

/** Turns an engine failure into the store's error for `operation` (a StoreError naming it). */
export type FailureWrapper = (operation: string, error: unknown) => Error;

/**
 * The retention and deletion methods of a facts store. `store` (`chdb`, `clickhouse`) prefixes the
 * messages of refused arguments (TypeError, RangeError: nothing was sent); engine failures go through
 * `fail`, the store's own error wrapper.
 */
export function factsLifecycle(store: string, exec: SqlExecutor, fail: FailureWrapper): Lifecycle {
  async function engine<T>(operation: string, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      throw fail(operation, error);
    }
  }

  async function deleteTraces(orgId: string, traceIds: string[]): Promise<FactsDeletion> {
    const operation = `${store} deleteTraces`;
    checkId(operation, 'orgId', orgId);
    if (!Array.isArray(traceIds)) throw new TypeError(`${operation}: traceIds must be an array of strings`);
    traceIds.forEach((id, i) => checkId(operation, `traceIds[${i}]`, id));
    return engine('deleteTraces', () => deleteIds(orgId, [...new Set(traceIds)]));
  }

  /** Counts, then deletes, the facts of checked, distinct trace ids, chunk by chunk. */
  async function deleteIds(orgId: string, ids: string[]): Promise<FactsDeletion> {
    const deleted: FactsDeletion = { trace_facts: 0, evaluation_facts: 0, module_result_facts: 0 };
    for (let start = 0; start < ids.length; start += DELETE_CHUNK_SIZE) {
      const params = { org: orgId, ids: ids.slice(start, start + DELETE_CHUNK_SIZE) };
      for (const key of DELETE_ORDER) {
        const { table } = FACT_TABLES[key];
        const where = 'org_id = {org:String} AND trace_id IN {ids:Array(String)}';
        const [counted] = await exec.rows<{ n: number }>(`SELECT count() AS n FROM ${table} FINAL WHERE ${where}`, params);
        const n = Number(counted?.n ?? 0);
        if (n === 0) continue; // nothing stored (FINAL hides no row, it only collapses): no mutation
        deleted[key] += n;
        await exec.command(`ALTER TABLE ${table} DELETE WHERE ${where} SETTINGS mutations_sync = 2`, params);
      }
    }
    return deleted;
  }

  return {
    async setRetention(orgId, days) {
      const operation = `${store} setRetention`;
      checkId(operation, 'orgId', orgId);
      if (!Number.isInteger(days) || days < 1 || days > MAX_RETENTION_DAYS) {
        throw new RangeError(`${operation}: days must be an integer in 1..${MAX_RETENTION_DAYS}, got ${JSON.stringify(days)}`);
      }
      await engine('setRetention', async () => {
        for (const { table } of Object.values(FACT_TABLES)) {
          await exec.command(
            `ALTER TABLE ${table} UPDATE retention_days = {days:UInt16}
             WHERE org_id = {org:String} AND retention_days != {days:UInt16} SETTINGS mutations_sync = 2`,
            { org: orgId, days },
          );
        }
      });
    },

    deleteTraces,

    async deleteUserData(orgId, userId) {
      const operation = `${store} deleteUserData`;
      checkId(operation, 'orgId', orgId);
      // '' is "no user" in trace_facts_v1: deleting it would delete every anonymous trace.
      checkId(operation, 'userId', userId);
      return engine('deleteUserData', async () => {
        const rows = await exec.rows<{ trace_id: string }>(
          'SELECT DISTINCT trace_id FROM trace_facts_v1 WHERE org_id = {org:String} AND user_id = {user:String}',
          { org: orgId, user: userId },
        );
        return deleteIds(orgId, rows.map((r) => r.trace_id));
      });
    },
  };
}

/** Refuses anything but a non-empty string, naming the operation and argument. */
export function checkId(operation: string, name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`${operation}: ${name} must be a non-empty string, got ${JSON.stringify(value)}`);
  }
}
