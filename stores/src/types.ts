/**
 * What the rest of Metronis needs from its two stores. Each has two implementations running the same
 * SQL: the relational store on PostgreSQL (postgres.js) or PGlite, the facts store on a ClickHouse
 * server (@clickhouse/client) or chDB. Every method is scoped by organization where data is read.
 */
import type { Severity, TierResult, Trace, Verdict } from '@metronis/schemas';
import type { AlertStore } from './alerts.js';
import type { JudgeStore } from './judge.js';
import type { AnalyticsSqlResult } from './clickhouse/analytics-sql.js';
import type { TenancyStore } from './tenancy.js';
import type { UserStore } from './users.js';

export type ApiKeyScope = 'ingest' | 'read' | 'admin';

export interface Organization {
  id: string;
  name: string;
  created_at: Date;
}

export interface ApiKeyRecord {
  id: string;
  org_id: string;
  /** The first characters of the key, shown in listings. */
  prefix: string;
  scopes: ApiKeyScope[];
  expires_at: Date | null;
  revoked_at: Date | null;
}

/** An organization's stored evaluation policy (the document as saved; parse it before use). */
export interface StoredPolicy {
  document: unknown;
  /** 1 for the first save, one more for every later save */
  version: number;
  updated_at: Date;
}

export interface RelationalStore extends TenancyStore {
  readonly kind: 'postgres' | 'pglite';
  /** People who sign in to the console: users, memberships, sessions, invitations (users.ts). */
  readonly users: UserStore;
  /** Applies the numbered migrations in sql/postgres that have not been applied yet. */
  migrate(): Promise<void>;
  /** Inserts or replaces traces by (org_id, trace_id): a trace delivered twice lands once. */
  upsertTraces(traces: Trace[]): Promise<void>;
  getTrace(orgId: string, traceId: string): Promise<Trace | null>;
  /** Inserts or replaces verdicts by (org_id, trace_id). */
  upsertVerdicts(verdicts: Verdict[]): Promise<void>;
  getVerdict(orgId: string, traceId: string): Promise<Verdict | null>;
  /**
   * Inserts or replaces tier results by (org_id, evaluation_id): a result delivered twice lands once,
   * the later delivery replacing the earlier.
   */
  upsertEvaluations(results: TierResult[]): Promise<void>;
  /** The tier results of one trace, ordered by tier (empty when there are none). */
  getEvaluations(orgId: string, traceId: string): Promise<TierResult[]>;
  /** The organization's policy, or null when it never saved one (use the default policy then). */
  getPolicy(orgId: string): Promise<StoredPolicy | null>;
  /**
   * Saves the organization's policy (a JSON object, already validated by the caller: the store does
   * not interpret it) and returns the new version, one more than the previous one.
   */
  putPolicy(orgId: string, document: unknown): Promise<Omit<StoredPolicy, 'document'>>;
  /** Creates the organization if it does not exist (by id); returns it. `operator` is set when given. */
  ensureOrganization(id: string, name: string, options?: { operator?: boolean }): Promise<Organization>;
  /** Stores a key by its SHA-256 hash (idempotent for the same hash). */
  putApiKey(key: { id: string; org_id: string; hash: string; prefix: string; scopes: ApiKeyScope[]; expires_at?: Date | null }): Promise<void>;
  /** The key with this SHA-256 hash (and the hash as stored, for a constant-time check), or null. */
  findApiKeyByHash(hash: string): Promise<(ApiKeyRecord & { hash: string }) | null>;
  /**
   * The positions of the records that were deleted after they were received (a trace deleted by id,
   * or a user's data deleted), so a sink drops them instead of writing them again. A record with
   * `received_at` is dropped when its trace id or user id was deleted at or after that time; one
   * without (a verdict, a tier result) when its trace id was deleted and no trace with that id is
   * stored now. Any record received (else made) before its organization's retention watermark is
   * dropped too. A trace ref dropped for its user's deletion leaves a tombstone of its trace id, so
   * its verdict and tier results are dropped wherever they arrive. The upserts above apply it
   * themselves; the facts sinks call it (before their insert, and again after it).
   */
  deletedRecords(refs: DeletionRef[]): Promise<Set<number>>;
  /** Resolves when the store answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
  /** Alert rules, channels, silences, routing, state and history (alerts.ts). */
  readonly alerts: AlertStore;
  /** The LLM judge's providers, daily spend, cache and pending judgments (judge.ts). */
  readonly judge: JudgeStore;
}

