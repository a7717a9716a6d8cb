/**
 * The relational schema, one drizzle definition for PostgreSQL and PGlite. Migrations in
 * `sql/postgres/` are generated from this file by drizzle-kit (`stores/drizzle.config.ts`); never
 * edit an applied migration, add a new one.
 *
 * Traces and verdicts keep the whole Avro record in `record` (jsonb) plus a few indexed columns for
 * filtering. Postgres refuses U+0000 in text and jsonb, so a record that contains it is stored
 * escaped and flagged by `nul_escaped` (see `nul.ts`); the indexed columns of such a row hold U+FFFD
 * where the value had U+0000 (they are for filtering, the record is the truth).
 *
 * There is no foreign key from traces, verdicts or evaluations to organizations: the sinks write
 * what the log holds, and a trace must never be refused because its organization row is missing.
 * Policies have none either: an org's policy can be saved before anything else about it exists.
 */
import { sql } from 'drizzle-orm';
import { bigserial, boolean, doublePrecision, index, integer, jsonb, pgTable, primaryKey, smallint, text, timestamp } from 'drizzle-orm/pg-core';

const tz = { withTimezone: true, mode: 'date' } as const;

export const organizations = pgTable('organizations', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  createdAt: timestamp('created_at', tz).notNull().defaultNow(),
  /** days traces, verdicts, evaluations and facts are kept */
  retentionDays: integer('retention_days').notNull().default(90),
  /** per-org rate limits (OrgRateLimits); null: the deployment's defaults */
  rateLimits: jsonb('rate_limits'),
  /** an operator organization's admin keys may create organizations (the bootstrap org is one) */
  operator: boolean('operator').notNull().default(false),
  /**
   * Everything received before this was deleted by retention (the latest cutoff a retention pass
   * applied; it never goes back): the sinks drop such records when the log delivers them again.
   */
  retentionWatermark: timestamp('retention_watermark', tz),
});

export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    /** hex SHA-256 of the key; the key itself is never stored */
    keyHash: text('key_hash').notNull().unique('api_keys_key_hash_unique'),
    prefix: text('prefix').notNull(),
    name: text('name').notNull().default(''),
    scopes: text('scopes').array().notNull().default(sql`'{}'::text[]`),
    /** the key id (or `cli`) that created this key */
    createdBy: text('created_by'),
    createdAt: timestamp('created_at', tz).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', tz),
    revokedAt: timestamp('revoked_at', tz),
  },
  (t) => [index('api_keys_org_id_idx').on(t.orgId)],
);

export const traces = pgTable(
  'traces',
  {
    orgId: text('org_id').notNull(),
    traceId: text('trace_id').notNull(),
    timestamp: timestamp('timestamp', tz).notNull(),
    receivedAt: timestamp('received_at', tz).notNull(),
    application: text('application'),
    environment: text('environment'),
    modelProvider: text('model_provider'),
    modelName: text('model_name'),
    userId: text('user_id'),
    sessionId: text('session_id'),
    nulEscaped: boolean('nul_escaped').notNull().default(false),
    record: jsonb('record').notNull(),
  },
  (t) => [
    primaryKey({ name: 'traces_pkey', columns: [t.orgId, t.traceId] }),
    index('traces_org_timestamp_idx').on(t.orgId, t.timestamp.desc()),
    index('traces_org_application_timestamp_idx').on(t.orgId, t.application, t.timestamp.desc()),
    index('traces_org_model_idx').on(t.orgId, t.modelProvider, t.modelName),
    index('traces_org_user_idx').on(t.orgId, t.userId),
    index('traces_org_session_idx').on(t.orgId, t.sessionId),
    index('traces_org_received_idx').on(t.orgId, t.receivedAt),
  ],
);

