/**
 * Rules as pure functions: what a verdict or tier result is to a rule (`subjectOf`), whether it
 * matches (`matchesConditions`), the Alert a per-event rule fires (`perEventAlert`), the observation
 * an aggregate rule records and the series it belongs to (`observationOf`), and whether an aggregate
 * window is over its threshold (`assess`). No I/O: the topology does the reading and writing.
 */
import { SEVERITIES, type Alert, type Severity, type TierResult, type Verdict } from '@metronis/schemas';
import { durationMs, type AggregateRule, type Conditions, type PerEventRule, type Rule } from './documents.js';
import { fingerprintOf, hashOf, normalizeLabels, type Labels } from './labels.js';

/** A verdict or a tier result, as the rules see it. */
export interface Subject {
  source: 'verdict' | 'evaluation';
  /** the record's identity: the trace id (verdict) or evaluation id (tier result) */
  record_id: string;
  trace_id: string;
  org_id: string;
  /** epoch milliseconds the record was decided */
  at: number;
  passed: boolean;
  severity: Severity;
  score: number;
  finding_kinds: string[];
  failed_modules: string[];
  application: string | null;
  environment: string | null;
  model: string | null;
  model_name: string | null;
  tags: string[];
  /** module scores (tier results only) */
  module_scores: Record<string, number>;
}

const modelOf = (provider: string | null | undefined, modelName: string | null | undefined): string | null =>
  modelName === null || modelName === undefined ? null : provider ? `${provider}/${modelName}` : modelName;

export function subjectOfVerdict(v: Verdict): Subject {
  return {
    source: 'verdict',
    record_id: v.trace_id,
    trace_id: v.trace_id,
    org_id: v.org_id,
    at: v.decided_at,
    passed: v.passed,
    severity: v.severity,
    score: v.score,
    finding_kinds: v.finding_kinds,
    failed_modules: v.failed_modules,
    application: v.application,
    environment: v.environment,
    model: modelOf(v.model_provider, v.model_name),
    model_name: v.model_name ?? null,
    tags: v.tags ?? [],
    module_scores: {},
  };
}

export function subjectOfTierResult(r: TierResult): Subject {
  const kinds = new Set<string>();
  for (const m of r.modules) for (const f of m.findings) kinds.add(f.kind);
  return {
    source: 'evaluation',
    record_id: r.evaluation_id,
    trace_id: r.trace_id,
    org_id: r.org_id,
    at: r.evaluated_at,
    passed: r.passed,
    severity: r.severity,
    score: r.score,
    finding_kinds: [...kinds],
    failed_modules: r.modules.filter((m) => !m.passed).map((m) => m.module),
    application: r.application ?? null,
    environment: r.environment ?? null,
    model: modelOf(r.model_provider, r.model_name),
    model_name: r.model_name ?? null,
    tags: r.tags ?? [],
    module_scores: Object.fromEntries(r.modules.map((m) => [m.module, m.score])),
  };
}

const rank = (s: Severity): number => SEVERITIES.indexOf(s);
const anyOf = (wanted: readonly string[] | undefined, have: readonly string[]): boolean => wanted === undefined || wanted.some((w) => have.includes(w));
const oneOf = (wanted: readonly string[] | undefined, value: string | null): boolean => wanted === undefined || (value !== null && wanted.includes(value));

export function matchesConditions(when: Conditions, s: Subject, defaultPassed?: boolean): boolean {
  const passed = when.passed ?? defaultPassed;
  if (passed !== undefined && s.passed !== passed) return false;
  if (when.min_severity !== undefined && rank(s.severity) < rank(when.min_severity)) return false;
  if (!anyOf(when.finding_kinds, s.finding_kinds)) return false;
  if (!anyOf(when.failed_modules, s.failed_modules)) return false;
  if (!oneOf(when.applications, s.application)) return false;
  if (!oneOf(when.environments, s.environment)) return false;
  if (when.models !== undefined && !(oneOf(when.models, s.model) || oneOf(when.models, s.model_name))) return false;
  if (!anyOf(when.tags, s.tags)) return false;
  return true;
}

export interface StoredRule {
  id: string;
  version: number;
  rule: Rule;
}

function baseLabels(orgRule: StoredRule, severity: Severity): Record<string, string> {
  return { alertname: orgRule.rule.name, rule_id: orgRule.id, severity, kind: orgRule.rule.kind };
}

