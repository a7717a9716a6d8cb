/**
 * The RelationalStore on any drizzle Postgres database: the same queries run on PostgreSQL
 * (postgres.js) and on PGlite. `createPostgresStore` and `createPgliteStore` supply the database, the
 * migrator call and how to close it.
 *
 * The sinks' upserts are one set-based statement per table per batch (sink-sql.ts; split into
 * statements of at most `maxRowsPerStatement` rows for huge batches), built without drizzle, in one
 * transaction that first takes the organizations' deletion lock (shared); the statement itself leaves
 * out what was deleted (deletions.ts). A batch holding the same key twice is de-duplicated first,
 * last one wins, because Postgres refuses to update a row twice in one statement. Rows are sorted by
 * key so that concurrent batches lock rows in the same order. Evaluations are keyed by
 * (org_id, evaluation_id) the same way.
 *
 * A policy save is one `INSERT ... ON CONFLICT (org_id) DO UPDATE SET version = version + 1`, so
 * concurrent saves each get their own version number.
 */
import { MAX_SHORT_TEXT_BYTES, withinTimestampBounds, type TierResult, type Trace, type Verdict } from '@metronis/schemas';
import { eq, sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { InvalidRecordError, StoreError, storeError } from '../errors.js';
import type { ApiKeyRecord, ApiKeyScope, DeletionRef, Organization, RelationalStore } from '../types.js';
import { encodeRecord } from './nul.js';
import { buryTraces, deleteOrphans, lockOrganizations } from './deletions.js';
import { apiKeys, organizations, policies } from './schema.js';
import { DELETED_IN, deletionRefs, evaluationRow, jsonChunks, sharedLock, traceRow, UPSERT_EVALUATIONS, UPSERT_TRACES, UPSERT_VERDICTS, verdictRow, type SinkSql } from './sink-sql.js';
import { createAlertStore } from './alerts.js';
import { createJudgeStore } from './judge.js';
import { createTenancy } from './tenancy.js';
import { createUserStore } from './users.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyPgDatabase = PgDatabase<PgQueryResultHKT, any>;

export interface RelationalStoreOptions {
  kind: RelationalStore['kind'];
  db: AnyPgDatabase;
  /** the sinks' hot path: the same client as `db`, without drizzle (sink-sql.ts) */
  sinkSql: SinkSql;
  /** applies the migrations in sql/postgres */
  migrate: () => Promise<void>;
  close: () => Promise<void>;
  /** rows per INSERT statement; larger batches are split inside one transaction (default 1000) */
  maxRowsPerStatement?: number;
}

/** Rows per INSERT statement: a batch's rows are one jsonb parameter, kept to a size a statement handles comfortably. */
export const DEFAULT_MAX_ROWS_PER_STATEMENT = 1000;

/** The rows-per-statement setting, checked (the factories call it before opening a connection). */
export function checkMaxRowsPerStatement(value: number | undefined): number {
  const maxRows = value ?? DEFAULT_MAX_ROWS_PER_STATEMENT;
  if (!Number.isInteger(maxRows) || maxRows < 1 || maxRows > 5000) {
    throw new RangeError(`maxRowsPerStatement must be an integer in 1..5000, got ${maxRows}`);
  }
  return maxRows;
}

export function createRelationalStore(options: RelationalStoreOptions): RelationalStore {
  const { kind, db } = options;
  const maxRows = checkMaxRowsPerStatement(options.maxRowsPerStatement);

  async function run<T>(operation: string, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      throw storeError(`${kind} ${operation}`, error);
    }
  }

  /**
   * A sink's write: one implicit transaction holding the deletion lock of the batch's organizations
   * (shared), then `statement` over the rows in chunks (sink-sql.ts), which leaves out the deleted rows and may
   * answer them (`i`, `by_user`). A batch lands whole or not at all. Traces dropped for their user's
   * deletion are then buried (`buryDropped`). Returns the rows each chunk answered.
   */
  async function sinkWrite(operation: string, orgIds: string[], statement: string, rows: string[]): Promise<Record<string, unknown>[]> {
    if (rows.length === 0) return [];
    const chunks = jsonChunks(rows, maxRows);
    const results = await run(operation, () => options.sinkSql.atomic([sharedLock(orgIds), ...chunks.map((json) => ({ text: statement, json }))]));
    return results.slice(1).flat();
  }

  /**
   * Tombstones for traces dropped because their user was deleted, and their verdicts and evaluations
   * that landed before them deleted, under the organizations' deletion lock held exclusive: a sink
   * writing a verdict of one of them at the same time (under the shared lock) either committed first
   * (its row is deleted here) or checks after (and finds the tombstone). Rare: only records of a
   * deleted user still on their way get here.
   */
  async function buryDropped(refs: DeletionRef[]): Promise<void> {
    const buried = refs.flatMap((r) => (r.received_at === undefined ? [] : [{ org_id: r.org_id, trace_id: r.trace_id, received_at: r.received_at }]));
    if (buried.length === 0) return;
    await db.transaction(async (t) => {
      const tx = t as unknown as AnyPgDatabase;
      await lockOrganizations(tx, buried.map((r) => r.org_id), 'exclusive');
      await buryTraces(tx, buried);
      await deleteOrphans(tx, buried);
    });
  }

  const tenancy = createTenancy(kind, db);
  /** The org's scope for the unscoped reads; none for an id no organization can have (nothing to find). */
  const scoped = (orgId: string) => (typeof orgId === 'string' && orgId.length > 0 && !orgId.includes('\u0000') ? tenancy.forOrg(orgId) : null);

  return {
    kind,
    ...tenancy,
    alerts: createAlertStore(kind, db),
    judge: createJudgeStore(kind, db),
    users: createUserStore(kind, db),

    migrate: () => run('migrate', options.migrate),

    async upsertTraces(batch) {
      const checked = lastPerKey('upsertTraces', batch, TRACE_KEY, ['timestamp', 'received_at']);
      batch.forEach(checkIndexedTexts);
      // Verdicts and evaluations that landed before a trace that is dropped now (its retention passed,
      // or its id was deleted) go with it in the same statement; those of a user's deletion are settled by buryDropped.
      const dropped = await sinkWrite('upsertTraces', checked.map((t) => t.org_id), UPSERT_TRACES, checked.map(traceRow));
      const byUser = dropped.filter((d) => d.by_user === true).map((d) => traceRef(checked[Number(d.i)]!));
      await run('upsertTraces', () => buryDropped(byUser));
    },

    getTrace: (orgId, traceId) => scoped(orgId)?.getTrace(traceId) ?? Promise.resolve(null),

    async upsertVerdicts(batch) {
      const checked = lastPerKey('upsertVerdicts', batch, TRACE_KEY, ['decided_at']);
      await sinkWrite('upsertVerdicts', checked.map((v) => v.org_id), UPSERT_VERDICTS, checked.map(verdictRow));
    },

    getVerdict: (orgId, traceId) => scoped(orgId)?.getVerdict(traceId) ?? Promise.resolve(null),

    async upsertEvaluations(batch) {
      const checked = lastPerKey('upsertEvaluations', batch, EVALUATION_KEY, ['evaluated_at', 'trace_timestamp']);
      await sinkWrite('upsertEvaluations', checked.map((r) => r.org_id), UPSERT_EVALUATIONS, checked.map(evaluationRow));
    },

    getEvaluations: (orgId, traceId) => scoped(orgId)?.getEvaluations(traceId) ?? Promise.resolve([]),

    getPolicy: (orgId) => scoped(orgId)?.getPolicy() ?? Promise.resolve(null),

    async putPolicy(orgId, document) {
      requireId('putPolicy', 'org_id', orgId);
      if (document === null || typeof document !== 'object' || Array.isArray(document)) {
        const got = document === null ? 'null' : Array.isArray(document) ? 'an array' : typeof document;
        throw new InvalidRecordError(`${kind} putPolicy`, `the policy of ${JSON.stringify(orgId)} must be a JSON object, got ${got}`);
      }
      const { record, escaped } = encodeRecord(document);
      const [row] = await run('putPolicy', () =>
        db
          .insert(policies)
          .values({ orgId, document: record, version: 1, nulEscaped: escaped })
          .onConflictDoUpdate({
            target: policies.orgId,
            set: {
              document: sql.raw('excluded."document"'),
              nulEscaped: sql.raw('excluded."nul_escaped"'),
              version: sql.raw('"policies"."version" + 1'),
              updatedAt: sql`now()`,
            },
          })
          .returning({ version: policies.version, updatedAt: policies.updatedAt }),
      );
      if (!row) throw new StoreError(`${kind} putPolicy`, `saving the policy of ${JSON.stringify(orgId)} returned no row`);
      return { version: row.version, updated_at: row.updatedAt };
    },

    async ensureOrganization(id, name, ensureOptions) {
      requireId('ensureOrganization', 'organization id', id);
      if (name.includes('\u0000')) throw new InvalidRecordError(`${kind} ensureOrganization`, `organization name of ${JSON.stringify(id)} contains U+0000`);
      return run('ensureOrganization', async () => {
        await db.insert(organizations).values({ id, name, operator: ensureOptions?.operator ?? false }).onConflictDoNothing({ target: organizations.id });
        if (ensureOptions?.operator !== undefined) await db.update(organizations).set({ operator: ensureOptions.operator }).where(eq(organizations.id, id));
        const [row] = await db.select().from(organizations).where(eq(organizations.id, id));
        if (!row) throw new Error(`organization ${JSON.stringify(id)} vanished right after it was ensured`);
        return { id: row.id, name: row.name, created_at: row.createdAt } satisfies Organization;
      });
    },

    async putApiKey(key) {
      requireId('putApiKey', 'key id', key.id);
      requireId('putApiKey', 'org_id', key.org_id);
      if (!/^[0-9a-f]{64}$/.test(key.hash)) {
        throw new InvalidRecordError(`${kind} putApiKey`, `hash of key ${JSON.stringify(key.id)} must be a lowercase hex SHA-256 (64 characters)`);
      }
      const badScope = key.scopes.find((s) => !API_KEY_SCOPES.includes(s));
      if (badScope !== undefined) {
        throw new InvalidRecordError(`${kind} putApiKey`, `unknown scope ${JSON.stringify(badScope)} for key ${JSON.stringify(key.id)} (known: ${API_KEY_SCOPES.join(', ')})`);
      }
      await run('putApiKey', () =>
        db
          .insert(apiKeys)
          .values({ id: key.id, orgId: key.org_id, keyHash: key.hash, prefix: key.prefix, scopes: key.scopes, expiresAt: key.expires_at ?? null })
          .onConflictDoNothing({ target: apiKeys.keyHash }),
      );
    },

    async findApiKeyByHash(hash) {
      if (!/^[0-9a-f]{64}$/.test(hash)) return null;
      const [row] = await run('findApiKeyByHash', () => db.select().from(apiKeys).where(eq(apiKeys.keyHash, hash)).limit(1));
      if (!row) return null;
      return {
        id: row.id,
        org_id: row.orgId,
        prefix: row.prefix,
        scopes: row.scopes as ApiKeyScope[],
        expires_at: row.expiresAt,
        revoked_at: row.revokedAt,
        hash: row.keyHash,
      } satisfies ApiKeyRecord & { hash: string };
    },

    deletedRecords: (refs) => run('deletedRecords', () => deletedRecords(refs)),

    async ping() {
      await run('ping', () => db.execute(sql`select 1`));
    },

    close: () => run('close', options.close),
  };

  /**
   * The positions of the deleted records (see deletions.ts), checked under the organizations' deletion
   * lock; a trace ref dropped for its user's deletion gets a tombstone of its own, as in upsertTraces.
   */
  async function deletedRecords(refs: DeletionRef[]): Promise<Set<number>> {
    if (refs.length === 0) return new Set();
    const orgIds = refs.flatMap((r) => (typeof r.org_id === 'string' && !r.org_id.includes('\u0000') ? [r.org_id] : []));
    const [, rows] = await options.sinkSql.atomic([sharedLock(orgIds), { text: DELETED_IN, json: deletionRefs(refs) }]);
    const deleted = (rows ?? []).map((row) => ({ index: Number(row.i), byUser: row.by_user === true }));
    await buryDropped(deleted.filter((d) => d.byUser).map((d) => refs[d.index]!));
    return new Set(deleted.map((d) => d.index));
  }

  function requireId(operation: string, what: string, value: unknown): void {
    if (typeof value !== 'string' || value.length === 0) {
      throw new InvalidRecordError(`${kind} ${operation}`, `${what} must be a non-empty string, got ${JSON.stringify(value)}`);
    }
    if (value.includes('\u0000')) throw new InvalidRecordError(`${kind} ${operation}`, `${what} ${JSON.stringify(value)} contains U+0000, which an id cannot hold`);
  }

  /**
   * Last record per key (`key.fields`, e.g. org_id + trace_id), sorted by key. Checks every record
   * first (the ids in `key.ids`, and the epoch-millisecond fields named in `times`), so a bad one
   * fails the batch before any write, naming its index.
   */
  function lastPerKey<R extends { org_id: string }>(operation: string, batch: R[], key: RecordKey<R>, times: readonly (keyof R & string)[]): R[] {
    if (!Array.isArray(batch)) throw new InvalidRecordError(`${kind} ${operation}`, 'expects an array of records');
    const byKey = new Map<string, R>();
    batch.forEach((record, i) => {
      const fail = (message: string) => new InvalidRecordError(`${kind} ${operation}`, `record ${i}: ${message}`, { recordIndex: i });
      if (record === null || typeof record !== 'object') throw fail('is not an object');
      for (const field of key.ids) {
        const value: unknown = record[field];
        if (typeof value !== 'string' || value.length === 0) throw fail(`${field} must be a non-empty string, got ${JSON.stringify(value)}`);
        if (value.includes('\u0000')) throw fail(`${field} ${JSON.stringify(value)} contains U+0000, which an id cannot hold`);
      }
      for (const field of times) {
        const value: unknown = record[field];
        // The public trace's bounds (schemas/src/bounds.ts): a direct producer's record past them is refused here the same way.
        if (!withinTimestampBounds(value)) throw fail(`${field} must be epoch milliseconds, got ${JSON.stringify(value)}`);
      }
      const id = JSON.stringify(key.fields.map((f) => record[f]));
      byKey.delete(id); // re-insert so the Map keeps the last occurrence
      byKey.set(id, record);
    });
    const [first, second] = key.fields;
    return [...byKey.values()].sort((a, b) => compare(a[first] as string, b[first] as string) || compare(a[second] as string, b[second] as string));
  }

  /**
   * The texts that the traces indexes hold, within the public trace's bound in bytes of UTF-8 (one
   * b-tree entry holds at most 2,704): past it Postgres fails the whole statement, so the record is
   * refused alone, naming its index in the batch.
   */
  function checkIndexedTexts(trace: Trace, i: number): void {
    const texts = { application: trace.application, environment: trace.environment, 'model.provider': trace.model?.provider, 'model.name': trace.model?.name, user_id: trace.user_id, session_id: trace.session_id };
    for (const [field, text] of Object.entries(texts)) {
      if (typeof text === 'string' && text.length > MAX_SHORT_TEXT_BYTES / 3 && Buffer.byteLength(text, 'utf8') > MAX_SHORT_TEXT_BYTES) {
        throw new InvalidRecordError(`${kind} upsertTraces`, `record ${i}: ${field} is more than ${MAX_SHORT_TEXT_BYTES} bytes of UTF-8`, { recordIndex: i });
      }
    }
  }
}

/** Which fields are ids (non-empty, no U+0000) and which two of them make a record's key. */
interface RecordKey<R> {
  ids: readonly (keyof R & string)[];
  fields: readonly [keyof R & string, keyof R & string];
}
const traceRef = (t: Trace): DeletionRef => ({ org_id: t.org_id, trace_id: t.trace_id, user_id: t.user_id, received_at: t.received_at });
const TRACE_KEY: RecordKey<{ org_id: string; trace_id: string }> = { ids: ['org_id', 'trace_id'], fields: ['org_id', 'trace_id'] };
const EVALUATION_KEY: RecordKey<TierResult> = { ids: ['org_id', 'evaluation_id', 'trace_id'], fields: ['org_id', 'evaluation_id'] };

const API_KEY_SCOPES: readonly ApiKeyScope[] = ['ingest', 'read', 'admin'];

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
