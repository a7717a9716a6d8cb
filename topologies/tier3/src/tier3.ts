/**
 * Tier 3: the LLM judge, for the traces that tier 1 or tier 2 escalates.
 *
 * For each escalation the tier looks up the org's policy and judge (caches), judges every criterion
 * the org chose that applies to the trace (faithfulness needs context), in parallel under the
 * provider's concurrency limit, and emits one of:
 * - judged: a `TierResult` (tier 3, id `${trace_id}:3`) with one module result per criterion (the
 *   rating as severity: 1 none … 5 critical, graded by the policy's overrides and `fail_at`; the
 *   judge's label and model in `labels`, its rationale in `rationale`), then the `Verdict` over every
 *   tier that ran;
 * - `not_judged:budget_exhausted` / `not_judged:no_provider`: the earlier tiers' verdict with that
 *   label (no tier 3 result: tier 3 did not run);
 * - `judge_pending`: a provider failed transiently past the retry budget. The earlier tiers' verdict
 *   with that label, and the escalation goes to `judge_pending` in Postgres, where the sweeper
 *   (sweeper.ts) retries it later; its verdict then replaces this one.
 *
 * The judge's own failures on a trace (an answer malformed twice, a refusal to judge, a request the
 * provider refuses with a 400) are module errors, graded `module_error_severity` as in tier 2.
 *
 * @example
 *   runTopology(tier3Topology({ policies, judges, judge: { budget, cache, limiter, prices, retry, maxOutputTokens: 600 }, pending: store.judge }), { log, serde, logger });
 */
import { applyPolicy, finding, maxSeverity, verdictOverTiers, type Policy } from '@metronis/evaluators';
import type { Escalation, ModuleResult, Severity, TierResult, Trace, Verdict } from '@metronis/schemas';
import type { JudgeStore } from '@metronis/stores';
import { InfrastructureError, TOPICS, type Clock, type Output, type TransformTopology } from '@metronis/streams';
import { criteriaOf, type JudgeConfigSource, type OrgJudge } from './config.js';
import { CRITERIA, type CriterionName } from './criteria.js';
import { judgeCriterion, type CriterionOutcome, type JudgeDeps } from './judge.js';

export interface Tier3Options {
  policies: { get(orgId: string): Promise<Policy> };
  judges: JudgeConfigSource;
  /** What every judgment needs; the budget, the output allowance and the call deadline come from each org's judge. */
  judge: Omit<JudgeDeps, 'budget' | 'maxOutputTokens'> & { budget: (judge: OrgJudge) => JudgeDeps['budget'] };
  /** Where pending judgments wait for the sweeper. */
  pending: Pick<JudgeStore, 'addPending'>;
  /** Delay before the first retry of a pending judgment when the provider named none (default 60 s). */
  pendingDelayMs?: number;
  /** Escalations judged at once per consumer (default 8): the calls wait on the network, not the CPU. */
  concurrency?: number;
  clock?: Clock;
  monotonic?: () => bigint;
}

export const TIER3_NAME = 'tier3';
export const TIER3_GROUP_ID = 'metronis.tier3.v1';
const TIER = 3;
export const JUDGE_PENDING = 'judge_pending';
export const NOT_JUDGED_BUDGET = 'not_judged:budget_exhausted';
export const NOT_JUDGED_NO_PROVIDER = 'not_judged:no_provider';

/** The earliest a pending judgment is retried after its failure. */
export const MIN_PENDING_DELAY_MS = 2_000;

const SEVERITY_OF_RATING: readonly Severity[] = ['none', 'none', 'low', 'medium', 'high', 'critical'];

export function tier3Topology(options: Tier3Options): TransformTopology<'Escalation'> {
  if (typeof options?.policies?.get !== 'function') throw new TypeError('tier3Topology: policies must have get(orgId) => Promise<Policy>');
  if (typeof options.judges?.get !== 'function') throw new TypeError('tier3Topology: judges must have get(orgId) (createJudgeConfigCache)');
  return {
    kind: 'transform',
    name: TIER3_NAME,
    groupId: TIER3_GROUP_ID,
    input: TOPICS.escalationsTier3,
    outputs: [TOPICS.evaluations, TOPICS.verdicts],
    concurrency: options.concurrency ?? 8,

    async process(escalation) {
      const outcome = await evaluateTier3(escalation, options);
      if (outcome.kind === 'pending') {
        const clock = options.clock ?? Date;
        // Never due at once: the runner produces this record's judge_pending verdict after process() returns, and
        // a retry's verdict must land after it (the sinks keep the last one written).
        const next = new Date(clock.now() + Math.max(outcome.retryAfterMs ?? 0, options.pendingDelayMs ?? 60_000, MIN_PENDING_DELAY_MS));
        try {
          await options.pending.addPending(escalation.trace.org_id, escalation.trace.trace_id, escalation, outcome.reason, next);
        } catch (error) {
          // Without the pending row the retry would be lost: the record waits in the log instead.
          throw new InfrastructureError(`tier 3 could not record a pending judgment: ${(error as Error)?.message ?? String(error)}`, { cause: error });
        }
      }
      return outcome.outputs;
    },
  };
}

