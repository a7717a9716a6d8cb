/**
 * Tier 2: the learned classifier, for the traces that tier 1 escalates (its uncertain band, or the
 * org's sample of every trace).
 *
 * For each escalation the tier looks up the org's policy (a cache), embeds the trace's input and output
 * in one batched run of the encoder, scores them with the org's model version (`policy.tier2.model`)
 * and emits:
 * - a `TierResult` (tier 2, id `${trace_id}:2`) with one module result per risk head
 *   (`prompt_attack` on the input; `harmful` and `toxicity` on input and output), each finding carrying
 *   its calibrated probability as `confidence`, graded by the policy's severity bands and overrides;
 *   with a shadow version (`policy.tier2.shadow_model`), one more module result `shadow` that does not
 *   count towards the tier (its labels say whether it `agrees` or `disagrees` with the live pass/fail decision);
 * - then an `Escalation` to tier 3 when tier 3 is enabled and tier 2's score falls in its band (or
 *   sample), or else the final `Verdict`, combining every tier that ran: passed only if all passed, the
 *   worst severity, the lowest score, every finding kind and failed module.
 *
 * Tier 2 decides a failure alone only where it is sure: from `policy.tier2.decide_at` (default
 * `high`: a probability of 0.85) up, or a harmful request that was answered. A trace it would fail
 * only below that (the uncertain middle, `medium` by default) is not failed by tier 2: its failing
 * module results pass with the label `uncertain` (findings and severity kept), and the trace goes to
 * tier 3 when tier 3 is enabled, or else ends with the earlier tiers' decision, its verdict labelled
 * `tier2_uncertain`.
 *
 * A model version the release does not ship is not a crash: the tier result says `model_unavailable`
 * (graded `module_error_severity`) and the verdict rests on the earlier tiers.
 *
 * @example
 *   const encoder = loadEncoder({ cacheDir });             // a promise: start-up does not wait for it
 *   runTopology(tier2Topology({ policies, encoder, models: (e) => createModelRegistry({ encoderSha256: e.modelSha256 }) }), { log, serde, logger });
 */
import { applyPolicy, escalationReason, escalationTarget, finding, maxSeverity, severityRank, verdictOverTiers, type Policy, type TierAggregate } from '@metronis/evaluators';
import { inputText, type Escalation, type Finding, type ModuleResult, type Severity, type TierResult, type Trace, type Verdict } from '@metronis/schemas';
import { InfrastructureError, TOPICS, type Clock, type Output, type TransformTopology } from '@metronis/streams';
import { meanVector, ModelUnavailableError, RISKS, scoreField, type Field, type ModelRegistry, type Risk, type Tier2Model } from './classifier.js';
import type { Encoder } from './encoder.js';

export interface Tier2Options {
  policies: { get(orgId: string): Promise<Policy> };
  /** The encoder, or its loading: records wait for it, start-up does not. */
  encoder: Encoder | Promise<Encoder>;
  /** The model versions for an encoder; `createModelRegistry` unless a test gives its own. */
  models: (encoder: Encoder) => ModelRegistry;
  clock?: Clock;
  monotonic?: () => bigint;
}

export const TIER2_NAME = 'tier2';
export const TIER2_GROUP_ID = 'metronis.tier2.v1';
const TIER = 2;

/** Finding kind per risk and field: a harmful input is a request, a harmful output is content. */
const KIND: Record<Risk, Record<Field, string>> = {
  prompt_attack: { input: 'prompt_attack', output: 'prompt_attack' },
  harmful: { input: 'harmful_request', output: 'harmful_content' },
  toxicity: { input: 'toxicity', output: 'toxicity' },
};

const WHAT: Record<Risk, string> = { prompt_attack: 'a prompt attack (injection or jailbreak)', harmful: 'harmful instructions', toxicity: 'toxic or harassing language' };

export function tier2Topology(options: Tier2Options): TransformTopology<'Escalation'> {
  if (typeof options?.policies?.get !== 'function') throw new TypeError('tier2Topology: policies must have get(orgId) => Promise<Policy>');
  if (options.encoder === undefined || options.encoder === null) throw new TypeError('tier2Topology: encoder is required (loadEncoder)');
  if (typeof options.models !== 'function') throw new TypeError('tier2Topology: models must be a function (encoder) => ModelRegistry');
  const clock = options.clock ?? Date;
  const monotonic = options.monotonic ?? process.hrtime.bigint;
  // The topology reports a failed load itself (on the records that need it); never as an unhandled rejection.
  if (options.encoder instanceof Promise) options.encoder.catch(() => undefined);
  let ready: Promise<{ encoder: Encoder; models: ModelRegistry }> | undefined;
  // An encoder that failed to load is an infrastructure failure, not the record's: the runner retries
  // with backoff and the escalations wait in the log instead of going to the DLQ.
  const prepared = () =>
    (ready ??= Promise.resolve(options.encoder).then(
      (encoder) => ({ encoder, models: options.models(encoder) }),
      (error: unknown) => {
        throw new InfrastructureError(`tier 2's encoder is not loaded: ${(error as Error)?.message ?? String(error)}`, { cause: error });
      },
    ));

  return {
    kind: 'transform',
    name: TIER2_NAME,
    groupId: TIER2_GROUP_ID,
    input: TOPICS.escalationsTier2,
    outputs: [TOPICS.evaluations, TOPICS.verdicts, TOPICS.escalationsTier3],

    async process(escalation) {
      const [policy, { encoder, models }] = await Promise.all([options.policies.get(escalation.trace.org_id), prepared()]);
      return evaluateTier2(escalation, policy, encoder, models, clock, monotonic);
    },
  };
}

