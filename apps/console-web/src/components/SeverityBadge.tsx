import { Badge } from '@mantine/core';
import type { Severity } from '../types';

const COLORS: Record<Severity, string> = { none: 'gray', low: 'yellow', medium: 'orange', high: 'red', critical: 'grape' };

/** The verdict at a glance: passed or failed with its severity, or pending until the verdict arrives. */
export function VerdictBadge({ passed, severity }: { passed: boolean | null; severity: Severity | null }) {
  if (passed === null || severity === null) return <Badge color="gray" variant="outline">pending</Badge>;
  if (passed) return <Badge color="teal" variant="light">passed{severity !== 'none' ? ` · ${severity}` : ''}</Badge>;
  return <Badge color={COLORS[severity]} variant="filled">failed · {severity}</Badge>;
}

export function SeverityBadge({ severity }: { severity: Severity }) {
  return <Badge color={COLORS[severity]} variant="light">{severity}</Badge>;
}
