/**
 * The tenancy half of the relational store (see ../tenancy.ts): org-scoped reads and writes, keys,
 * the audit log, deletions and retention passes, on the same drizzle database as the rest.
 *
 * Every query of an `OrgScope` has `org_id = <the scope's org>` in its WHERE clause, built here and
 * nowhere else. Admin changes and their audit entries share a transaction, so an action is recorded
 * exactly when it took effect.
 */
import type { TierResult, Trace, Verdict } from '@metronis/schemas';
import { and, asc, desc, eq, gte, inArray, isNull, lt, lte, sql, type SQL } from 'drizzle-orm';
import { ConflictError, InvalidRecordError, storeError } from '../errors.js';
import type {
  Actor,
  ApiKeyView,
  AuditAction,
  AuditEntry,
  DeletionRecord,
  OrganizationRecord,
  OrgScope,
  PostgresDeletion,
  RetentionResult,
  TenancyStore,
} from '../tenancy.js';
import type { ApiKeyScope, RelationalStore } from '../types.js';
import { decodeRecord, encodeRecord } from './nul.js';
import { lockOrganizations, rowsOf } from './deletions.js';
import type { AnyPgDatabase } from './relational-store.js';
import { listSessions, searchTraces } from './search.js';
import { apiKeys, auditLog, deletions, evaluations, organizations, policies, tombstones, traces, verdicts } from './schema.js';

type Tx = AnyPgDatabase;

const MAX_RETENTION_DAYS = 3650;

