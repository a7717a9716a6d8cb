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