export const verdicts = pgTable(
  'verdicts',
  {
    orgId: text('org_id').notNull(),
    traceId: text('trace_id').notNull(),
    tier: smallint('tier').notNull(),
    passed: boolean('passed').notNull(),
    severity: text('severity').notNull(),
    score: doublePrecision('score').notNull(),
    decidedAt: timestamp('decided_at', tz).notNull(),
    nulEscaped: boolean('nul_escaped').notNull().default(false),
    record: jsonb('record').notNull(),
  },
  (t) => [
    primaryKey({ name: 'verdicts_pkey', columns: [t.orgId, t.traceId] }),
    index('verdicts_org_decided_idx').on(t.orgId, t.decidedAt.desc()),
    index('verdicts_org_failed_idx').on(t.orgId, t.passed, t.severity),
  ],
);

/** One row per tier result (TierResult), keyed by its deterministic evaluation id (trace id + tier). */
export const evaluations = pgTable(
  'evaluations',
  {
    orgId: text('org_id').notNull(),
    evaluationId: text('evaluation_id').notNull(),
    traceId: text('trace_id').notNull(),
    tier: smallint('tier').notNull(),
    passed: boolean('passed').notNull(),
    severity: text('severity').notNull(),
    score: doublePrecision('score').notNull(),
    evaluatedAt: timestamp('evaluated_at', tz).notNull(),
    nulEscaped: boolean('nul_escaped').notNull().default(false),
    record: jsonb('record').notNull(),
  },
  (t) => [primaryKey({ name: 'evaluations_pkey', columns: [t.orgId, t.evaluationId] }), index('evaluations_org_trace_idx').on(t.orgId, t.traceId)],
);

/**
 * Each organization's evaluation policy: the validated JSON document and a version that grows by one
 * on every save, so caches and the console can tell which one they hold.
 */
export const policies = pgTable('policies', {
  orgId: text('org_id').primaryKey(),
  document: jsonb('document').notNull(),
  version: integer('version').notNull(),
  updatedAt: timestamp('updated_at', tz).notNull().defaultNow(),
  nulEscaped: boolean('nul_escaped').notNull().default(false),
});

/**
 * The audit log: one row per admin action, appended in the same transaction as the change it records
 * where the change is in Postgres. Append-only: a trigger (migration 0002) refuses UPDATE and DELETE,
 * so not even the application can rewrite history.
 */
export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    orgId: text('org_id').notNull(),
    at: timestamp('at', tz).notNull().defaultNow(),
    /** the API key id that acted, or `cli` for the command line */
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    target: text('target').notNull(),
    requestId: text('request_id'),
    details: jsonb('details').notNull().default(sql`'{}'::jsonb`),
  },
  (t) => [index('audit_log_org_at_idx').on(t.orgId, t.at.desc(), t.id.desc()), index('audit_log_org_action_idx').on(t.orgId, t.action, t.at.desc())],
);

/**
 * Deletions done for an organization (a trace, a user's data, a retention pass), with what each
 * removed: the compliance report reads them. The rows carry ids, never trace content.
 */
export const deletions = pgTable(
  'deletions',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    orgId: text('org_id').notNull(),
    at: timestamp('at', tz).notNull().defaultNow(),
    /** `trace`, `user` or `retention` */
    kind: text('kind').notNull(),
    /** the trace id, the user id, or the cutoff of a retention pass */
    subject: text('subject').notNull(),
    actor: text('actor').notNull(),
    requestId: text('request_id'),
    deleted: jsonb('deleted').notNull(),
  },
  (t) => [index('deletions_org_at_idx').on(t.orgId, t.at.desc())],
);

/**
 * What was deleted, so that a record of it still in the log (not yet sunk, or replayed) is not written
 * again: a trace id or a user id of an organization, and when. A record received before `deleted_at`
 * is dropped by the sinks; one received later is new data and lands.
 */
export const tombstones = pgTable(
  'tombstones',
  {
    orgId: text('org_id').notNull(),
    /** `trace` or `user` */
    kind: text('kind').notNull(),
    subject: text('subject').notNull(),
    deletedAt: timestamp('deleted_at', tz).notNull().defaultNow(),
  },
  (t) => [primaryKey({ name: 'tombstones_pkey', columns: [t.orgId, t.kind, t.subject] })],
);
