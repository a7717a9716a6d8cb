/**
 * The registry of evaluation modules: a typed map from every declared module name to its module, so
 * that a name without a module (or a module without a name) is a compile error. `runModules` is the
 * runner around the pure modules: it runs those the policy enables with their configuration, times
 * each one (`latency_us`, reported, never judged: a verdict must not depend on how busy the machine
 * is), turns a throw into a `module_error` result so the tier goes on, and grades the result by the
 * policy. It also bounds what a module examines (bounds.ts: characters per field, findings per module)
 * and labels what was left out (`truncated_output`, ...). A module that never returns is stopped by the evaluation pool's per-trace deadline
 * (pool/pool.ts), which reports it with `interruptedResult`.
 *
 * @example
 *   const results = runModules(trace, DEFAULT_POLICY);
 *   const { passed, severity, score } = aggregateTier(results, DEFAULT_POLICY);
 */
import { makeTrace, type FindingField, type ModuleResult, type Severity, type Trace } from '@metronis/schemas';
import { boundTrace, MAX_FINDINGS } from './bounds.js';
import { finding, maxSeverity, severityRank, type EvaluationModule } from './module.js';
import { consistencyModule } from './modules/consistency/index.js';
import { formatModule } from './modules/format/index.js';
import { piiModule } from './modules/pii/index.js';
import { qualityModule } from './modules/quality/index.js';
import { loadSpeller } from './modules/quality/spelling.js';
import { safetyModule } from './modules/safety/index.js';
import type { Policy, SeverityRule } from './policy.js';
import { createSharedText, type SharedText } from './shared-text.js';

export const MODULE_NAMES = ['format', 'safety', 'pii', 'consistency', 'quality'] as const;
export type ModuleName = (typeof MODULE_NAMES)[number];

export const MODULES = {
  format: formatModule,
  safety: safetyModule,
  pii: piiModule,
  consistency: consistencyModule,
  quality: qualityModule,
} satisfies { [K in ModuleName]: EvaluationModule };

export function isModuleName(name: string): name is ModuleName {
  return (MODULE_NAMES as readonly string[]).includes(name);
}

export interface RunOptions {
  /** A monotonic clock in nanoseconds; `process.hrtime.bigint` unless a test gives its own. */
  now?: () => bigint;
  /**
   * The trace's shared text work (shared-text.ts). `runModules` makes one per trace; give the same one
   * to every `runModule` of a trace so that its modules share it (without one, each module makes its own).
   */
  shared?: SharedText;
}

/** Runs one module under the runner's rules (timing, throw → module_error), graded by the policy. */
export function runModule(name: ModuleName, trace: Trace, policy: Policy, options: RunOptions = {}): ModuleResult {
  const now = options.now ?? process.hrtime.bigint;
  const module: EvaluationModule = MODULES[name];
  const entry = policy.modules[name];
  const started = now();
  let result: ModuleResult;
  try {
    const seen = boundTrace(trace, module.examines);
    const outcome = module.evaluate(seen.trace, entry.config, options.shared);
    result = { module: module.name, version: module.version, latency_us: 0, ...outcome, labels: [...outcome.labels, ...seen.truncated] };
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    result = moduleError(name, policy, [], `the module threw: ${message}`);
  }
  result.latency_us = Number((now() - started) / 1000n);
  // Graded on every finding, then listed up to the cap: a finding past it still counts in the severity.
  const graded = applyPolicy(result, policy);
  if (graded.findings.length <= MAX_FINDINGS) return graded;
  return { ...graded, findings: graded.findings.slice(0, MAX_FINDINGS), labels: [...graded.labels, 'truncated_findings'] };
}

/** Why a module's run was stopped from outside: past the trace's deadline, or its thread died (e.g. out of memory). */
export type Interruption = 'deadline_exceeded' | 'worker_exited';

/**
 * The result of a module whose run was stopped (see `Interruption`), graded like a module that threw:
 * the trace still gets a result for every enabled module, and a verdict.
 */
export function interruptedResult(name: ModuleName, policy: Policy, reason: Interruption, message: string, latencyUs = 0): ModuleResult {
  return applyPolicy({ ...moduleError(name, policy, [reason], message), latency_us: latencyUs }, policy);
}

function moduleError(name: ModuleName, policy: Policy, labels: string[], message: string): ModuleResult {
  const module: EvaluationModule = MODULES[name];
  return {
    module: module.name,
    version: module.version,
    passed: false,
    score: 1,
    severity: policy.module_error_severity,
    labels: ['module_error', ...labels],
    findings: [finding('module_error', message, 'output')],
    latency_us: 0,
  };
}

/** Runs every module the policy enables, in registry order. */
export function runModules(trace: Trace, policy: Policy, options: RunOptions = {}): ModuleResult[] {
  const results: ModuleResult[] = [];
  const shared = options.shared ?? createSharedText();
  for (const name of MODULE_NAMES) if (policy.modules[name].enabled) results.push(runModule(name, trace, policy, { ...options, shared }));
  return results;
}

/**
 * Pays one-time costs before the first trace (the English dictionary, JIT warm-up), so that the
 * first real traces are not slow. Call once at start-up (each pool thread does).
 */
export function warmUp(policy: Policy, rounds = 20): void {
  loadSpeller();
  const trace = makeTrace({
    output: { content: 'Warm-up answer: the quick brown fox jumps over the lazy dog, and revenue was $5M in 2024.', finish_reason: 'stop' },
    reference: 'The quick brown fox.',
    context: [{ id: null, content: 'A quick brown fox.', source: null, score: null }],
  });
  for (let i = 0; i < rounds; i++) runModules(trace, policy);
}

/** Grades every organization gets unless its own `severity_overrides` say otherwise (theirs apply after). */
export const DEFAULT_SEVERITY_OVERRIDES: readonly SeverityRule[] = [
  { kind: 'secret', field: 'output', severity: 'critical' },
  { kind: 'credit_card', field: 'output', severity: 'critical' },
];

function gradeOf(module: string, kind: string, field: FindingField, policy: Policy): Severity | null {
  let graded: Severity | null = null;
  for (const rules of [DEFAULT_SEVERITY_OVERRIDES, policy.severity_overrides]) {
    for (const r of rules) {
      if (r.kind === kind && (r.field === undefined || r.field === field) && (r.module === undefined || r.module === module)) graded = r.severity;
    }
  }
  return graded;
}

/**
 * A module result graded by the policy: each finding takes the last matching override, or else the
 * module's own severity (the contract carries one severity per module, so that is the upper bound of
 * an un-overridden finding); the result fails when its severity reaches `fail_at`.
 */
export function applyPolicy(result: ModuleResult, policy: Policy): ModuleResult {
  let graded: Severity = result.findings.length === 0 || result.labels.includes('module_error') ? result.severity : 'none';
  for (const f of result.findings) graded = maxSeverity(graded, gradeOf(result.module, f.kind, f.field, policy) ?? result.severity);
  return { ...result, severity: graded, passed: severityRank(graded) < severityRank(policy.fail_at) };
}
