/** Shapes of the console API's answers that the pages read. */
export type Severity = 'none' | 'low' | 'medium' | 'high' | 'critical';
export const SEVERITIES: Severity[] = ['none', 'low', 'medium', 'high', 'critical'];
export type Role = 'viewer' | 'member' | 'admin';

export interface SessionView {
  user: { id: string; email: string; name: string; has_password: boolean };
  organization: { id: string; name: string };
  role: Role;
  scopes: string[];
  memberships: Array<{ org_id: string; org_name: string; role: Role }>;
  csrf_token: string;
  expires_at: string;
}

/** The search API's TraceSummary, and what the live channel pushes. */
export interface TraceSummary {
  trace_id: string;
  timestamp: string | null;
  received_at: string | null;
  application: string | null;
  environment: string | null;
  model: { provider: string | null; name: string | null } | null;
  user_id: string | null;
  session_id: string | null;
  severity: Severity | null;
  passed: boolean | null;
  score: number | null;
  finding_kinds: string[];
  failed_modules: string[];
  decided_by_tier: number | null;
  preview: { input: string; output: string } | null;
}

export interface Finding {
  kind: string;
  message: string;
  field: 'input' | 'output' | 'context';
  start: number | null;
  end: number | null;
  confidence: number | null;
}

export interface ModuleResult {
  module: string;
  version: string;
  passed: boolean;
  score: number;
  severity: Severity;
  labels: string[];
  findings: Finding[];
  latency_us: number;
}

export interface TierResult {
  evaluation_id: string;
  tier: number;
  evaluated_at: number;
  passed: boolean;
  severity: Severity;
  score: number;
  modules: ModuleResult[];
  latency_us: number;
}

export interface Verdict {
  trace_id: string;
  tier: number;
  decided_at: number;
  passed: boolean;
  severity: Severity;
  score: number;
  finding_kinds: string[];
  failed_modules: string[];
}

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

/** GET /v1/sessions: one session in the list. */
export interface SessionSummary {
  session_id: string;
  first_at: string;
  last_at: string;
  traces: number;
  failed: number;
  pending: number;
  worst_severity: Severity | null;
  applications: string[];
  user_ids: string[];
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