/** What identifies a record for `deletedRecords`. */
export interface DeletionRef {
  org_id: string;
  trace_id: string;
  user_id?: string | null | undefined;
  /** epoch milliseconds the trace was received; absent for verdicts and tier results */
  received_at?: number | undefined;
  /** epoch milliseconds a verdict or tier result was made (decided_at, evaluated_at), for the retention watermark */
  made_at?: number | undefined;
}

/** One row of trace facts (ClickHouse `trace_facts_v1`). */
export interface TraceFact {
  org_id: string;
  trace_id: string;
  /** epoch milliseconds */
  timestamp: number;
  /** epoch milliseconds */
  received_at: number;
  application: string;
  environment: string;
  model_provider: string;
  model_name: string;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  latency_ms: number;
  user_id: string;
  /** the trace's session id ('' for none); absent: '' (column added by 0007) */
  session_id?: string;
  /** days to keep the row (the org's retention); the table's default (90) when absent */
  retention_days?: number;
}

/**
 * One row of evaluation facts (ClickHouse `evaluation_facts_v1`): one tier's result on one trace.
 * `toEvaluationFact(tierResult)` builds it.
 */
export interface EvaluationFact {
  /** the TierResult's deterministic id (trace id + tier): a redelivered result collapses to one row */
  evaluation_id: string;
  org_id: string;
  trace_id: string;
  tier: number;
  /** epoch milliseconds */
  evaluated_at: number;
  /** epoch milliseconds: the trace's own timestamp (partitioning follows it; retention follows evaluated_at) */
  trace_timestamp: number;
  passed: boolean;
  severity: Severity;
  score: number;
  latency_us: number;
  /** modules that ran, in order */
  modules: string[];
  failed_modules: string[];
  /** finding kinds of all modules, de-duplicated */
  finding_kinds: string[];
  /** days to keep the row; the table's default (90) when absent */
  retention_days?: number;
}

/**
 * One row of module result facts (ClickHouse `module_result_facts_v1`): one module's result within
 * one tier result. `toModuleResultFacts(tierResult)` builds one per module.
 */
export interface ModuleResultFact {
  /** the TierResult's id: with `module`, the row's key, so a redelivered result collapses */
  evaluation_id: string;
  org_id: string;
  trace_id: string;
  tier: number;
  module: string;
  module_version: string;
  /** epoch milliseconds */
  evaluated_at: number;
  /** epoch milliseconds: the trace's own timestamp (partitioning follows it; retention follows evaluated_at) */
  trace_timestamp: number;
  passed: boolean;
  score: number;
  /** the module's own severity (not the tier's) */
  severity: Severity;
  labels: string[];
  /** the kinds of this module's findings, de-duplicated, in order of first appearance */
  finding_kinds: string[];
  /** the module's own latency */
  latency_us: number;
  /** days to keep the row; the table's default (90) when absent */
  retention_days?: number;
}