export type Tier3Outcome = { kind: 'judged' | 'not_judged'; outputs: Output[] } | { kind: 'pending'; outputs: Output[]; reason: string; retryAfterMs: number | null };

/** What tier 3 concludes on one escalation (the processor without the pending write; the sweeper uses it too). */
export async function evaluateTier3(escalation: Escalation, options: Pick<Tier3Options, 'policies' | 'judges' | 'judge' | 'clock' | 'monotonic'>): Promise<Tier3Outcome> {
  const { trace } = escalation;
  const clock = options.clock ?? Date;
  const monotonic = options.monotonic ?? process.hrtime.bigint;
  const started = monotonic();
  const [policy, judge] = await Promise.all([options.policies.get(trace.org_id), options.judges.get(trace.org_id)]);
  const earlier = escalation.results.filter((r) => r.tier < TIER);
  const keep = (label: string): Output[] => [{ topic: TOPICS.verdicts, value: verdictOverTiers(trace, earlier, clock.now(), [label]) }];
  if (judge === null) return { kind: 'not_judged', outputs: keep(NOT_JUDGED_NO_PROVIDER) };

  const criteria = criteriaOf(judge.settings).filter((c) => CRITERIA[c.name].applies(trace));
  const deps: JudgeDeps = {
    ...options.judge,
    budget: options.judge.budget(judge),
    maxOutputTokens: judge.settings.max_output_tokens,
    retry: { ...options.judge.retry, timeoutMs: judge.settings.timeout_ms },
  };
  const price = judge.settings.price ?? undefined;
  const outcomes = await Promise.all(
    criteria.map(async (c) => ({ criterion: c.name, version: c.version, outcome: await judgeCriterion({ orgId: trace.org_id, criterion: c.name, version: c.version, trace, provider: judge.provider, price }, deps) })),
  );

  const pending = outcomes.filter((o) => o.outcome.kind === 'pending');
  if (pending.length > 0) {
    const retryAfter = Math.max(0, ...pending.map((o) => (o.outcome.kind === 'pending' ? (o.outcome.retryAfterMs ?? 0) : 0)));
    const reason = pending.map((o) => `${o.criterion}: ${(o.outcome as { reason: string }).reason}`).join('; ');
    return { kind: 'pending', outputs: keep(JUDGE_PENDING), reason, retryAfterMs: retryAfter > 0 ? retryAfter : null };
  }
  if (outcomes.some((o) => o.outcome.kind === 'budget_exhausted')) return { kind: 'not_judged', outputs: keep(NOT_JUDGED_BUDGET) };

  const elapsedUs = () => Number((monotonic() - started) / 1000n);
  const modules = outcomes.map((o) => moduleOf(o.criterion, o.version, o.outcome, judge, policy, elapsedUs()));
  const evaluatedAt = clock.now();
  const result: TierResult = {
    evaluation_id: `${trace.trace_id}:${TIER}`,
    trace_id: trace.trace_id,
    org_id: trace.org_id,
    tier: TIER,
    evaluated_at: evaluatedAt,
    trace_timestamp: trace.timestamp,
    passed: modules.every((m) => m.passed),
    severity: maxSeverity(...modules.map((m) => m.severity)),
    score: Math.min(1, ...modules.map((m) => m.score)),
    modules,
    latency_us: elapsedUs(),
    application: trace.application,
    environment: trace.environment,
    model_provider: trace.model?.provider ?? null,
    model_name: trace.model?.name ?? null,
    tags: trace.tags,
  };
  return { kind: 'judged', outputs: [{ topic: TOPICS.evaluations, value: result }, { topic: TOPICS.verdicts, value: verdictOverTiers(trace, [...earlier, result], evaluatedAt, []) }] };
}

function moduleOf(criterion: CriterionName, version: string, outcome: CriterionOutcome, judge: OrgJudge, policy: Policy, latencyUs: number): ModuleResult {
  const model = `judge:${judge.settings.provider}/${judge.settings.model}`;
  if (outcome.kind === 'judged') {
    const { rating, label, rationale } = outcome.judgment;
    const severity = SEVERITY_OF_RATING[rating]!;
    const labels = [label, model, ...(outcome.cached ? ['cached'] : []), ...(outcome.repaired ? ['repaired'] : [])];
    const findings = rating >= 2 ? [finding(CRITERIA[criterion].kind, `${criterion} rated ${rating}/5 (${label}): ${clip(rationale, 1_000)}`, 'output', null, null, (rating - 1) / 4)] : [];
    return applyPolicy({ module: criterion, version, passed: true, score: (5 - rating) / 4, severity, labels, findings, latency_us: latencyUs, rationale: clip(rationale, 4_000) }, policy);
  }
  // The judge could not judge this trace: graded like any module error (tier 2's model_unavailable).
  const why = outcome.kind === 'invalid' ? 'invalid_judgment' : outcome.kind === 'refused' ? 'judge_refused' : 'judge_request_rejected';
  const message = 'reason' in outcome ? outcome.reason : why;
  return applyPolicy(
    { module: criterion, version, passed: false, score: 1, severity: policy.module_error_severity, labels: ['module_error', why, model], findings: [finding(why, clip(message, 1_000), 'output')], latency_us: latencyUs, rationale: null },
    policy,
  );
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
