/**
 * Shapes of the console API's answers that the pages read. The records' own types (severity, findings,
 * module and tier results, verdicts) come from @metronis/schemas and the list rows from
 * @metronis/console, as types only: nothing of those packages is bundled (SEVERITIES is the one value
 * repeated here, since the schemas package's entry also loads Node-only modules).
 */
import type { ROLE_SCOPES, TraceSummary as LiveRow } from '@metronis/console';
import type { Severity } from '@metronis/schemas';

export type { Finding, ModuleResult, Severity, TierResult, Verdict } from '@metronis/schemas';
export type { SessionSummary } from '@metronis/console';
import type { TierResult, Verdict } from '@metronis/schemas';

export const SEVERITIES: readonly Severity[] = ['none', 'low', 'medium', 'high', 'critical'];
export type Role = keyof typeof ROLE_SCOPES;

export interface SessionView {
  user: { id: string; email: string; name: string; has_password: boolean };
  organization: { id: string; name: string };
  role: Role;
  scopes: string[];
  memberships: Array<{ org_id: string; org_name: string; role: Role }>;
  csrf_token: string;
  expires_at: string;
}

/** A row of the search API and of the live channel (the live row's tags are not in the search API's rows). */
export type TraceSummary = Omit<LiveRow, 'tags'>;

export interface PublicTrace {
  trace_id: string;
  timestamp: string;
  received_at: string;
  application: string | null;
  environment: string | null;
  model: { provider: string | null; name: string | null; parameters: unknown } | null;
  input: string | { messages: Array<{ role: string; content: string }> };
  output: { content: string; finish_reason: string | null };
  context: Array<{ id: string | null; content: string; source: string | null; score: number | null }>;
  reference: string | null;
  usage: { input_tokens: number | null; output_tokens: number | null; cost_usd: number | null } | null;
  latency_ms: number | null;
  user_id: string | null;
  session_id: string | null;
  metadata: Record<string, string>;
  tags: string[];
  pii_masked: boolean;
}

export interface TraceDetail {
  trace: PublicTrace;
  verdict: Verdict | null;
  evaluations: TierResult[];
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  created_at: string;
  created_by: string | null;
  expires_at: string | null;
  revoked_at: string | null;
}

export interface Organization {
  id: string;
  name: string;
  retention_days: number;
  rate_limits: Record<string, number> | null;
  operator: boolean;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  request_id: string | null;
  details: Record<string, unknown>;
}

export interface Member {
  id: string;
  email: string;
  name: string;
  role: Role;
  joined_at: string;
  has_password: boolean;
}

export interface Invitation {
  id: string;
  email: string;
  role: Role;
  created_at: string;
  expires_at: string;
  accepted_at: string | null;
  revoked_at: string | null;
}

export type SeverityMix = Record<Severity, number>;

/** GET /v1/analytics/traces */
export interface TracesSeries {
  from: string;
  to: string;
  bucket: 'minute' | 'hour' | 'day' | 'none';
  items: Array<{ time: string | null; traces: number; evaluated: number; failed: number; failure_rate: number | null; severity: SeverityMix }>;
}

/** GET /v1/analytics/finding-kinds */
export interface FindingKinds {
  items: Array<{ time: string | null; finding_kind: string; traces: number; results: number; modules: string[] }>;
}

type Percentiles = { p50: number | null; p95: number | null; total: number };

/** GET /v1/analytics/models */
export interface ModelsTable {
  items: Array<{
    model: { provider: string | null; name: string | null };
    traces: number;
    latency_ms: { p50: number | null; p95: number | null; p99: number | null };
    input_tokens: Percentiles;
    output_tokens: Percentiles;
    cost_usd: Percentiles;
  }>;
}

/** The alerts API (GET /v1/alerts…). Dates are ISO 8601 strings in JSON. */
export interface AlertInstance {
  id: string;
  fingerprint: string;
  rule_id: string;
  kind: string;
  severity: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: 'firing' | 'resolved';
  starts_at: string;
  ends_at: string;
  last_seen_at: string;
  resolved_at: string | null;
  occurrences: number;
  trace_ids: string[];
  value: number | null;
  threshold: number | null;
  volume: number | null;
}

export interface DeliveryAttempt {
  attempt: number;
  at: string;
  outcome: string;
  status_code: number | null;
  response: string | null;
  error: string | null;
  latency_ms: number;
}

export interface Delivery {
  id: number;
  notification_id: string;
  group_key: string | null;
  channel_id: string;
  channel_type: string;
  kind: string;
  status: string;
  status_summary: string | null;
  /** the alerts the notification carried */
  alert_fingerprints: string[];
  attempts: DeliveryAttempt[];
  created_at: string;
  delivered_at: string | null;
  last_error: string | null;
}

export interface Matcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

export interface Silence {
  id: string;
  matchers: Matcher[];
  starts_at: string;
  ends_at: string;
  comment: string;
  created_by: string;
  created_at: string;
  state: 'active' | 'pending' | 'expired';
}

export interface StoredRule {
  id: string;
  rule: { name: string; kind: 'per_event' | 'aggregate'; enabled: boolean; description?: string; severity?: string; source: string; when: Record<string, unknown>; channels: string[]; measure?: string; op?: string; threshold?: number; window?: string };
  version: number;
  created_at: string;
  updated_at: string;
}

export interface Channel {
  id: string;
  name: string;
  type: string;
  enabled: boolean;
  disabled_reason: string | null;
}