export function createTenancy(kind: RelationalStore['kind'], db: AnyPgDatabase): TenancyStore {
  async function run<T>(operation: string, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      if (error instanceof ConflictError || error instanceof InvalidRecordError) throw error;
      throw storeError(`${kind} ${operation}`, error);
    }
  }

  function transaction<T>(body: (tx: Tx) => Promise<T>): Promise<T> {
    return db.transaction((tx) => body(tx as unknown as Tx));
  }

  function checkId(operation: string, what: string, value: unknown): asserts value is string {
    if (typeof value !== 'string' || value.length === 0 || value.length > 1000 || value.includes('\u0000')) {
      throw new InvalidRecordError(`${kind} ${operation}`, `${what} must be a string of 1 to 1000 characters without U+0000, got ${JSON.stringify(value)?.slice(0, 80)}`);
    }
  }

  function checkDays(operation: string, days: number): void {
    if (!Number.isInteger(days) || days < 1 || days > MAX_RETENTION_DAYS) {
      throw new InvalidRecordError(`${kind} ${operation}`, `retention must be a whole number of days in 1..${MAX_RETENTION_DAYS}, got ${days}`);
    }
  }

  async function appendAudit(tx: Tx, orgId: string, action: AuditAction, target: string, details: Record<string, unknown>, actor: Actor): Promise<AuditEntry> {
    const { record } = encodeRecord(details);
    const [row] = await tx
      .insert(auditLog)
      .values({ orgId, actor: actor.keyId, action, target, requestId: actor.requestId ?? null, details: record })
      .returning();
    return toAudit(row!);
  }

  /** Remembers deleted subjects so that sinks drop their records still in the log (see deletions.ts). */
  async function bury(tx: Tx, orgId: string, kind: 'trace' | 'user', subjects: string[]): Promise<void> {
    if (subjects.length === 0) return;
    await tx
      .insert(tombstones)
      .values(subjects.map((subject) => ({ orgId, kind, subject })))
      .onConflictDoUpdate({ target: [tombstones.orgId, tombstones.kind, tombstones.subject], set: { deletedAt: sql`now()` } });
  }

  /** Deletes traces matching `where` (at most `limit` when given) with their verdicts and evaluations. */
  async function deleteTracesWhere(tx: Tx, orgId: string, where: SQL, limit?: number): Promise<PostgresDeletion & { trace_ids: string[] }> {
    const limitClause = limit === undefined ? sql`` : sql` LIMIT ${limit}`;
    const result = await tx.execute(sql`
      WITH doomed AS (
        DELETE FROM traces WHERE (org_id, trace_id) IN (
          SELECT org_id, trace_id FROM traces WHERE org_id = ${orgId} AND ${where}${limitClause}
        ) RETURNING trace_id
      ),
      v AS (DELETE FROM verdicts WHERE org_id = ${orgId} AND trace_id IN (SELECT trace_id FROM doomed) RETURNING 1),
      e AS (DELETE FROM evaluations WHERE org_id = ${orgId} AND trace_id IN (SELECT trace_id FROM doomed) RETURNING 1),
      -- a judgment pending for the trace (migration 0008) holds its escalation, the trace included
      p AS (DELETE FROM judge_pending WHERE org_id = ${orgId} AND trace_id IN (SELECT trace_id FROM doomed))
      SELECT (SELECT coalesce(array_agg(trace_id), '{}') FROM doomed) AS ids, (SELECT count(*) FROM v) AS verdicts, (SELECT count(*) FROM e) AS evaluations`);
    const row = rowsOf(result)[0] as { ids: string[]; verdicts: number | string; evaluations: number | string };
    return { traces: row.ids.length, verdicts: Number(row.verdicts), evaluations: Number(row.evaluations), trace_ids: row.ids };
  }

  function scope(orgId: string): OrgScope {
    if (typeof orgId !== 'string' || orgId.length === 0 || orgId.includes('\u0000')) {
      throw new InvalidRecordError(`${kind} forOrg`, `organization id must be a non-empty string without U+0000, got ${JSON.stringify(orgId)?.slice(0, 80)}`);
    }
    const keyView = async (tx: Tx, keyId: string): Promise<ApiKeyView | null> => {
      const [row] = await tx.select().from(apiKeys).where(and(eq(apiKeys.orgId, orgId), eq(apiKeys.id, keyId))).limit(1);
      return row === undefined ? null : toKeyView(row);
    };
    const getOrganization = async (tx: Tx): Promise<OrganizationRecord | null> => {
      const [row] = await tx.select().from(organizations).where(eq(organizations.id, orgId)).limit(1);
      return row === undefined ? null : toOrganization(row);
    };
    const updateOrganization = (operation: string, set: Partial<typeof organizations.$inferInsert>, action: AuditAction, details: Record<string, unknown>, actor: Actor) =>
      run(operation, () =>
        transaction(async (tx) => {
          const [row] = await tx.update(organizations).set(set).where(eq(organizations.id, orgId)).returning();
          if (row === undefined) return null;
          await appendAudit(tx, orgId, action, orgId, details, actor);
          return toOrganization(row);
        }),
      );

    /**
     * Deletes traces by id in each table (a verdict or evaluation can land before its trace: different
     * sinks) and leaves their tombstones, under the org's deletion lock, in one transaction.
     */
    const deleteTraces = (operation: string, traceIds: string[]): Promise<PostgresDeletion> => {
      if (!Array.isArray(traceIds)) throw new InvalidRecordError(`${kind} ${operation}`, 'trace ids must be an array');
      traceIds.forEach((id) => checkId(operation, 'trace id', id));
      const ids = [...new Set(traceIds)];
      if (ids.length === 0) return Promise.resolve({ traces: 0, verdicts: 0, evaluations: 0 });
      return run(operation, () =>
        transaction(async (tx) => {
          await lockOrganizations(tx, [orgId], 'exclusive');
          await bury(tx, orgId, 'trace', ids);
          const t = await tx.delete(traces).where(and(eq(traces.orgId, orgId), inArray(traces.traceId, ids))).returning({ id: traces.traceId });
          const v = await tx.delete(verdicts).where(and(eq(verdicts.orgId, orgId), inArray(verdicts.traceId, ids))).returning({ id: verdicts.traceId });
          const e = await tx.delete(evaluations).where(and(eq(evaluations.orgId, orgId), inArray(evaluations.traceId, ids))).returning({ id: evaluations.evaluationId });
          // a judgment pending for the trace (migration 0008) holds its escalation, the trace included
          await tx.execute(sql`DELETE FROM judge_pending WHERE org_id = ${orgId} AND trace_id IN (SELECT jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))`);
          return { traces: t.length, verdicts: v.length, evaluations: e.length };
        }),
      );
    };

    return {
      orgId,

      getOrganization: () => run('getOrganization', () => getOrganization(db)),

      async getTrace(traceId) {
        // No stored id holds U+0000 (writes refuse it) and Postgres text cannot carry it: nothing to find.
        if (traceId.includes('\u0000')) return null;
        const [row] = await run('getTrace', () =>
          db.select({ record: traces.record, nulEscaped: traces.nulEscaped }).from(traces).where(and(eq(traces.orgId, orgId), eq(traces.traceId, traceId))).limit(1),
        );
        return row ? decodeRecord<Trace>(row.record, row.nulEscaped) : null;
      },

      async getVerdict(traceId) {
        if (traceId.includes('\u0000')) return null;
        const [row] = await run('getVerdict', () =>
          db.select({ record: verdicts.record, nulEscaped: verdicts.nulEscaped }).from(verdicts).where(and(eq(verdicts.orgId, orgId), eq(verdicts.traceId, traceId))).limit(1),
        );
        return row ? decodeRecord<Verdict>(row.record, row.nulEscaped) : null;
      },

      async getEvaluations(traceId) {
        if (traceId.includes('\u0000')) return [];
        const rows = await run('getEvaluations', () =>
          db
            .select({ record: evaluations.record, nulEscaped: evaluations.nulEscaped })
            .from(evaluations)
            .where(and(eq(evaluations.orgId, orgId), eq(evaluations.traceId, traceId)))
            .orderBy(asc(evaluations.tier), asc(evaluations.evaluationId)),
        );
        return rows.map((row) => decodeRecord<TierResult>(row.record, row.nulEscaped));
      },

      searchTraces: (query) => run('searchTraces', () => searchTraces(db, orgId, query)),
      listSessions: (query) => run('listSessions', () => listSessions(db, orgId, query)),

      async getPolicy() {
        const [row] = await run('getPolicy', () => db.select().from(policies).where(eq(policies.orgId, orgId)).limit(1));
        if (!row) return null;
        return { document: decodeRecord<unknown>(row.document, row.nulEscaped), version: row.version, updated_at: row.updatedAt };
      },

      async putPolicy(document, actor) {
        if (document === null || typeof document !== 'object' || Array.isArray(document)) {
          throw new InvalidRecordError(`${kind} putPolicy`, `the policy must be a JSON object`);
        }
        const { record, escaped } = encodeRecord(document);
        return run('putPolicy', () =>
          transaction(async (tx) => {
            const [row] = await tx
              .insert(policies)
              .values({ orgId, document: record, version: 1, nulEscaped: escaped })
              .onConflictDoUpdate({
                target: policies.orgId,
                set: { document: sql.raw('excluded."document"'), nulEscaped: sql.raw('excluded."nul_escaped"'), version: sql.raw('"policies"."version" + 1'), updatedAt: sql`now()` },
              })
              .returning({ version: policies.version, updatedAt: policies.updatedAt });
            await appendAudit(tx, orgId, 'policy.changed', orgId, { version: row!.version }, actor);
            return { version: row!.version, updated_at: row!.updatedAt };
          }),
        );
      },

      async listApiKeys() {
        const rows = await run('listApiKeys', () => db.select().from(apiKeys).where(eq(apiKeys.orgId, orgId)).orderBy(asc(apiKeys.createdAt), asc(apiKeys.id)));
        return rows.map(toKeyView);
      },

      async createApiKey(key, actor) {
        checkId('createApiKey', 'key id', key.id);
        if (!/^[0-9a-f]{64}$/.test(key.hash)) throw new InvalidRecordError(`${kind} createApiKey`, 'hash must be a lowercase hex SHA-256');
        return run('createApiKey', () =>
          transaction(async (tx) => {
            const inserted = await tx
              .insert(apiKeys)
              .values({ id: key.id, orgId, keyHash: key.hash, prefix: key.prefix, name: key.name, scopes: key.scopes, expiresAt: key.expires_at, createdBy: actor.keyId })
              .onConflictDoNothing()
              .returning();
            if (inserted[0] === undefined) throw new ConflictError(`${kind} createApiKey`, `a key with id ${JSON.stringify(key.id)} or the same hash exists`);
            const view = toKeyView(inserted[0]);
            await appendAudit(tx, orgId, 'key.created', key.id, { name: key.name, scopes: key.scopes, prefix: key.prefix, expires_at: key.expires_at?.toISOString() ?? null }, actor);
            return view;
          }),
        );
      },

      async revokeApiKey(keyId, actor) {
        // No stored id holds U+0000 (Postgres text cannot): there is nothing to revoke.
        if (keyId.includes('\u0000')) return null;
        return run('revokeApiKey', () =>
          transaction(async (tx) => {
            const [row] = await tx
              .update(apiKeys)
              .set({ revokedAt: sql`now()` })
              .where(and(eq(apiKeys.orgId, orgId), eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt)))
              .returning();
            if (row === undefined) return keyView(tx, keyId);
            await appendAudit(tx, orgId, 'key.revoked', keyId, { prefix: row.prefix }, actor);
            return toKeyView(row);
          }),
        );
      },

      async setRetention(days, actor) {
        checkDays('setRetention', days);
        const before = await run('setRetention', () => getOrganization(db));
        if (before === null) return null;
        return updateOrganization('setRetention', { retentionDays: days }, 'retention.changed', { from: before.retention_days, to: days }, actor);
      },

      async setRateLimits(limits, actor) {
        const { record } = encodeRecord(limits ?? {});
        return updateOrganization('setRateLimits', { rateLimits: limits === null ? null : record }, 'rate_limits.changed', { to: limits }, actor);
      },

      deleteTrace: (traceId) => deleteTraces('deleteTrace', [traceId]),

      deleteTraces: (traceIds) => deleteTraces('deleteTraces', traceIds),

      async deleteUserData(userId) {
        checkId('deleteUserData', 'user id', userId);
        return run('deleteUserData', () =>
          transaction(async (tx) => {
            await lockOrganizations(tx, [orgId], 'exclusive');
            const deleted = await deleteTracesWhere(tx, orgId, sql`user_id = ${userId}`);
            await bury(tx, orgId, 'user', [userId]);
            await bury(tx, orgId, 'trace', deleted.trace_ids);
            return deleted;
          }),
        );
      },

      async recordDeletion(kindOf, subject, deleted, actor) {
        return run('recordDeletion', () =>
          transaction(async (tx) => {
            const [row] = await tx.insert(deletions).values({ orgId, kind: kindOf, subject, actor: actor.keyId, requestId: actor.requestId ?? null, deleted }).returning();
            await appendAudit(tx, orgId, kindOf === 'trace' ? 'trace.deleted' : 'user_data.deleted', subject, { deleted }, actor);
            return toDeletion(row!);
          }),
        );
      },

      async listDeletions(limit) {
        return run('listDeletions', async () => {
          const [counted] = await db.select({ total: sql<number>`count(*)::int` }).from(deletions).where(eq(deletions.orgId, orgId));
          const rows = await db.select().from(deletions).where(eq(deletions.orgId, orgId)).orderBy(desc(deletions.at), desc(deletions.id)).limit(limit);
          return { total: Number(counted?.total ?? 0), recent: rows.map(toDeletion) };
        });
      },

      audit: (action, target, details, actor) => run('audit', () => appendAudit(db, orgId, action, target, details, actor)),

      async listAudit(query) {
        // Postgres text cannot hold U+0000, so no entry has it: a filter holding it matches nothing.
        if ([query.actor, query.target].some((v) => v?.includes('\u0000'))) return [];
        const conditions: SQL[] = [eq(auditLog.orgId, orgId)];
        if (query.action !== undefined) conditions.push(eq(auditLog.action, query.action));
        if (query.actor !== undefined) conditions.push(eq(auditLog.actor, query.actor));
        if (query.target !== undefined) conditions.push(eq(auditLog.target, query.target));
        if (query.since !== undefined) conditions.push(gte(auditLog.at, query.since));
        if (query.until !== undefined) conditions.push(lte(auditLog.at, query.until));
        if (query.beforeId !== undefined) conditions.push(lt(auditLog.id, query.beforeId));
        const rows = await run('listAudit', () =>
          db
            .select()
            .from(auditLog)
            .where(and(...conditions))
            .orderBy(desc(auditLog.id))
            .limit(query.limit),
        );
        return rows.map(toAudit);
      },

      async storedCounts() {
        return run('storedCounts', async () => {
          const result = await db.execute(sql`
            SELECT (SELECT count(*) FROM traces WHERE org_id = ${orgId}) AS traces,
                   (SELECT count(*) FROM verdicts WHERE org_id = ${orgId}) AS verdicts,
                   (SELECT count(*) FROM evaluations WHERE org_id = ${orgId}) AS evaluations,
                   (SELECT min(timestamp) FROM traces WHERE org_id = ${orgId}) AS oldest,
                   (SELECT max(timestamp) FROM traces WHERE org_id = ${orgId}) AS newest`);
          const row = rowsOf(result)[0] as Record<string, unknown>;
          const ms = (value: unknown) => (value === null || value === undefined ? null : new Date(value as string).getTime());
          return { traces: Number(row.traces), verdicts: Number(row.verdicts), evaluations: Number(row.evaluations), oldest_trace: ms(row.oldest), newest_trace: ms(row.newest) };
        });
      },
    };
  }

  return {
    forOrg: scope,

    async createOrganization(org, actor) {
      checkId('createOrganization', 'organization id', org.id);
      if (typeof org.name !== 'string' || org.name.length === 0 || org.name.length > 200 || org.name.includes('\u0000')) {
        throw new InvalidRecordError(`${kind} createOrganization`, 'name must be a string of 1 to 200 characters without U+0000');
      }
      if (org.retention_days !== undefined) checkDays('createOrganization', org.retention_days);
      return run('createOrganization', () =>
        transaction(async (tx) => {
          const [row] = await tx
            .insert(organizations)
            .values({ id: org.id, name: org.name, retentionDays: org.retention_days ?? 90, operator: org.operator ?? false })
            .onConflictDoNothing({ target: organizations.id })
            .returning();
          if (row === undefined) throw new ConflictError(`${kind} createOrganization`, `an organization with id ${JSON.stringify(org.id)} exists`);
          const details = { name: org.name, retention_days: row.retentionDays };
          await appendAudit(tx, actor.orgId, 'organization.created', org.id, details, actor);
          if (actor.orgId !== org.id) await appendAudit(tx, org.id, 'organization.created', org.id, details, actor);
          return toOrganization(row);
        }),
      );
    },

    async enforceRetention({ now, batchSize, maxBatches }) {
      const orgs = await run('enforceRetention', () => db.select({ id: organizations.id, days: organizations.retentionDays }).from(organizations));
      const results: RetentionResult[] = [];
      for (const org of orgs) {
        const cutoff = now - org.days * 86_400_000;
        const before = new Date(cutoff).toISOString();
        const total: PostgresDeletion = { traces: 0, verdicts: 0, evaluations: 0 };
        // The watermark first, under the org's deletion lock: a sink write that checked before it has
        // committed (its rows are deleted below), one after it drops what is older. It never goes back.
        await run('enforceRetention', () =>
          transaction(async (tx) => {
            await lockOrganizations(tx, [org.id], 'exclusive');
            await tx
              .update(organizations)
              .set({ retentionWatermark: sql`greatest(${organizations.retentionWatermark}, ${before}::timestamptz)` })
              .where(eq(organizations.id, org.id));
          }),
        );
        for (let i = 0; i < maxBatches; i++) {
          // By when Metronis received the trace, not the client's timestamp (which may lie anywhere).
          const { trace_ids: _ids, ...batch } = await run('enforceRetention', () => transaction((tx) => deleteTracesWhere(tx, org.id, sql`received_at < ${before}::timestamptz`, batchSize)));
          total.traces += batch.traces;
          total.verdicts += batch.verdicts;
          total.evaluations += batch.evaluations;
          if (batch.traces < batchSize) break;
        }
        // Verdicts and evaluations whose trace is gone (or never landed) expire by their own time.
        for (const [table, column, key] of [
          [verdicts, verdicts.decidedAt, 'verdicts'],
          [evaluations, evaluations.evaluatedAt, 'evaluations'],
        ] as const) {
          for (let i = 0; i < maxBatches; i++) {
            const removed = await run('enforceRetention', () =>
              db.execute(sql`DELETE FROM ${table} WHERE ctid IN (SELECT ctid FROM ${table} WHERE org_id = ${org.id} AND ${column} < ${before}::timestamptz LIMIT ${batchSize})`),
            );
            const count = affected(removed);
            total[key] += count;
            if (count < batchSize) break;
          }
        }
        if (total.traces + total.verdicts + total.evaluations > 0) {
          await run('enforceRetention', () =>
            db.insert(deletions).values({ orgId: org.id, kind: 'retention', subject: new Date(cutoff).toISOString(), actor: 'retention', deleted: { postgres: total } }),
          );
        }
        results.push({ org_id: org.id, cutoff, ...total });
      }
      return results;
    },
  };
}

