/**
 * Tenancy in the relational store: organizations, API keys, the audit log, deletions and retention.
 *
 * Every read or change of one organization's data goes through an `OrgScope` (`store.forOrg(orgId)`):
 * its methods take no organization argument, so a handler holding a scope cannot reach another
 * organization's rows, and an endpoint added later cannot forget the filter. Admin changes take an
 * `Actor` and append their audit entry in the same transaction as the change.
 */
import type { TierResult, Trace, Verdict } from '@metronis/schemas';
import type { SessionSearch, SessionSummaryRow, TraceSearch, TraceSummaryRow } from './search.js';
import type { ApiKeyRecord, ApiKeyScope, StoredPolicy } from './types.js';

/** Who did something: the API key id (or `cli`), and the HTTP request id when there is one. */
export interface Actor {
  keyId: string;
  requestId?: string | undefined;
}

export interface OrganizationRecord {
  id: string;
  name: string;
  created_at: Date;
  /** days that traces, verdicts, evaluations and facts are kept */
  retention_days: number;
  /** the org's own rate limits as saved (validated by the API), or null for the deployment's defaults */
  rate_limits: Record<string, number> | null;
  /** an operator organization's admin keys may create organizations */
  operator: boolean;
}

/** A key as an admin sees it in a listing: never the key, nor its hash. */
export interface ApiKeyView extends ApiKeyRecord {
  name: string;
  created_at: Date;
  created_by: string | null;
}

export interface NewApiKey {
  id: string;
  /** hex SHA-256 of the key */
  hash: string;
  prefix: string;
  name: string;
  scopes: ApiKeyScope[];
  expires_at: Date | null;
}

