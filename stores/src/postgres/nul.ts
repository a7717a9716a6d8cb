/**
 * PostgreSQL refuses U+0000 in `text` and `jsonb` values, yet a trace may carry it anywhere (model
 * output is arbitrary text). A record that contains U+0000 in any string (value or object key) is
 * stored with every string percent-escaped for exactly two characters, `%` -> `%25` and
 * U+0000 -> `%00`, and its row is flagged (`nul_escaped`), so that decoding is exact. Records without
 * U+0000 — nearly all of them — are stored untouched and stay directly queryable as jsonb.
 *
 * Identifiers (org_id, trace_id) are keys: they cannot be escaped without colliding with another
 * key, so U+0000 in them is refused (the gateway only admits [A-Za-z0-9._:-] ids anyway).
 */

/** True when some string (value or key) anywhere in `value` contains U+0000. */
export function containsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(containsNul);
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) if (k.includes('\u0000') || containsNul(v)) return true;
  }
  return false;
}

const escapeString = (s: string): string => s.replace(/[%\u0000]/g, (c) => (c === '%' ? '%25' : '%00'));
const unescapeString = (s: string): string => s.replace(/%(25|00)/g, (_m, hex: string) => (hex === '25' ? '%' : '\u0000'));

function mapStrings(value: unknown, f: (s: string) => string): unknown {
  if (typeof value === 'string') return f(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, f));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[f(k)] = mapStrings(v, f);
    return out;
  }
  return value;
}

/** The value to put in a jsonb column, and whether it had to be escaped. */
export function encodeRecord(value: unknown): { record: unknown; escaped: boolean } {
  return containsNul(value) ? { record: mapStrings(value, escapeString), escaped: true } : { record: value, escaped: false };
}

/** The original value from a stored record and its `nul_escaped` flag. */
export function decodeRecord<T>(record: unknown, escaped: boolean): T {
  return (escaped ? mapStrings(record, unescapeString) : record) as T;
}

/** A filter column value: U+0000 becomes U+FFFD (the record keeps the exact value). */
export function filterText(s: string | null | undefined): string | null {
  if (s === null || s === undefined) return null;
  return s.includes('\u0000') ? s.replaceAll('\u0000', '\uFFFD') : s;
}