/** Rows affected by a DELETE through `db.execute`: postgres.js `count`, PGlite `affectedRows`. */
function affected(result: unknown): number {
  const r = result as { count?: number; affectedRows?: number };
  return Number(r.count ?? r.affectedRows ?? 0);
}

function toOrganization(row: typeof organizations.$inferSelect): OrganizationRecord {
  return {
    id: row.id,
    name: row.name,
    created_at: row.createdAt,
    retention_days: row.retentionDays,
    rate_limits: (row.rateLimits as Record<string, number> | null) ?? null,
    operator: row.operator,
  };
}

function toKeyView(row: typeof apiKeys.$inferSelect): ApiKeyView {
  return {
    id: row.id,
    org_id: row.orgId,
    prefix: row.prefix,
    name: row.name,
    scopes: row.scopes as ApiKeyScope[],
    created_at: row.createdAt,
    created_by: row.createdBy,
    expires_at: row.expiresAt,
    revoked_at: row.revokedAt,
  };
}

function toAudit(row: typeof auditLog.$inferSelect): AuditEntry {
  return {
    id: row.id,
    org_id: row.orgId,
    at: row.at,
    actor: row.actor,
    action: row.action as AuditAction,
    target: row.target,
    request_id: row.requestId,
    details: row.details as Record<string, unknown>,
  };
}

function toDeletion(row: typeof deletions.$inferSelect): DeletionRecord {
  return {
    id: row.id,
    at: row.at,
    kind: row.kind as DeletionRecord['kind'],
    subject: row.subject,
    actor: row.actor,
    request_id: row.requestId,
    deleted: row.deleted as Record<string, unknown>,
  };
}