/** Audit actions, stable: clients filter on them. */
export const AUDIT_ACTIONS = [
  'organization.created',
  'key.created',
  'key.revoked',
  'policy.changed',
  'retention.changed',
  'rate_limits.changed',
  'trace.deleted',
  'user_data.deleted',
  'replay.started',
  'alert_rule.created',
  'alert_rule.changed',
  'alert_rule.deleted',
  'alert_channel.created',
  'alert_channel.changed',
  'alert_channel.deleted',
  'alert_silence.created',
  'alert_silence.expired',
  'alert_routing.changed',
  // the LLM judge's provider (topologies/tier3)
  'judge.configured',
  'judge.removed',
  // people in the console (users.ts)
  'member.added',
  'member.role_changed',
  'member.removed',
  'member.invited',
  'member.joined',
  'invitation.revoked',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditEntry {
  id: number;
  org_id: string;
  at: Date;
  actor: string;
  action: AuditAction;
  target: string;
  request_id: string | null;
  details: Record<string, unknown>;
}

export interface AuditQuery {
  action?: AuditAction | undefined;
  actor?: string | undefined;
  target?: string | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
  /** entries with a smaller id only (the `next_cursor` of the previous page) */
  beforeId?: number | undefined;
  /** 1..1000 */
  limit: number;
}

/** Rows removed from Postgres by one deletion. */
export interface PostgresDeletion {
  traces: number;
  verdicts: number;
  evaluations: number;
}

export type DeletionKind = 'trace' | 'user' | 'retention';

export interface DeletionRecord {
  id: number;
  at: Date;
  kind: DeletionKind;
  subject: string;
  actor: string;
  request_id: string | null;
  /** what was removed, by store and table */
  deleted: Record<string, unknown>;
}

export interface StoredCounts extends PostgresDeletion {
  /** epoch ms of the oldest and newest stored trace timestamp, null when none */
  oldest_trace: number | null;
  newest_trace: number | null;
}

/** One organization's data. Obtain with `store.forOrg(orgId)`. */
export interface OrgScope {
  readonly orgId: string;
  getOrganization(): Promise<OrganizationRecord | null>;
  getTrace(traceId: string): Promise<Trace | null>;
  getVerdict(traceId: string): Promise<Verdict | null>;
  getEvaluations(traceId: string): Promise<TierResult[]>;
  /** One page of this organization's trace summaries matching every filter (see search.ts). */
  searchTraces(query: TraceSearch): Promise<TraceSummaryRow[]>;
  /** One page of this organization's sessions, the most recently active first (see search.ts). */
  listSessions(query: SessionSearch): Promise<SessionSummaryRow[]>;
  getPolicy(): Promise<StoredPolicy | null>;
  /** Saves the policy (validated by the caller) and audits `policy.changed`. */
  putPolicy(document: unknown, actor: Actor): Promise<Omit<StoredPolicy, 'document'>>;
  listApiKeys(): Promise<ApiKeyView[]>;
  /** Stores a new key of this organization and audits `key.created`. */
  createApiKey(key: NewApiKey, actor: Actor): Promise<ApiKeyView>;
  /**
   * Revokes a key of this organization (now) and audits `key.revoked`; null when the organization has
   * no key with that id. Revoking a revoked key changes nothing and answers it as it is.
   */
  revokeApiKey(keyId: string, actor: Actor): Promise<ApiKeyView | null>;
  /** Sets the retention in days and audits `retention.changed`; null when the organization is missing. */
  setRetention(days: number, actor: Actor): Promise<OrganizationRecord | null>;
  /** Sets (or with null clears) the org's rate limits and audits `rate_limits.changed`. */
  setRateLimits(limits: Record<string, number> | null, actor: Actor): Promise<OrganizationRecord | null>;
  /**
   * Deletes the trace, its verdict and its evaluations, and leaves a tombstone of its id (also when
   * nothing was stored yet: a trace still on its way never appears). Not audited here: see `recordDeletion`.
   */
  deleteTrace(traceId: string): Promise<PostgresDeletion>;
  /** `deleteTrace` for several ids in one transaction. */
  deleteTraces(traceIds: string[]): Promise<PostgresDeletion>;
  /** Deletes every trace of the user with their verdicts and evaluations; returns the trace ids too. */
  deleteUserData(userId: string): Promise<PostgresDeletion & { trace_ids: string[] }>;
  /** Records a deletion done (for the compliance report) and audits it, in one transaction. */
  recordDeletion(kind: Exclude<DeletionKind, 'retention'>, subject: string, deleted: Record<string, unknown>, actor: Actor): Promise<DeletionRecord>;
  listDeletions(limit: number): Promise<{ total: number; recent: DeletionRecord[] }>;
  /** Appends an audit entry for an action whose effect is not in Postgres (a replay, for example). */
  audit(action: AuditAction, target: string, details: Record<string, unknown>, actor: Actor): Promise<AuditEntry>;
  listAudit(query: AuditQuery): Promise<AuditEntry[]>;
  storedCounts(): Promise<StoredCounts>;
}

export interface NewOrganization {
  id: string;
  name: string;
  retention_days?: number;
  operator?: boolean;
}

/** What a retention pass removed from one organization. */
export interface RetentionResult extends PostgresDeletion {
  org_id: string;
  /** rows older than this (epoch ms) were removed */
  cutoff: number;
}

export interface TenancyStore {
  forOrg(orgId: string): OrgScope;
  /**
   * Creates an organization and audits `organization.created` under the acting key's organization
   * (and under the new one). Throws `ConflictError` when the id is taken.
   */
  createOrganization(org: NewOrganization, actor: Actor & { orgId: string }): Promise<OrganizationRecord>;
  /**
   * One retention pass: for each organization, moves its retention watermark up to the cutoff (so
   * the sinks never write again what was received before it), then deletes traces received before
   * the cutoff (with their verdicts and evaluations) and verdicts and evaluations made before it whose
   * trace is gone, in batches of `batchSize` rows, at most `maxBatches` per org and table, recording
   * what it removed. Keyed on when Metronis received a trace, never on the client's `timestamp`.
   */
  enforceRetention(options: { now: number; batchSize: number; maxBatches: number }): Promise<RetentionResult[]>;
}
