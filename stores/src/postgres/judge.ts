/**
 * The JudgeStore (../judge.ts) on any drizzle Postgres database (PostgreSQL or PGlite), in plain SQL
 * over the tables of migration 0008. A provider change appends its audit entry in the same
 * transaction; the budget is one conditional upsert; pending rows are leased with SKIP LOCKED.
 */
import { sql, type SQL } from 'drizzle-orm';
import { InvalidRecordError, storeError } from '../errors.js';
import type { JudgeStore, PendingJudgment, StoredJudgeProvider } from '../judge.js';
import type { Actor, AuditAction } from '../tenancy.js';
import type { RelationalStore } from '../types.js';
import { decodeRecord, encodeRecord } from './nul.js';
import type { AnyPgDatabase } from './relational-store.js';

type Row = Record<string, unknown>;

function rowsOf(result: unknown): Row[] {
  if (Array.isArray(result)) return result as Row[];
  return ((result as { rows?: Row[] }).rows ?? []) as Row[];
}

const json = (value: unknown): SQL => sql`${JSON.stringify(encodeRecord(value).record)}::jsonb`;
const ts = (date: Date): SQL => sql`${date.toISOString()}::timestamptz`;
const date = (v: unknown): Date => (v instanceof Date ? v : new Date(String(v)));
const obj = <T>(v: unknown): T => (typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));
/** A limit the org did not set: larger than any day's spend. */
const UNLIMITED = 1e15;

function toProvider(r: Row): StoredJudgeProvider {
  return { org_id: String(r.org_id), settings: obj(r.settings), secret: String(r.secret), version: Number(r.version), created_at: date(r.created_at), updated_at: date(r.updated_at) };
}

function toPending(r: Row): PendingJudgment {
  return {
    org_id: String(r.org_id),
    trace_id: String(r.trace_id),
    // Stored as { escaped, record } (nul.ts): a trace may carry U+0000, which jsonb cannot hold.
    escalation: ((stored: { escaped: boolean; record: unknown }) => decodeRecord(stored.record, stored.escaped))(obj(r.escalation)),
    attempts: Number(r.attempts),
    last_error: String(r.last_error),
    next_attempt_at: date(r.next_attempt_at),
    created_at: date(r.created_at),
  };
}

const clip = (text: string, max = 2000): string => (text.length > max ? `${text.slice(0, max)}…` : text).replace(/\u0000/g, '\uFFFD');

