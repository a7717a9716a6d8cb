/**
 * Turns a module's findings into its outcome: severity is the worst finding's (each kind has a fixed
 * severity in its module), the score falls by a penalty per finding (higher is better, 0..1), and the
 * module passes while nothing is medium or worse. The policy may still re-grade kinds afterwards.
 */
import type { Finding, Severity } from '@metronis/schemas';
import { maxSeverity, type ModuleOutcome } from '../../module.js';

const PENALTY: Record<Severity, number> = { none: 0, low: 0.1, medium: 0.35, high: 0.6, critical: 1 };

export function outcomeOf(findings: Finding[], severityOf: (kind: string) => Severity, labels: string[] = []): ModuleOutcome {
  let severity: Severity = 'none';
  let penalty = 0;
  for (const f of findings) {
    const s = severityOf(f.kind);
    severity = maxSeverity(severity, s);
    penalty += PENALTY[s];
  }
  return {
    passed: severity === 'none' || severity === 'low',
    score: Math.max(0, Math.round((1 - penalty) * 1000) / 1000),
    severity,
    labels,
    findings,
  };
}
