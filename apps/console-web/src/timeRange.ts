/**
 * Time ranges kept in the URL: a preset (`range=24h`, relative to now, so a shared link keeps showing
 * the latest) or explicit `from` / `to` (ISO 8601). Also the datetime-local inputs' conversions.
 */
export const RANGES = [
  { value: '1h', label: 'Last hour', ms: 3_600_000 },
  { value: '24h', label: 'Last 24 hours', ms: 86_400_000 },
  { value: '7d', label: 'Last 7 days', ms: 7 * 86_400_000 },
  { value: '30d', label: 'Last 30 days', ms: 30 * 86_400_000 },
] as const;

export interface Range {
  from: number;
  to: number;
  /** the preset, or null for an explicit range */
  preset: string | null;
}

/** The range a URL asks for, `fallback` preset when it names none (or a bad one: `error` says so). */
export function rangeOf(params: URLSearchParams, fallback: string, now = Date.now()): Range & { error: string | null } {
  const from = params.get('from');
  const to = params.get('to');
  if (from !== null || to !== null) {
    const f = from === null ? NaN : Date.parse(from);
    const t = to === null ? now : Date.parse(to);
    if (Number.isNaN(f) || Number.isNaN(t)) return { ...preset(fallback, now), error: 'The time range in the address is not a pair of dates: showing the default range.' };
    if (f >= t) return { ...preset(fallback, now), error: 'The time range in the address ends before it starts: showing the default range.' };
    return { from: f, to: t, preset: null, error: null };
  }
  const name = params.get('range') ?? fallback;
  if (!RANGES.some((r) => r.value === name)) return { ...preset(fallback, now), error: `"${name}" is not a time range this page knows: showing the default range.` };
  return { ...preset(name, now), error: null };
}

function preset(name: string, now: number): Range {
  const ms = RANGES.find((r) => r.value === name)?.ms ?? 86_400_000;
  return { from: now - ms, to: now, preset: name };
}

/** An ISO date-time (the URL's) as a datetime-local input's value in this browser's zone, and back. */
export function toLocalInput(iso: string | undefined): string {
  const ms = iso === undefined ? NaN : Date.parse(iso);
  if (Number.isNaN(ms)) return '';
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}
export const fromLocalInput = (value: string) => (value === '' || Number.isNaN(Date.parse(value)) ? '' : new Date(value).toISOString());

export const shortTime = (iso: string | null) =>
  iso === null ? '—' : new Date(iso).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