export function createJudgeStore(kind: RelationalStore['kind'], db: AnyPgDatabase): JudgeStore {
  async function run<T>(operation: string, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      if (error instanceof InvalidRecordError) throw error;
      throw storeError(`${kind} judge.${operation}`, error);
    }
  }
  const exec = async (q: AnyPgDatabase, query: SQL): Promise<Row[]> => rowsOf(await q.execute(query));
  const transaction = <T>(body: (tx: AnyPgDatabase) => Promise<T>): Promise<T> => db.transaction((tx) => body(tx as unknown as AnyPgDatabase));

  function checkId(operation: string, what: string, value: unknown): asserts value is string {
    if (typeof value !== 'string' || value.length === 0 || value.length > 500 || value.includes('\u0000')) {
      throw new InvalidRecordError(`${kind} judge.${operation}`, `${what} must be a string of 1 to 500 characters without U+0000`);
    }
  }
  function checkDay(operation: string, day: string): void {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new InvalidRecordError(`${kind} judge.${operation}`, `day must be YYYY-MM-DD, got ${JSON.stringify(day)}`);
  }
  async function audit(tx: AnyPgDatabase, orgId: string, action: AuditAction, details: Record<string, unknown>, actor: Actor): Promise<void> {
    await exec(tx, sql`INSERT INTO audit_log (org_id, actor, action, target, request_id, details) VALUES (${orgId}, ${actor.keyId}, ${action}, ${'judge'}, ${actor.requestId ?? null}, ${json(details)})`);
  }

  return {
    async getProvider(orgId) {
      checkId('getProvider', 'organization id', orgId);
      const [row] = await run('getProvider', () => exec(db, sql`SELECT * FROM judge_providers WHERE org_id = ${orgId}`));
      return row === undefined ? null : toProvider(row);
    },

    putProvider: (orgId, settings, secret, actor) =>
      run('putProvider', () =>
        transaction(async (tx) => {
          checkId('putProvider', 'organization id', orgId);
          const [row] =
            secret === null
              ? await exec(tx, sql`UPDATE judge_providers SET settings = ${json(settings)}, version = version + 1, updated_at = now() WHERE org_id = ${orgId} RETURNING *`)
              : await exec(
                  tx,
                  sql`INSERT INTO judge_providers (org_id, settings, secret) VALUES (${orgId}, ${json(settings)}, ${secret})
                      ON CONFLICT (org_id) DO UPDATE SET settings = excluded.settings, secret = excluded.secret, version = judge_providers.version + 1, updated_at = now()
                      RETURNING *`,
                );
          if (row === undefined) return null;
          // The audit entry names what changed, never the key.
          await audit(tx, orgId, 'judge.configured', { version: Number(row.version), provider: settings.provider ?? null, model: settings.model ?? null, key_changed: secret !== null }, actor);
          return toProvider(row);
        }),
      ),

    deleteProvider: (orgId, actor) =>
      run('deleteProvider', () =>
        transaction(async (tx) => {
          const deleted = await exec(tx, sql`DELETE FROM judge_providers WHERE org_id = ${orgId} RETURNING org_id`);
          if (deleted.length === 0) return false;
          await audit(tx, orgId, 'judge.removed', {}, actor);
          return true;
        }),
      ),

    async reserve(orgId, day, tokens, costUsd, limits) {
      checkId('reserve', 'organization id', orgId);
      checkDay('reserve', day);
      const maxTokens = limits.daily_tokens ?? UNLIMITED;
      const maxUsd = limits.daily_usd ?? UNLIMITED;
      const rows = await run('reserve', () =>
        exec(
          db,
          sql`INSERT INTO judge_usage (org_id, day, tokens, cost_usd, calls)
              SELECT ${orgId}, ${day}::date, ${Math.ceil(tokens)}::bigint, ${costUsd}::double precision, 1
              WHERE ${Math.ceil(tokens)}::bigint <= ${maxTokens}::double precision AND ${costUsd}::double precision <= ${maxUsd}::double precision
              ON CONFLICT (org_id, day) DO UPDATE SET tokens = judge_usage.tokens + excluded.tokens, cost_usd = judge_usage.cost_usd + excluded.cost_usd, calls = judge_usage.calls + 1
                WHERE judge_usage.tokens + excluded.tokens <= ${maxTokens}::double precision AND judge_usage.cost_usd + excluded.cost_usd <= ${maxUsd}::double precision
              RETURNING tokens`,
        ),
      );
      return rows.length > 0;
    },

    async settle(orgId, day, tokens, costUsd) {
      checkDay('settle', day);
      await run('settle', () =>
        exec(db, sql`UPDATE judge_usage SET tokens = greatest(0, tokens + ${Math.round(tokens)}::bigint), cost_usd = greatest(0, cost_usd + ${costUsd}::double precision) WHERE org_id = ${orgId} AND day = ${day}::date`),
      );
    },

    async usage(orgId, day) {
      checkDay('usage', day);
      const [row] = await run('usage', () => exec(db, sql`SELECT tokens, cost_usd, calls FROM judge_usage WHERE org_id = ${orgId} AND day = ${day}::date`));
      return { day, tokens: Number(row?.tokens ?? 0), cost_usd: Number(row?.cost_usd ?? 0), calls: Number(row?.calls ?? 0) };
    },

    async cacheGet(orgId, key, notBefore) {
      const [row] = await run('cacheGet', () => exec(db, sql`SELECT judgment FROM judge_cache WHERE org_id = ${orgId} AND key = ${key} AND created_at >= ${ts(notBefore)}`));
      return row === undefined ? null : obj(row.judgment);
    },

    async cachePut(orgId, key, judgment) {
      await run('cachePut', () =>
        exec(db, sql`INSERT INTO judge_cache (org_id, key, judgment) VALUES (${orgId}, ${key}, ${json(judgment)}) ON CONFLICT (org_id, key) DO UPDATE SET judgment = excluded.judgment, created_at = now()`),
      );
    },

    async cacheSweep(before) {
      const rows = await run('cacheSweep', () => exec(db, sql`DELETE FROM judge_cache WHERE created_at < ${ts(before)} RETURNING 1`));
      return rows.length;
    },

    async addPending(orgId, traceId, escalation, error, nextAttemptAt) {
      checkId('addPending', 'organization id', orgId);
      checkId('addPending', 'trace id', traceId);
      await run('addPending', () =>
        exec(
          db,
          sql`INSERT INTO judge_pending (org_id, trace_id, escalation, attempts, last_error, next_attempt_at) VALUES (${orgId}, ${traceId}, ${JSON.stringify(encodeRecord(escalation))}::jsonb, 1, ${clip(error)}, ${ts(nextAttemptAt)})
              ON CONFLICT (org_id, trace_id) DO UPDATE SET escalation = excluded.escalation, attempts = judge_pending.attempts + 1, last_error = excluded.last_error, next_attempt_at = excluded.next_attempt_at, lease_until = NULL`,
        ),
      );
    },

    claimPending: (now, limit, leaseMs) =>
      run('claimPending', () =>
        transaction(async (tx) => {
          const rows = await exec(
            tx,
            sql`UPDATE judge_pending SET lease_until = ${ts(new Date(now.getTime() + leaseMs))}
                WHERE (org_id, trace_id) IN (
                  SELECT org_id, trace_id FROM judge_pending
                  WHERE next_attempt_at <= ${ts(now)} AND (lease_until IS NULL OR lease_until <= ${ts(now)})
                  ORDER BY next_attempt_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)
                RETURNING *`,
          );
          return rows.map(toPending);
        }),
      ),

    async reschedulePending(orgId, traceId, error, nextAttemptAt) {
      await run('reschedulePending', () =>
        exec(db, sql`UPDATE judge_pending SET attempts = attempts + 1, last_error = ${clip(error)}, next_attempt_at = ${ts(nextAttemptAt)}, lease_until = NULL WHERE org_id = ${orgId} AND trace_id = ${traceId}`),
      );
    },

    async removePending(orgId, traceId) {
      await run('removePending', () => exec(db, sql`DELETE FROM judge_pending WHERE org_id = ${orgId} AND trace_id = ${traceId}`));
    },

    async countPending(orgId) {
      const [row] = await run('countPending', () => exec(db, sql`SELECT count(*) AS n FROM judge_pending WHERE org_id = ${orgId}`));
      return Number(row?.n ?? 0);
    },
  };
}
