/**
 * TraceFact rows to JSONEachRow objects, checked first so that a bad value is a clear error naming the
 * row and field rather than a ClickHouse parse error or a silent default (a missing timestamp would
 * become 1970 and the TTL would drop the row without a word).
 */
import { InvalidRecordError } from '../errors.js';
import type { TraceFact } from '../types.js';

const STRING_FIELDS = ['org_id', 'trace_id', 'application', 'environment', 'model_provider', 'model_name', 'user_id'] as const;
const UINT32_FIELDS = ['input_tokens', 'output_tokens', 'latency_ms'] as const;

/** `2026-05-01 12:00:00.123`: what DateTime64(3, 'UTC') reads on every ClickHouse version. */
export function clickhouseDateTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace('T', ' ').replace('Z', '');
}

/** One JSONEachRow object per fact; throws InvalidRecordError naming the first bad field. */
export function factsToRows(operation: string, rows: TraceFact[]): Record<string, unknown>[] {
  if (!Array.isArray(rows)) throw new InvalidRecordError(operation, 'expects an array of TraceFact rows');
  return rows.map((row, i) => {
    const bad = (field: string, expected: string) =>
      new InvalidRecordError(
        operation,
        `row ${i} (trace ${JSON.stringify(row?.trace_id)}): ${field} must be ${expected}, got ${JSON.stringify((row as unknown as Record<string, unknown>)?.[field])}`,
        { recordIndex: i },
      );
    if (row === null || typeof row !== 'object') throw new InvalidRecordError(operation, `row ${i} is not an object`, { recordIndex: i });
    for (const f of STRING_FIELDS) if (typeof row[f] !== 'string') throw bad(f, 'a string');
    if (row.org_id === '' || row.trace_id === '') throw bad(row.org_id === '' ? 'org_id' : 'trace_id', 'non-empty');
    for (const f of ['timestamp', 'received_at'] as const) {
      if (!Number.isFinite(row[f]) || row[f] < 0 || Number.isNaN(new Date(row[f]).getTime())) throw bad(f, 'epoch milliseconds');
    }
    for (const f of UINT32_FIELDS) if (!Number.isInteger(row[f]) || row[f] < 0 || row[f] > 0xffff_ffff) throw bad(f, 'an integer in 0..4294967295');
    if (!Number.isFinite(row.cost_usd)) throw bad('cost_usd', 'a finite number');
    const retention = row.retention_days;
    if (retention !== undefined && (!Number.isInteger(retention) || retention < 1 || retention > 65_535)) throw bad('retention_days', 'an integer in 1..65535');
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
      ...(retention === undefined ? {} : { retention_days: retention }),
    };
  });
}

/** Parses JSONEachRow text (one JSON object per line). */
export function parseJsonEachRow<T>(text: string): T[] {
  const rows: T[] = [];
  for (const line of text.split('\n')) if (line.trim() !== '') rows.push(JSON.parse(line) as T);
  return rows;
}
