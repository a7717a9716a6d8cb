/**
 * Tier 1: every trace through the fast heuristic modules, under its organization's policy.
 *
 * For each trace the tier looks up the org's policy (a cache: no database on the hot path), runs the
 * enabled modules — on the evaluation pool's worker threads when one is given (`createEvaluationPool`:
 * off the event loop, under a per-trace deadline), else in-process (`runModules`); a module that
 * throws or is stopped at the deadline becomes a `module_error` result and the trace goes on —
 * aggregates them, and emits:
 * - a `TierResult` to `metronis.evaluations.v1`, with the deterministic id `${trace_id}:1` so that a
 *   redelivered result replaces the earlier one downstream;
 * - then either an `Escalation` (the trace and this result) to the tier the policy's escalation bands
 *   point at, or the final `Verdict` to `metronis.verdicts.v1`. Escalation is off in the default
 *   policy, so by default every trace gets its verdict here.
 *
 * The processor is pure apart from the policy lookup and the clocks: the input trace is never mutated.
 *
 * @example
 *   const policies = createPolicyCache({ load: (org) => store.getPolicy(org).then((p) => p?.document ?? null) });
 *   const evaluator = createEvaluationPool({ threads: 2, deadlineMs: 5_000 });
 *   runTopology(tier1Topology({ policies, evaluator }), { log, serde, logger });
 */
import { aggregateTier, escalationTarget, runModules, type EvaluationPool, type Policy, type TierAggregate } from '@metronis/evaluators';
import type { Escalation, ModuleResult, TierResult, Trace, Verdict } from '@metronis/schemas';
import { TOPICS, type Clock, type Output, type TransformTopology } from '@metronis/streams';

export interface Tier1Options {
  /** The org's policy; a cache such as `createPolicyCache` from @metronis/evaluators. */
  policies: { get(orgId: string): Promise<Policy> };
  /**
   * Where the modules run: an evaluation pool (`createEvaluationPool`: worker threads with a per-trace
   * deadline), which every process that serves or fetches should use. Without it they run in-process.
   */
  evaluator?: Pick<EvaluationPool, 'run'>;
  /** Traces of a fetched batch evaluated at once: the pool's thread count (default 1 without a pool). */
  concurrency?: number;
  /** Epoch milliseconds for `evaluated_at` and `decided_at`; `Date` unless a test gives its own. */
  clock?: Clock;
  /** Monotonic nanoseconds for latencies; `process.hrtime.bigint` unless a test gives its own. */
  monotonic?: () => bigint;
}

export const TIER1_NAME = 'tier1';
export const TIER1_GROUP_ID = 'metronis.tier1.v1';
const TIER = 1;

export function tier1Topology(options: Tier1Options): TransformTopology<'Trace'> {
  if (typeof options?.policies?.get !== 'function') throw new TypeError('tier1Topology: policies must have get(orgId) => Promise<Policy> (see createPolicyCache)');
  const { policies } = options;
  const clock = options.clock ?? Date;
  const monotonic = options.monotonic ?? process.hrtime.bigint;
  const evaluator = options.evaluator;

  return {
    kind: 'transform',
    name: TIER1_NAME,
    groupId: TIER1_GROUP_ID,
    input: TOPICS.traces,
    outputs: [TOPICS.evaluations, TOPICS.verdicts, TOPICS.escalationsTier2, TOPICS.escalationsTier3],
    concurrency: options.concurrency ?? 1,

    async process(trace) {
      const policy = await policies.get(trace.org_id);
      if (evaluator === undefined) return evaluateTier1(trace, policy, clock, monotonic);
      const started = monotonic();
      const modules = await evaluator.run(trace, policy);
      return tier1Outputs(trace, policy, modules, clock.now(), Number((monotonic() - started) / 1000n));
    },
  };
}

/** The outputs of tier 1 for one trace under one policy, in-process (the processor without its policy lookup). */
export function evaluateTier1(trace: Trace, policy: Policy, clock: Clock = Date, monotonic: () => bigint = process.hrtime.bigint): Output[] {
  const started = monotonic();
  const modules = runModules(trace, policy, { now: monotonic });
  return tier1Outputs(trace, policy, modules, clock.now(), Number((monotonic() - started) / 1000n));
}

/** The TierResult and then the Escalation or the Verdict, from the graded module results. */
function tier1Outputs(trace: Trace, policy: Policy, modules: ModuleResult[], evaluatedAt: number, latencyUs: number): Output[] {
  const aggregate = aggregateTier(modules, policy);
  const result: TierResult = {
    evaluation_id: `${trace.trace_id}:${TIER}`,
    trace_id: trace.trace_id,
    org_id: trace.org_id,
    tier: TIER,
    evaluated_at: evaluatedAt,
    trace_timestamp: trace.timestamp,
    passed: aggregate.passed,
    severity: aggregate.severity,
    score: aggregate.score,
    modules,
    latency_us: latencyUs,
    ...routingFields(trace),
  };
  const outputs: Output[] = [{ topic: TOPICS.evaluations, value: result }];

  const target = escalationTarget(aggregate, policy, TIER);
  if (target !== null) {
    const escalation: Escalation = { trace, results: [result], target_tier: target, reason: escalationReason(aggregate, policy, target) };
    outputs.push({ topic: target === 2 ? TOPICS.escalationsTier2 : TOPICS.escalationsTier3, value: escalation });
  } else {
    outputs.push({ topic: TOPICS.verdicts, value: verdictOf(trace, aggregate, modules, evaluatedAt) });
  }
  return outputs;
}

function escalationReason(aggregate: TierAggregate, policy: Policy, target: 2 | 3): string {
  const { min_score, max_score } = (target === 2 ? policy.escalation.tier2 : policy.escalation.tier3).band;
  return `tier 1 score ${aggregate.score} is inside the tier ${target} escalation band [${min_score}, ${max_score}]`;
}

function verdictOf(trace: Trace, aggregate: TierAggregate, modules: readonly ModuleResult[], decidedAt: number): Verdict {
  const kinds = new Set<string>();
  for (const m of modules) for (const f of m.findings) kinds.add(f.kind);
  return {
    trace_id: trace.trace_id,
    org_id: trace.org_id,
    tier: TIER,
    decided_at: decidedAt,
    passed: aggregate.passed,
    severity: aggregate.severity,
    score: aggregate.score,
    finding_kinds: [...kinds],
    failed_modules: modules.filter((m) => !m.passed).map((m) => m.module),
    ...routingFields(trace),
  };
}

/** What alert rules filter on, copied from the trace onto its tier result. */
function routingFields(trace: Trace) {
  return { application: trace.application, environment: trace.environment, model_provider: trace.model?.provider ?? null, model_name: trace.model?.name ?? null, tags: trace.tags };
}
