/**
 * TraceFact, EvaluationFact and ModuleResultFact rows to JSONEachRow objects, checked first so that a bad value is a clear error naming the
 * row and field rather than a ClickHouse parse error or a silent default (a missing timestamp would
 * become 1970 and the TTL would drop the row without a word).
 */
import { InvalidRecordError } from '../errors.js';
import { SEVERITIES, withinTimestampBounds, withinUint32, type TierResult } from '@metronis/schemas';
import type { EvaluationFact, ModuleResultFact, TraceFact } from '../types.js';

const STRING_FIELDS = ['org_id', 'trace_id', 'application', 'environment', 'model_provider', 'model_name', 'user_id'] as const;
const UINT32_FIELDS = ['input_tokens', 'output_tokens', 'latency_ms'] as const;

/** `2026-05-01 12:00:00.123`: what DateTime64(3, 'UTC') reads on every ClickHouse version. */
export function clickhouseDateTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace('T', ' ').replace('Z', '');
}

type Bad = (field: string, expected: string) => InvalidRecordError;

/**
 * Converts checked rows: refuses a non-array and a non-object row, and gives `convert` an error builder
 * that names the row (`row 3 (trace "t1")`), the field, what it must be and what it was.
 */
function toRows<T extends object>(
  operation: string,
  rows: readonly T[],
  typeName: string,
  label: (row: T) => string,
  convert: (row: T, bad: Bad) => Record<string, unknown>,
): Record<string, unknown>[] {
  if (!Array.isArray(rows)) throw new InvalidRecordError(operation, `expects an array of ${typeName} rows`);
  return rows.map((row, i) => {
    const bad: Bad = (field, expected) =>
      new InvalidRecordError(operation, `row ${i} (${label(row)}): ${field} must be ${expected}, got ${JSON.stringify((row as Record<string, unknown> | null)?.[field])}`, {
        recordIndex: i,
      });
    if (row === null || typeof row !== 'object') throw new InvalidRecordError(operation, `row ${i} is not an object`, { recordIndex: i });
    return convert(row, bad);
  });
}

/** Throws unless each field holds epoch milliseconds within the public trace's bounds (schemas/src/bounds.ts). */
function checkEpochMillis<T>(row: T, fields: readonly (keyof T & string)[], bad: Bad): void {
  for (const f of fields) if (!withinTimestampBounds(row[f])) throw bad(f, 'epoch milliseconds');
}

/** The optional `retention_days` column, checked: absent stays absent (the table default applies). */
function retentionColumn(row: { retention_days?: number }, bad: Bad): { retention_days?: number } {
  const retention = row.retention_days;
  if (retention === undefined) return {};
  if (!Number.isInteger(retention) || retention < 1 || retention > 65_535) throw bad('retention_days', 'an integer in 1..65535');
  return { retention_days: retention };
}

/** One JSONEachRow object per fact; throws InvalidRecordError naming the first bad field. */
export function factsToRows(operation: string, rows: TraceFact[]): Record<string, unknown>[] {
  return toRows(operation, rows, 'TraceFact', (row) => `trace ${JSON.stringify(row?.trace_id)}`, (row, bad) => {
    for (const f of STRING_FIELDS) if (typeof row[f] !== 'string') throw bad(f, 'a string');
    if (row.org_id === '' || row.trace_id === '') throw bad(row.org_id === '' ? 'org_id' : 'trace_id', 'non-empty');
    checkEpochMillis(row, ['timestamp', 'received_at'], bad);
    for (const f of UINT32_FIELDS) if (!withinUint32(row[f])) throw bad(f, 'an integer in 0..4294967295');
    if (!Number.isFinite(row.cost_usd)) throw bad('cost_usd', 'a finite number');
    const retention = retentionColumn(row, bad);
    return {
      org_id: row.org_id,
      trace_id: row.trace_id,
      timestamp: clickhouseDateTime(row.timestamp),
      received_at: clickhouseDateTime(row.received_at),
      application: row.application,
      environment: row.environment,
      model_provider: row.model_provider,
      model_name: row.model_name,
      input_tokens: row.input_tokens,
      output_tokens: row.output_tokens,
      cost_usd: row.cost_usd,
      latency_ms: row.latency_ms,
      user_id: row.user_id,
      ...sessionColumn(row, bad),
      ...retention,
    };
  });
}

