/**
 * Trace search in the relational store: what `OrgScope.searchTraces` takes and answers. Every filter
 * is optional and they all must match; the page is the `limit` rows after `after` in the chosen order
 * (keyset pagination: the caller passes the last row's key, never an offset).
 */
import type { Severity } from '@metronis/schemas';

export type TraceSort = 'time' | 'severity';
export type SortOrder = 'desc' | 'asc';

/** Where a page starts: the sort key of the last row of the previous page. */
export interface TraceSearchKey {
  /** -1 (no verdict yet) .. 4 (critical); only for sort = severity */
  severity_rank?: number;
  /** epoch milliseconds */
  timestamp: number;
  trace_id: string;
}

export interface TraceSearch {
  /** epoch milliseconds, inclusive */
  from?: number | undefined;
  /** epoch milliseconds, exclusive */
  to?: number | undefined;
  application?: string | undefined;
  environment?: string | undefined;
  model_provider?: string | undefined;
  model_name?: string | undefined;
  user_id?: string | undefined;
  session_id?: string | undefined;
  /** every one must be among the trace's tags */
  tags?: readonly string[] | undefined;
  /** every key must hold exactly this value in the trace's metadata */
  metadata?: Readonly<Record<string, string>> | undefined;
  severity?: Severity | undefined;
  severity_at_least?: Severity | undefined;
  passed?: boolean | undefined;
  failed_module?: string | undefined;
  finding_kind?: string | undefined;
  decided_by_tier?: number | undefined;
  /** full-text search over input and output (websearch syntax: words, "phrases", -excluded, or) */
  text?: string | undefined;
  sort: TraceSort;
  order: SortOrder;
  /** 1..1000 */
  limit: number;
  after?: TraceSearchKey | undefined;
}

/** One row of a search: the trace's summary, never the whole trace. */
export interface TraceSummaryRow {
  trace_id: string;
  /** epoch milliseconds */
  timestamp: number;
  received_at: number;
  application: string | null;
  environment: string | null;
  model_provider: string | null;
  model_name: string | null;
  user_id: string | null;
  session_id: string | null;
  /** null while the verdict has not arrived (and then severity_rank is -1) */
  severity: Severity | null;
  severity_rank: number;
  passed: boolean | null;
  score: number | null;
  decided_by_tier: number | null;
  finding_kinds: string[];
  failed_modules: string[];
  /** the first 200 characters of the input (chat messages joined by blank lines) and the output */
  preview: { input: string; output: string };
}

export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { none: 0, low: 1, medium: 2, high: 3, critical: 4 };

/** Characters of input and output a summary shows. */
export const PREVIEW_CHARS = 200;

/**
 * A list of sessions (`OrgScope.listSessions`): the organization's traces that carry a session id,
 * grouped by it, the most recently active session first. The filters choose the traces (so a session's
 * counts are of its traces that match); `failed` keeps the sessions with (true) or without (false) a
 * failed trace. Keyset paging on (last trace time, session id), both descending.
 */
export interface SessionSearch {
  /** epoch milliseconds, inclusive: traces at or after */
  from?: number | undefined;
  /** epoch milliseconds, exclusive */
  to?: number | undefined;
  application?: string | undefined;
  environment?: string | undefined;
  user_id?: string | undefined;
  failed?: boolean | undefined;
  /** 1..1000 */
  limit: number;
  after?: { last_at: number; session_id: string } | undefined;
}

export interface SessionSummaryRow {
  session_id: string;
  /** epoch milliseconds of its first and last trace */
  first_at: number;
  last_at: number;
  traces: number;
  /** traces whose verdict failed, and traces still without a verdict */
  failed: number;
  pending: number;
  /** the worst severity among its verdicts; null when none has arrived */
  worst_severity: Severity | null;
  /** the distinct applications and users of its traces, sorted */
  applications: string[];
  user_ids: string[];
}
