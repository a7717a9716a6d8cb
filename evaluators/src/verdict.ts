/**
 * The verdict a trace ends with after several tiers ran (tier 2 and tier 3 both decide with it): all
 * passed, the worst severity, the lowest score, every finding kind and failed module (a shadow
 * model's results left out), the deciding tier, and the trace's routing fields that alert rules
 * filter on.
 */
import type { TierResult, Trace, Verdict } from '@metronis/schemas';
import { maxSeverity } from './module.js';

export function verdictOverTiers(trace: Trace, results: readonly TierResult[], decidedAt: number, labels: string[] = []): Verdict {
  const kinds = new Set<string>();
  const failed = new Set<string>();
  for (const r of results) {
    for (const m of r.modules) {
      if (m.module === 'shadow') continue;
      for (const f of m.findings) kinds.add(f.kind);
      if (!m.passed) failed.add(m.module);
    }
  }
  return {
    trace_id: trace.trace_id,
    org_id: trace.org_id,
    tier: Math.max(0, ...results.map((r) => r.tier)),
    decided_at: decidedAt,
    passed: results.every((r) => r.passed),
    severity: maxSeverity(...results.map((r) => r.severity)),
    score: Math.min(1, ...results.map((r) => r.score)),
    finding_kinds: [...kinds],
    failed_modules: [...failed],
    application: trace.application,
    environment: trace.environment,
    model_provider: trace.model?.provider ?? null,
    model_name: trace.model?.name ?? null,
    tags: trace.tags,
    labels,
  };
}