/** The optional `session_id` column (0007), checked: absent stays absent (the column default ''). */
function sessionColumn(row: { session_id?: string }, bad: Bad): { session_id?: string } {
  if (row.session_id === undefined) return {};
  if (typeof row.session_id !== 'string') throw bad('session_id', 'a string');
  return { session_id: row.session_id };
}

/** The evaluation row of a tier result. */
export function toEvaluationFact(result: TierResult, retentionDays?: number): EvaluationFact {
  return {
    evaluation_id: result.evaluation_id,
    org_id: result.org_id,
    trace_id: result.trace_id,
    tier: result.tier,
    evaluated_at: result.evaluated_at,
    trace_timestamp: result.trace_timestamp,
    passed: result.passed,
    severity: result.severity,
    score: result.score,
    latency_us: result.latency_us,
    modules: result.modules.map((m) => m.module),
    failed_modules: result.modules.filter((m) => !m.passed).map((m) => m.module),
    finding_kinds: [...new Set(result.modules.flatMap((m) => m.findings.map((f) => f.kind)))],
    ...(retentionDays === undefined ? {} : { retention_days: retentionDays }),
  };
}

/** One JSONEachRow object per evaluation fact; throws InvalidRecordError naming the first bad field. */
export function evaluationsToRows(operation: string, rows: EvaluationFact[]): Record<string, unknown>[] {
  return toRows(operation, rows, 'EvaluationFact', (row) => `evaluation ${JSON.stringify(row?.evaluation_id)}`, (row, bad) => {
    for (const f of ['evaluation_id', 'org_id', 'trace_id'] as const) if (typeof row[f] !== 'string' || row[f] === '') throw bad(f, 'a non-empty string');
    if (!Number.isInteger(row.tier) || row.tier < 0 || row.tier > 255) throw bad('tier', 'an integer in 0..255');
    checkEpochMillis(row, ['evaluated_at', 'trace_timestamp'], bad);
    if (typeof row.passed !== 'boolean') throw bad('passed', 'a boolean');
    if (!SEVERITIES.includes(row.severity)) throw bad('severity', `one of ${SEVERITIES.join(', ')}`);
    if (!Number.isFinite(row.score)) throw bad('score', 'a finite number');
    if (!Number.isSafeInteger(row.latency_us) || row.latency_us < 0) throw bad('latency_us', 'a non-negative integer');
    for (const f of ['modules', 'failed_modules', 'finding_kinds'] as const) {
      if (!Array.isArray(row[f]) || !row[f].every((x) => typeof x === 'string')) throw bad(f, 'an array of strings');
    }
    const retention = retentionColumn(row, bad);
    return {
      evaluation_id: row.evaluation_id,
      org_id: row.org_id,
      trace_id: row.trace_id,
      tier: row.tier,
      evaluated_at: clickhouseDateTime(row.evaluated_at),
      trace_timestamp: clickhouseDateTime(row.trace_timestamp),
      passed: row.passed,
      severity: row.severity,
      score: row.score,
      latency_us: row.latency_us,
      modules: row.modules,
      failed_modules: row.failed_modules,
      finding_kinds: row.finding_kinds,
      ...retention,
    };
  });
}

/**
 * The module rows of a tier result: one per entry of `result.modules`, each with the module's own
 * passed, score, severity, labels and latency, and the distinct kinds of its own findings. A tier
 * result without modules gives no rows. Throws InvalidRecordError when `modules` (or a module's
 * findings) is not an array; the values themselves are checked by `moduleResultsToRows`.
 */
