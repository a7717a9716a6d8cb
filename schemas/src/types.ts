/**
 * TypeScript shapes of the Avro records in `schemas/avro/`. They are checked against the schemas by
 * `schemas/test/avro.test.ts` (every field on both sides, and a full record validates), so a field
 * added to one side only fails the tests.
 */

export type Severity = 'none' | 'low' | 'medium' | 'high' | 'critical';
export const SEVERITIES: readonly Severity[] = ['none', 'low', 'medium', 'high', 'critical'];
export type ExpectedFormat = 'text' | 'json' | 'markdown';
export type FindingField = 'input' | 'output' | 'context';

export interface ModelInfo {
  provider: string | null;
  name: string | null;
  parameters_json: string | null;
}

export interface Message {
  role: string;
  content: string;
}

export interface TraceInput {
  text: string | null;
  messages: Message[];
}

export interface TraceOutput {
  content: string;
  finish_reason: string | null;
}

export interface ContextDocument {
  id: string | null;
  content: string;
  source: string | null;
  score: number | null;
}

export interface Usage {
  input_tokens: number | null;
  output_tokens: number | null;
  cost_usd: number | null;
}

export interface Trace {
  trace_id: string;
  org_id: string;
  /** epoch milliseconds */
  received_at: number;
  /** epoch milliseconds */
  timestamp: number;
  application: string | null;
  environment: string | null;
  model: ModelInfo | null;
  input: TraceInput;
  output: TraceOutput;
  expected_format: ExpectedFormat | null;
  json_schema_json: string | null;
  context: ContextDocument[];
  reference: string | null;
  usage: Usage | null;
  latency_ms: number | null;
  user_id: string | null;
  session_id: string | null;
  metadata: Record<string, string>;
  tags: string[];
  pii_masked: boolean;
}

export interface Finding {
  kind: string;
  message: string;
  field: FindingField;
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
  /** The module's reasoning in words (tier 3's judge); optional, null from the other modules. */
  rationale?: string | null;
}

export interface TierResult {
  evaluation_id: string;
  trace_id: string;
  org_id: string;
  tier: number;
  evaluated_at: number;
  trace_timestamp: number;
  passed: boolean;
  severity: Severity;
  score: number;
  modules: ModuleResult[];
  latency_us: number;
  /**
   * Copied from the trace for alert rules over module scores. Optional here (defaulted in the Avro
   * schema) so producers built before alerts still compile and their records decode with null / [].
   */
  application?: string | null;
  environment?: string | null;
  model_provider?: string | null;
  model_name?: string | null;
  tags?: string[];
}

export interface Escalation {
  trace: Trace;
  results: TierResult[];
  target_tier: number;
  reason: string;
}

export interface Verdict {
  trace_id: string;
  org_id: string;
  tier: number;
  decided_at: number;
  passed: boolean;
  severity: Severity;
  score: number;
  finding_kinds: string[];
  failed_modules: string[];
  application: string | null;
  environment: string | null;
  /** Copied from the trace for alert rules; optional for the same reason as TierResult's. */
  model_provider?: string | null;
  model_name?: string | null;
  tags?: string[];
  /**
   * How the verdict was reached when a tier could not run (tier 3: `judge_pending`,
   * `not_judged:budget_exhausted`, ...); optional, empty from earlier producers.
   */
  labels?: string[];
}

export type AlertKind = 'per_event' | 'aggregate';
export type AlertStatus = 'firing' | 'resolved';

/** An alert rule's conclusion at one moment (schemas/avro/Alert.avsc), on metronis.alerts.v1. */
export interface Alert {
  alert_id: string;
  org_id: string;
  rule_id: string;
  rule_version: number;
  kind: AlertKind;
  status: AlertStatus;
  severity: Severity;
  fingerprint: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** epoch milliseconds */
  starts_at: number;
  /** epoch milliseconds */
  ends_at: number;
  trace_id: string | null;
  value: number | null;
  threshold: number | null;
  volume: number | null;
  /** epoch milliseconds */
  generated_at: number;
}

/** The record types by schema name, so topic definitions can name their value type once. */
export interface RecordTypes {
  Trace: Trace;
  ModuleResult: ModuleResult;
  TierResult: TierResult;
  Escalation: Escalation;
  Verdict: Verdict;
  Alert: Alert;
}
export type SchemaName = keyof RecordTypes;

/** The text a module reads: the prompt as one string (chat messages joined by blank lines). */
export function inputText(trace: Pick<Trace, 'input'>): string {
  if (trace.input.text !== null) return trace.input.text;
  return trace.input.messages.map((m) => m.content).join('\n\n');
}