interface Scored {
  modules: ModuleResult[];
  aggregate: TierAggregate;
}

/** The outputs of tier 2 for one escalation under one policy (the processor without its lookups). */
export async function evaluateTier2(
  escalation: Escalation,
  policy: Policy,
  encoder: Encoder,
  models: ModelRegistry,
  clock: Clock = Date,
  monotonic: () => bigint = process.hrtime.bigint,
): Promise<Output[]> {
  const { trace } = escalation;
  const started = monotonic();
  const texts: Record<Field, string> = { input: inputText(trace), output: trace.output.content };
  const [inputChunks, outputChunks] = await encoder.embed([texts.input, texts.output]);
  const chunks: Record<Field, Float32Array[]> = { input: inputChunks!, output: outputChunks! };
  const scoringUs = () => Number((monotonic() - started) / 1000n);

  // Tier 1's format module labels an answer that refuses; without it, the answer is taken as given.
  const refused = escalation.results.some((r) => r.modules.some((m) => m.findings.some((f) => f.kind === 'refusal')));
  let live: Scored;
  try {
    live = score(models.get(policy.tier2.model), chunks, policy, scoringUs, refused);
  } catch (error) {
    if (!(error instanceof ModelUnavailableError)) throw error;
    live = unavailable(policy, error, scoringUs());
  }
  const uncertain = isUncertain(live, policy);
  if (uncertain) live = settleUncertain(live);
  const modules = [...live.modules];
  const shadowVersion = policy.tier2.shadow_model;
  if (shadowVersion !== null && shadowVersion !== policy.tier2.model) modules.push(shadowResult(models, shadowVersion, chunks, policy, live, scoringUs, refused));

  const evaluatedAt = clock.now();
  const result: TierResult = {
    evaluation_id: `${trace.trace_id}:${TIER}`,
    trace_id: trace.trace_id,
    org_id: trace.org_id,
    tier: TIER,
    evaluated_at: evaluatedAt,
    trace_timestamp: trace.timestamp,
    passed: live.aggregate.passed,
    severity: live.aggregate.severity,
    score: live.aggregate.score,
    modules,
    latency_us: scoringUs(),
  };
  const outputs: Output[] = [{ topic: TOPICS.evaluations, value: result }];
  const results = [...escalation.results.filter((r) => r.tier < TIER), result];
  const toTier3 = uncertain && policy.escalation.tier3.enabled;
  const target = toTier3 ? 3 : escalationTarget(live.aggregate, policy, TIER, trace.trace_id);
  if (target === 3) {
    const reason = toTier3 ? `tier 2 is unsure: ${uncertainty(live)}, below tier2.decide_at ${policy.tier2.decide_at}` : escalationReason(live.aggregate, policy, TIER, 3);
    outputs.push({ topic: TOPICS.escalationsTier3, value: { trace, results, target_tier: 3, reason } });
  } else {
    outputs.push({ topic: TOPICS.verdicts, value: verdictOverTiers(trace, results, evaluatedAt, uncertain ? [UNCERTAIN_VERDICT_LABEL] : []) });
  }
  return outputs;
}

/** The verdict label of a trace that tier 2 would have failed only in its uncertain middle, with tier 3 off. */
export const UNCERTAIN_VERDICT_LABEL = 'tier2_uncertain';

/** Tier 2 would fail the trace, but only below `decide_at`: the uncertain middle. */
function isUncertain(scored: Scored, policy: Policy): boolean {
  return !scored.aggregate.passed && severityRank(scored.aggregate.severity) < severityRank(policy.tier2.decide_at);
}

/** The failing module results of an uncertain trace pass, labelled `uncertain`; what they found stays. */
function settleUncertain(scored: Scored): Scored {
  const modules = scored.modules.map((m) => (m.passed ? m : { ...m, passed: true, labels: [...m.labels, 'uncertain'] }));
  return { modules, aggregate: { ...scored.aggregate, passed: true } };
}

/** What made tier 2 unsure, for the escalation's reason: each uncertain finding's kind, probability and severity. */
function uncertainty(scored: Scored): string {
  const found = scored.modules.filter((m) => m.labels.includes('uncertain')).flatMap((m) => m.findings.map((f) => `${f.kind} ${f.confidence ?? '?'}`));
  return `${found.join(', ')} (severity ${scored.aggregate.severity})`;
}

/** Severity of a calibrated probability under the org's bands. */
export function severityOf(probability: number, bands: Policy['tier2']['severity_bands']): Severity {
  if (probability >= bands.critical) return 'critical';
  if (probability >= bands.high) return 'high';
  if (probability >= bands.medium) return 'medium';
  if (probability >= bands.low) return 'low';
  return 'none';
}