export function toModuleResultFacts(result: TierResult, retentionDays?: number): ModuleResultFact[] {
  const operation = 'toModuleResultFacts';
  const where = `tier result ${JSON.stringify(result?.evaluation_id)}`;
  if (result === null || typeof result !== 'object') throw new InvalidRecordError(operation, 'expects a TierResult object');
  if (!Array.isArray(result.modules)) throw new InvalidRecordError(operation, `${where}: modules must be an array, got ${JSON.stringify(result.modules)}`);
  return result.modules.map((m, i) => {
    if (m === null || typeof m !== 'object') throw new InvalidRecordError(operation, `${where}: modules[${i}] is not an object`);
    if (!Array.isArray(m.findings)) throw new InvalidRecordError(operation, `${where}: modules[${i}] (${JSON.stringify(m.module)}): findings must be an array`);
    return {
      evaluation_id: result.evaluation_id,
      org_id: result.org_id,
      trace_id: result.trace_id,
      tier: result.tier,
      module: m.module,
      module_version: m.version,
      evaluated_at: result.evaluated_at,
      trace_timestamp: result.trace_timestamp,
      passed: m.passed,
      score: m.score,
      severity: m.severity,
      labels: m.labels,
      finding_kinds: [...new Set(m.findings.map((f) => f?.kind))],
      latency_us: m.latency_us,
      ...(retentionDays === undefined ? {} : { retention_days: retentionDays }),
    };
  });
}

/** One JSONEachRow object per module result fact; throws InvalidRecordError naming the first bad field. */
export function moduleResultsToRows(operation: string, rows: ModuleResultFact[]): Record<string, unknown>[] {
  return toRows(operation, rows, 'ModuleResultFact', (row) => `evaluation ${JSON.stringify(row?.evaluation_id)}, module ${JSON.stringify(row?.module)}`, (row, bad) => {
    for (const f of ['evaluation_id', 'org_id', 'trace_id', 'module'] as const) if (typeof row[f] !== 'string' || row[f] === '') throw bad(f, 'a non-empty string');
    if (typeof row.module_version !== 'string') throw bad('module_version', 'a string');
    if (!Number.isInteger(row.tier) || row.tier < 0 || row.tier > 255) throw bad('tier', 'an integer in 0..255');
    checkEpochMillis(row, ['evaluated_at', 'trace_timestamp'], bad);
    if (typeof row.passed !== 'boolean') throw bad('passed', 'a boolean');
    if (!Number.isFinite(row.score)) throw bad('score', 'a finite number');
    if (!SEVERITIES.includes(row.severity)) throw bad('severity', `one of ${SEVERITIES.join(', ')}`);
    for (const f of ['labels', 'finding_kinds'] as const) {
      if (!Array.isArray(row[f]) || !row[f].every((x) => typeof x === 'string')) throw bad(f, 'an array of strings');
    }
    if (!Number.isSafeInteger(row.latency_us) || row.latency_us < 0) throw bad('latency_us', 'a non-negative integer');
    const retention = retentionColumn(row, bad);
    return {
      evaluation_id: row.evaluation_id,
      org_id: row.org_id,
      trace_id: row.trace_id,
      tier: row.tier,
      module: row.module,
      module_version: row.module_version,
      evaluated_at: clickhouseDateTime(row.evaluated_at),
      trace_timestamp: clickhouseDateTime(row.trace_timestamp),
      passed: row.passed,
      score: row.score,
      severity: row.severity,
      labels: row.labels,
      finding_kinds: row.finding_kinds,
      latency_us: row.latency_us,
      ...retention,
    };
  });
}

/** Parses JSONEachRow text (one JSON object per line). */
export function parseJsonEachRow<T>(text: string): T[] {
  const rows: T[] = [];
  for (const line of text.split('\n')) if (line.trim() !== '') rows.push(JSON.parse(line) as T);
  return rows;
}
