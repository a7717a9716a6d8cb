/**
 * The rows of the live channel: the search API's `TraceSummary` built from the records on the log (a
 * trace, then its verdict), and the viewer's filter over them. A row's verdict fields stay null until
 * the verdict arrives; a filter on them does not match before.
 */
import { inputText, SEVERITIES, type Severity, type Trace, type Verdict } from '@metronis/schemas';
import { z } from 'zod';

/** What the traces page shows per trace (the search API's TraceSummary). */
export interface TraceSummary {
  trace_id: string;
  timestamp: string | null;
  received_at: string | null;
  application: string | null;
  environment: string | null;
  model: { provider: string | null; name: string | null } | null;
  user_id: string | null;
  session_id: string | null;
  tags: string[];
  severity: Severity | null;
  passed: boolean | null;
  score: number | null;
  finding_kinds: string[];
  failed_modules: string[];
  decided_by_tier: number | null;
  preview: { input: string; output: string } | null;
}

export const PREVIEW_CHARS = 200;

const preview = (text: string) => (text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS - 1)}…` : text);

export function rowOfTrace(trace: Trace): TraceSummary {
  return {
    trace_id: trace.trace_id,
    timestamp: new Date(trace.timestamp).toISOString(),
    received_at: new Date(trace.received_at).toISOString(),
    application: trace.application,
    environment: trace.environment,
    model: trace.model === null ? null : { provider: trace.model.provider, name: trace.model.name },
    user_id: trace.user_id,
    session_id: trace.session_id,
    tags: trace.tags,
    severity: null,
    passed: null,
    score: null,
    finding_kinds: [],
    failed_modules: [],
    decided_by_tier: null,
    preview: { input: preview(inputText(trace)), output: preview(trace.output.content) },
  };
}

/** The row with the verdict's fields; `row` is null when the trace was not seen (its fields stay unknown). */
export function withVerdict(row: TraceSummary | null, verdict: Verdict): TraceSummary {
  const base: TraceSummary = row ?? {
    trace_id: verdict.trace_id,
    timestamp: null,
    received_at: null,
    application: verdict.application,
    environment: verdict.environment,
    model: null,
    user_id: null,
    session_id: null,
    tags: [],
    severity: null,
    passed: null,
    score: null,
    finding_kinds: [],
    failed_modules: [],
    decided_by_tier: null,
    preview: null,
  };
  return { ...base, severity: verdict.severity, passed: verdict.passed, score: verdict.score, finding_kinds: verdict.finding_kinds, failed_modules: verdict.failed_modules, decided_by_tier: verdict.tier };
}

const text = z.string().min(1).max(1000).optional();
const booleanText = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).optional();

/** The live subset of the search API's filters (time range and sorting do not apply to what is new). */
export const liveFilterSchema = z.strictObject({
  application: text,
  environment: text,
  model_provider: text,
  model_name: text,
  user_id: text,
  session_id: text,
  tag: text,
  severity_at_least: z.enum(SEVERITIES as [Severity, ...Severity[]]).optional(),
  severity: z.enum(SEVERITIES as [Severity, ...Severity[]]).optional(),
  passed: booleanText,
  failed_module: text,
  finding_kind: text,
  decided_by_tier: z.coerce.number().int().min(1).max(3).optional(),
  q: text,
});
export type LiveFilter = z.output<typeof liveFilterSchema>;

const rank = (s: Severity) => SEVERITIES.indexOf(s);

export function matches(row: TraceSummary, f: LiveFilter): boolean {
  if (f.application !== undefined && row.application !== f.application) return false;
  if (f.environment !== undefined && row.environment !== f.environment) return false;
  if (f.model_provider !== undefined && row.model?.provider !== f.model_provider) return false;
  if (f.model_name !== undefined && row.model?.name !== f.model_name) return false;
  if (f.user_id !== undefined && row.user_id !== f.user_id) return false;
  if (f.session_id !== undefined && row.session_id !== f.session_id) return false;
  if (f.tag !== undefined && !row.tags.includes(f.tag)) return false;
  if (f.severity_at_least !== undefined && (row.severity === null || rank(row.severity) < rank(f.severity_at_least))) return false;
  if (f.severity !== undefined && row.severity !== f.severity) return false;
  if (f.passed !== undefined && row.passed !== f.passed) return false;
  if (f.failed_module !== undefined && !row.failed_modules.includes(f.failed_module)) return false;
  if (f.finding_kind !== undefined && !row.finding_kinds.includes(f.finding_kind)) return false;
  if (f.decided_by_tier !== undefined && row.decided_by_tier !== f.decided_by_tier) return false;
  if (f.q !== undefined) {
    const q = f.q.toLowerCase();
    const haystack = `${row.trace_id}\n${row.preview?.input ?? ''}\n${row.preview?.output ?? ''}`.toLowerCase();
    if (!haystack.includes(q)) return false;
  }
  return true;
}