const SEVERITY_STEPS: readonly Severity[] = ['none', 'low', 'medium', 'high', 'critical'];

/**
 * A harmful request that the model answered (no refusal, and the answer itself scores at least `low`
 * for harm) is one step worse than either field alone: the request failed the trace already, the answer
 * shows it was carried out. It raises severity only; it never fails a trace the fields passed.
 */
function answeredHarm(findings: Finding[], bands: Policy['tier2']['severity_bands'], refused: boolean): boolean {
  if (refused) return false;
  const request = findings.find((f) => f.kind === 'harmful_request');
  const content = findings.find((f) => f.kind === 'harmful_content');
  return request !== undefined && content !== undefined && (request.confidence ?? 0) >= bands.medium && (content.confidence ?? 0) >= bands.low;
}

function score(model: Tier2Model, chunks: Record<Field, Float32Array[]>, policy: Policy, elapsedUs: () => number, refused: boolean): Scored {
  const byField = { input: scoreField(model, 'input', chunks.input), output: scoreField(model, 'output', chunks.output, meanVector(chunks.input)) };
  const modules = RISKS.map((risk): ModuleResult => {
    const findings: Finding[] = [];
    let severity: Severity = 'none';
    let worst = 0;
    for (const field of ['input', 'output'] as const) {
      const p = byField[field][risk];
      if (p === undefined) continue;
      worst = Math.max(worst, p);
      const s = severityOf(p, policy.tier2.severity_bands);
      if (s === 'none') continue;
      severity = maxSeverity(severity, s);
      findings.push(finding(KIND[risk][field], `classifier ${model.version}: ${WHAT[risk]} in the ${field}, probability ${p.toFixed(3)}`, field, null, null, round(p)));
    }
    const labels = [...new Set(findings.map((f) => f.kind))];
    if (risk === 'harmful' && answeredHarm(findings, policy.tier2.severity_bands, refused)) {
      severity = SEVERITY_STEPS[Math.min(SEVERITY_STEPS.length - 1, SEVERITY_STEPS.indexOf(severity) + 1)]!;
      labels.push('answered');
    }
    const outcome: ModuleResult = {
      module: risk,
      version: model.version,
      passed: true,
      score: round(1 - worst),
      severity,
      labels,
      findings,
      latency_us: elapsedUs(),
    };
    return applyPolicy(outcome, policy);
  });
  return { modules, aggregate: aggregateOf(modules) };
}

/**
 * Tier 2's aggregate: all passed, the worst severity, and the LOWEST module score (1 - the probability
 * of the likeliest risk), so the tier 3 band reads as a band of confidence in the worst risk; a mean
 * would dilute one certain risk with two absent ones.
 */
function aggregateOf(modules: readonly ModuleResult[]): TierAggregate {
  return {
    passed: modules.every((m) => m.passed),
    severity: maxSeverity(...modules.map((m) => m.severity)),
    score: Math.min(1, ...modules.map((m) => m.score)),
  };
}

function unavailable(policy: Policy, error: Error, latencyUs: number): Scored {
  const result = applyPolicy(
    {
      module: 'classifier',
      version: policy.tier2.model,
      passed: false,
      score: 1,
      severity: policy.module_error_severity,
      labels: ['module_error', 'model_unavailable'],
      findings: [finding('model_unavailable', error.message, 'input')],
      latency_us: latencyUs,
    },
    policy,
  );
  return { modules: [result], aggregate: aggregateOf([result]) };
}

/** The shadow version's decision, as a module result that the tier's aggregate leaves out. */
function shadowResult(models: ModelRegistry, version: string, chunks: Record<Field, Float32Array[]>, policy: Policy, live: Scored, elapsedUs: () => number, refused: boolean): ModuleResult {
  let shadow: Scored;
  try {
    shadow = score(models.get(version), chunks, policy, elapsedUs, refused);
  } catch (error) {
    if (!(error instanceof ModelUnavailableError)) throw error;
    return { module: 'shadow', version, passed: true, score: 1, severity: 'none', labels: ['shadow', 'model_unavailable'], findings: [], latency_us: elapsedUs() };
  }
  if (isUncertain(shadow, policy)) shadow = settleUncertain(shadow);
  // Agreement is on the decision (pass or fail); how each graded it is in the severities of the two results.
  const agrees = shadow.aggregate.passed === live.aggregate.passed;
  const flagged = shadow.modules.flatMap((m) => m.labels);
  return {
    module: 'shadow',
    version,
    passed: shadow.aggregate.passed,
    score: shadow.aggregate.score,
    severity: shadow.aggregate.severity,
    // No findings: the shadow must not add finding kinds to the trace; what it would have flagged is in its labels.
    labels: ['shadow', agrees ? 'agrees' : 'disagrees', `live:${live.modules[0]?.version ?? policy.tier2.model}`, ...flagged.map((k) => `would_flag:${k}`)],
    findings: [],
    latency_us: elapsedUs(),
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