/** The firing Alert of a per-event rule for a matching subject, or null when it does not match. */
export function perEventAlert(stored: StoredRule & { rule: PerEventRule }, s: Subject, now: number): Alert | null {
  const { rule } = stored;
  if (!rule.enabled || rule.source !== s.source || !matchesConditions(rule.when, s, false)) return null;
  const severity = rule.severity ?? s.severity;
  const labels = normalizeLabels({ ...baseLabels(stored, severity), application: s.application, environment: s.environment, model: s.model });
  const annotations = normalizeLabels({
    summary: `${rule.name}: ${s.severity} ${s.source} for trace ${s.trace_id}${s.application ? ` (${s.application})` : ''}`,
    description: rule.description,
    finding_kinds: s.finding_kinds.join(', '),
    failed_modules: s.failed_modules.join(', '),
    score: String(s.score),
  });
  return {
    alert_id: `${stored.id}:${s.record_id}`,
    org_id: s.org_id,
    rule_id: stored.id,
    rule_version: stored.version,
    kind: 'per_event',
    status: 'firing',
    severity,
    fingerprint: fingerprintOf(s.org_id, labels),
    labels,
    annotations,
    starts_at: s.at,
    ends_at: s.at + durationMs(rule.resolve_after),
    trace_id: s.trace_id,
    value: null,
    threshold: null,
    volume: null,
    generated_at: now,
  };
}

/**
 * What an aggregate rule measures, as a hash: observations are kept per measure, so a rule edited to
 * measure something else (source, measure, module, failing_at, conditions, group-by) starts a fresh
 * window, while a new threshold, minimum volume, severity or window length applies to the window as it is.
 */
export function measureOf(rule: AggregateRule): string {
  return hashOf(rule.source, rule.measure, rule.module ?? null, rule.failing_at ?? null, rule.when, [...rule.by].sort()).slice(0, 16);
}

export interface SeriesKey {
  series: string;
  labels: Labels;
}

/** The series of a subject under an aggregate rule: its group-by values. */
export function seriesOf(stored: StoredRule & { rule: AggregateRule }, s: Subject): SeriesKey {
  const dims: Record<string, string | null> = {};
  for (const by of stored.rule.by) dims[by] = by === 'model' ? s.model : s[by];
  const labels = normalizeLabels({ ...baseLabels(stored, stored.rule.severity), ...dims });
  return { series: hashOf(normalizeLabels(dims)).slice(0, 24), labels };
}

export interface ObservationOf {
  series: SeriesKey;
  failing: boolean;
  score: number | null;
}

/** The observation an aggregate rule records for a subject, or null when the subject is not in its scope. */
export function observationOf(stored: StoredRule & { rule: AggregateRule }, s: Subject): ObservationOf | null {
  const { rule } = stored;
  if (!rule.enabled || rule.source !== s.source || !matchesConditions(rule.when, s)) return null;
  let score: number | null = s.score;
  if (rule.module !== undefined) {
    score = s.module_scores[rule.module] ?? null;
    if (score === null) return null; // the module did not run on this record
  }
  const failing = rule.failing_at === undefined ? !s.passed : rank(s.severity) >= rank(rule.failing_at);
  return { series: seriesOf(stored, s), failing, score };
}

export interface Assessment {
  firing: boolean;
  value: number | null;
  volume: number;
}

/** Whether a window is over the rule's threshold, with at least `min_volume` records in it. */
export function assess(rule: AggregateRule, stats: { volume: number; failing: number; mean_score: number | null }): Assessment {
  const value = rule.measure === 'failure_count' ? stats.failing : rule.measure === 'failure_rate' ? (stats.volume === 0 ? null : stats.failing / stats.volume) : stats.mean_score;
  if (stats.volume < rule.min_volume || value === null) return { firing: false, value, volume: stats.volume };
  const firing = rule.op === '>' ? value > rule.threshold : rule.op === '>=' ? value >= rule.threshold : rule.op === '<' ? value < rule.threshold : value <= rule.threshold;
  return { firing, value, volume: stats.volume };
}

/** The Alert of an aggregate series' transition (or re-assertion). */
export function aggregateAlert(
  stored: StoredRule & { rule: AggregateRule },
  orgId: string,
  key: SeriesKey,
  status: 'firing' | 'resolved',
  assessment: Assessment,
  since: number,
  now: number,
  reassertMs: number,
): Alert {
  const { rule } = stored;
  const what = rule.measure === 'mean_score' ? `mean ${rule.module ?? ''} score`.replace('  ', ' ') : rule.measure.replace('_', ' ');
  const scope = Object.entries(key.labels)
    .filter(([k]) => rule.by.includes(k as never))
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return {
    alert_id: `${stored.id}:${key.series}:${status}:${status === 'resolved' ? since : now}`,
    org_id: orgId,
    rule_id: stored.id,
    rule_version: stored.version,
    kind: 'aggregate',
    status,
    severity: rule.severity,
    fingerprint: fingerprintOf(orgId, key.labels),
    labels: key.labels,
    annotations: normalizeLabels({
      summary: `${rule.name}: ${what} ${assessment.value === null ? 'n/a' : round(assessment.value)} ${status === 'firing' ? rule.op : 'back within'} ${rule.threshold} over ${rule.window}${scope ? ` (${scope})` : ''}, ${assessment.volume} records`,
      description: rule.description,
    }),
    starts_at: status === 'firing' ? now : since,
    ends_at: status === 'firing' ? now + reassertMs * 3 : now,
    trace_id: null,
    value: assessment.value,
    threshold: rule.threshold,
    volume: assessment.volume,
    generated_at: now,
  };
}

const round = (v: number): number => Math.round(v * 10_000) / 10_000;
