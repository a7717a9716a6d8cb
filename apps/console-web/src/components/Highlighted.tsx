/**
 * Text with each finding highlighted at its character offsets ([start, end) into the text the
 * modules read). Overlapping findings are merged into one mark that names all of them; each mark is
 * focusable and says what was found, for keyboard and screen-reader users too.
 */
import { Tooltip } from '@mantine/core';
import type { Finding, Severity } from '../types';

export interface PlacedFinding extends Finding {
  module: string;
  severity: Severity;
}

interface Span {
  start: number;
  end: number;
  findings: PlacedFinding[];
}

const RANK: Record<Severity, number> = { none: 0, low: 1, medium: 2, high: 3, critical: 4 };

function spans(text: string, findings: PlacedFinding[]): Span[] {
  const placed = findings
    .filter((f) => f.start !== null && f.end !== null && f.end > f.start && f.start < text.length)
    .map((f) => ({ start: Math.max(0, f.start!), end: Math.min(text.length, f.end!), findings: [f] }))
    .sort((a, b) => a.start - b.start);
  const merged: Span[] = [];
  for (const s of placed) {
    const last = merged.at(-1);
    if (last !== undefined && s.start < last.end) {
      last.end = Math.max(last.end, s.end);
      last.findings.push(...s.findings);
    } else merged.push(s);
  }
  return merged;
}

export function Highlighted({ text, findings, offset = 0 }: { text: string; findings: PlacedFinding[]; offset?: number }) {
  // Findings are placed on the whole field; this block shows [offset, offset + text.length) of it.
  const local = findings.map((f) => ({ ...f, start: f.start === null ? null : f.start - offset, end: f.end === null ? null : f.end - offset })).filter((f) => f.end !== null && f.end > 0);
  const parts: React.ReactNode[] = [];
  let at = 0;
  for (const s of spans(text, local)) {
    if (s.start > at) parts.push(text.slice(at, s.start));
    const worst = s.findings.reduce((a, b) => (RANK[b.severity] > RANK[a.severity] ? b : a));
    const label = s.findings.map((f) => `${f.module}: ${f.kind} — ${f.message}`).join('\n');
    parts.push(
      <Tooltip key={`${s.start}-${s.end}`} label={label} multiline maw={360} withArrow>
        <mark className="finding" data-severity={worst.severity} data-kind={s.findings.map((f) => f.kind).join(' ')} tabIndex={0} aria-label={`finding: ${label}`}>
          {text.slice(s.start, s.end)}
        </mark>
      </Tooltip>,
    );
    at = s.end;
  }
  if (at < text.length) parts.push(text.slice(at));
  return <pre className="text-block">{parts}</pre>;
}