export interface FactsStore {
  readonly kind: 'clickhouse' | 'chdb';
  /** Applies the numbered DDL files in sql/clickhouse that have not been applied yet. */
  migrate(): Promise<void>;
  /**
   * Inserts rows in one batch; a row repeated (same org and trace id) collapses to one on merge / FINAL.
   * A row received longer ago than its retention is dropped by the table's TTL.
   */
  insertTraceFacts(rows: TraceFact[]): Promise<void>;
  /** Inserts evaluation rows in one batch; a repeated evaluation_id collapses to one on merge / FINAL. */
  insertEvaluationFacts(rows: EvaluationFact[]): Promise<void>;
  /**
   * Inserts module result rows in one batch; a repeated (evaluation_id, module) collapses to one on
   * merge / FINAL. The per-minute module rollup is fed from them.
   */
  insertModuleResultFacts(rows: ModuleResultFact[]): Promise<void>;
  /**
   * Runs a read query with named parameters ({name:Type} placeholders) and returns JSON rows
   * (JSONEachRow: leave FORMAT out of the SQL; 64-bit integers come back as numbers). Not scoped:
   * for migrations, jobs across organizations and tests. Anything serving one organization reads
   * through `forOrg(orgId)`.
   */
  query<T = Record<string, unknown>>(sql: string, params?: Record<string, unknown>): Promise<T[]>;
  /**
   * The organization's reads: SQL must filter by `{org_id:String}`, which is always bound to `orgId`.
   * Throws a TypeError for an empty orgId.
   */
  forOrg(orgId: string): ScopedFacts;
  /**
   * Applies an organization's retention to the facts it already has (every fact table's
   * `retention_days`, a synchronous mutation); rows past the new retention are dropped by the TTL as
   * the mutation rewrites their parts. Rejects with a RangeError unless `days` is an integer in
   * 1..MAX_RETENTION_DAYS (3650). New rows take the retention the sinks write.
   */
  setRetention(orgId: string, days: number): Promise<void>;
  /**
   * Deletes the facts of these traces of this organization (trace, evaluation and module result
   * facts) from disk, synchronously, and answers how many rows each table held (under FINAL). Another
   * organization's trace with the same id is untouched. An empty list deletes nothing.
   */
  deleteTraces(orgId: string, traceIds: string[]): Promise<FactsDeletion>;
  /**
   * Deletes every fact of the traces whose trace facts carry this user id, within the organization
   * (a data-subject request). Rejects with a TypeError for an empty user id.
   */
  deleteUserData(orgId: string, userId: string): Promise<FactsDeletion>;
  /**
   * Runs an organization's own read-only SQL over its facts, confined by the engine (row policies, a
   * read-only session or user with limits; see clickhouse/analytics-sql.ts). Rejects with an
   * AnalyticsSqlError when the engine refuses the SQL (a 4xx for the caller), a StoreError otherwise.
   */
  analyticsSql(orgId: string, sql: string): Promise<AnalyticsSqlResult>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Rows deleted per fact table (counted under FINAL before the delete: a duplicate counts once). */
export interface FactsDeletion {
  trace_facts: number;
  evaluation_facts: number;
  module_result_facts: number;
}

/** Reads of one organization's facts; see `FactsStore.forOrg`. */
export interface ScopedFacts {
  readonly orgId: string;
  /**
   * A SELECT (or WITH) that references `{org_id:String}`, bound to the scope's organization; other
   * parameters as for `FactsStore.query`. Rejects with a TypeError, sending nothing, when the SQL does
   * not reference it outside comments or when `params` holds its own `org_id`; rejects with a
   * StoreError when a returned row's `org_id` column names another organization.
   */
  query<T = Record<string, unknown>>(sql: string, params?: Record<string, unknown>): Promise<T[]>;
  /** What the facts store holds for the organization, for the compliance report. */
  storedCounts(): Promise<FactsInventory>;
}

/** One fact table's rows of an organization (under FINAL) and the span of their trace timestamps. */
export interface FactsTableInventory {
  rows: number;
  /** epoch milliseconds of the oldest / newest trace timestamp, null without rows */
  oldest: number | null;
  newest: number | null;
  /** the smallest and largest retention the rows carry, null without rows */
  retention_days: { min: number; max: number } | null;
}

/** A per-minute rollup's rows of an organization: counts per module and severity, no user data. */
export interface RollupInventory {
  rows: number;
  /** epoch milliseconds of the oldest / newest minute, null without rows */
  oldest: number | null;
  newest: number | null;
  /** the rollup's fixed retention (its TTL), whatever the organization's */
  retention_days: number;
}

export interface FactsInventory {
  org_id: string;
  trace_facts: FactsTableInventory;
  evaluation_facts: FactsTableInventory;
  module_result_facts: FactsTableInventory;
  rollups: { module_rollup_minute: RollupInventory; evaluation_rollup_minute: RollupInventory };
}
