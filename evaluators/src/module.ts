/**
 * The evaluation module contract. A module is a pure function of a trace and its configuration: no
 * I/O, no clock other than what it is given, no mutation of the trace. `evaluate` returns the
 * module's conclusion without timing; the tier measures `latency_us` and catches throws (a throwing
 * module yields a `module_error` result and the tier goes on).
 */
import type { Finding, FindingField, ModuleResult, Severity, Trace } from '@metronis/schemas';
import type { z } from 'zod';
import type { ExaminedChars } from './bounds.js';
import type { SharedText } from './shared-text.js';

/** What `evaluate` returns: a ModuleResult without the fields the tier fills in. */
export type ModuleOutcome = Omit<ModuleResult, 'module' | 'version' | 'latency_us'>;

export interface EvaluationModule<C extends z.ZodType = z.ZodType> {
  name: string;
  /** Semver; bump it when the detector's behaviour changes so facts stay comparable. */
  version: string;
  description: string;
  /** The module's per-org configuration; `configSchema.parse({})` must give the defaults. */
  configSchema: C;
  /** Characters of each field the runner lets it see, where not `MAX_EXAMINED_CHARS` (bounds.ts). */
  examines?: ExaminedChars;
  /**
   * `shared`: the trace's text work shared between modules (shared-text.ts); the runner gives one per
   * trace, and a module called without it makes its own (same findings either way).
   */
  evaluate(trace: Trace, config: z.output<C>, shared?: SharedText): ModuleOutcome;
}

/** Helper to declare a module with its config type inferred. */
export function defineModule<C extends z.ZodType>(module: EvaluationModule<C>): EvaluationModule<C> {
  return module;
}

export function finding(kind: string, message: string, field: FindingField, start: number | null = null, end: number | null = null, confidence: number | null = null): Finding {
  return { kind, message, field, start, end, confidence };
}

const RANK: Record<Severity, number> = { none: 0, low: 1, medium: 2, high: 3, critical: 4 };
export function maxSeverity(...severities: Severity[]): Severity {
  let worst: Severity = 'none';
  for (const s of severities) if (RANK[s] > RANK[worst]) worst = s;
  return worst;
}
export function severityRank(s: Severity): number {
  return RANK[s];
}

/** Score lost per finding of each severity; each module keeps its own table. */
export type Penalties = Readonly<Record<Severity, number>>;

/**
 * A module's outcome from its findings and their severities: the worst severity; a score of 1 less
 * each finding's penalty (0..1, three decimals); passed while nothing is medium or worse; labelled
 * with the distinct kinds found.
 */
export function gradeFindings(found: ReadonlyArray<{ f: Finding; s: Severity }>, penalties: Penalties): ModuleOutcome {
  const severity = maxSeverity(...found.map((x) => x.s));
  let score = 1;
  for (const x of found) score -= penalties[x.s];
  return {
    passed: severity === 'none' || severity === 'low',
    score: Math.max(0, Math.round(score * 1000) / 1000),
    severity,
    labels: [...new Set(found.map((x) => x.f.kind))],
    findings: found.map((x) => x.f),
  };
}
