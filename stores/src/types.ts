/**
 * What the rest of Metronis needs from its two stores. Each has two implementations running the same
 * SQL: the relational store on PostgreSQL (postgres.js) or PGlite, the facts store on a ClickHouse
 * server (@clickhouse/client) or chDB. Every method is scoped by organization where data is read.
 */
import type { Severity, TierResult, Trace, Verdict } from '@metronis/schemas';
import type { TenancyStore } from './tenancy.js';

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
  /** The key with this SHA-256 hash, or null. */
  findApiKeyByHash(hash: string): Promise<ApiKeyRecord | null>;
  /** Resolves when the store answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
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
  /** epoch milliseconds: the trace's own timestamp (partitioning and retention follow it) */
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
  /** epoch milliseconds: the trace's own timestamp (partitioning and retention follow it) */
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
   * A row whose timestamp is already past its retention is dropped by the table's TTL.
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
   * (JSONEachRow: leave FORMAT out of the SQL; 64-bit integers come back as numbers).
   */
  query<T = Record<string, unknown>>(sql: string, params?: Record<string, unknown>): Promise<T[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
