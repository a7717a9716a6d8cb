/**
 * The per-organization evaluation policy: which modules run and with what configuration (each
 * module's own `configSchema`), how findings are graded (severity overrides per finding kind; by
 * default a `secret` or a `credit_card` in the output is `critical`), when a module fails, whether PII
 * is masked before storage, and when a trace escalates to tier 2 or 3. Parsed once, where the policy
 * enters (API, config file, cache), with errors that name the path of each bad value.
 *
 * @example
 *   const policy = parsePolicy('{"modules":{"quality":{"config":{"allowed_languages":["en"]}}}}');
 *   const results = runModules(trace, policy); // graded by the policy (registry.ts)
 *   aggregateTier(results, policy);            // { passed, severity, score }
 */
import { SEVERITIES, type ModuleResult, type Severity } from '@metronis/schemas';
import { z } from 'zod';
import { maxSeverity } from './module.js';
import { MODULE_NAMES, MODULES, type ModuleName } from './registry.js';

// Grading a module result by the policy happens in the runner (registry.ts); re-exported here.
export { applyPolicy, DEFAULT_SEVERITY_OVERRIDES } from './registry.js';

const severity = z.enum(SEVERITIES as [Severity, ...Severity[]]);

/** Largest module weight: weights are relative, and a bound keeps the weighted mean finite. */
export const MAX_WEIGHT = 1_000;
type Modules = typeof MODULES;

function moduleEntry<C extends z.ZodType>(configSchema: C) {
  return z.strictObject({
    enabled: z.boolean().default(true),
    config: configSchema.prefault({} as z.input<C>),
    weight: z.number().min(0).max(MAX_WEIGHT).default(1).describe(`Weight of the module score in the tier score (0..${MAX_WEIGHT}); 0 leaves it out.`),
    // Accepted so that stored policies keep parsing, and ignored: a wall-clock budget made a verdict depend
    // on how busy the machine was. Evaluation is bounded by input caps and a per-trace deadline instead
    // (README, "Evaluation bounds").
    budget_us: z.number().int().positive().max(60_000_000).default(10_000).describe('Deprecated and ignored (see the per-trace evaluation deadline).'),
  });
}
type ModuleEntrySchema<C extends z.ZodType> = ReturnType<typeof moduleEntry<C>>;
type ModulesShape = { [K in ModuleName]: z.ZodPrefault<ModuleEntrySchema<Modules[K]['configSchema']>> };

const modulesShape = Object.fromEntries(
  MODULE_NAMES.map((name) => [name, moduleEntry(MODULES[name].configSchema).prefault({})]),
) as unknown as ModulesShape;

const severityRule = z.strictObject({
  kind: z.string().min(1).max(100).describe('Finding kind, e.g. secret, ungrounded.'),
  module: z.enum(MODULE_NAMES).optional(),
  field: z.enum(['input', 'output', 'context']).optional(),
  severity,
});
export type SeverityRule = z.output<typeof severityRule>;

const escalationRule = z.strictObject({
  enabled: z.boolean().default(false),
  band: z
    .strictObject({ min_score: z.number().min(0).max(1).default(0.3), max_score: z.number().min(0).max(1).default(0.8) })
    .refine((b) => b.min_score <= b.max_score, { message: 'min_score must not exceed max_score', path: ['min_score'] })
    .prefault({})
    .describe('Escalate when the earlier tier’s score falls inside [min_score, max_score]: the uncertain band.'),
  sample_rate: z
    .number()
    .min(0)
    .max(1)
    .default(0)
    .describe('Also escalate this fraction of the other traces (chosen by a hash of the trace id, so a redelivered trace is chosen again); 1 sends every trace.'),
});

const modelVersion = z.string().regex(/^v\d+$/, 'a model version is v<number>, e.g. v1');
const probability = z.number().min(0).max(1);

const tier2Settings = z.strictObject({
  model: modelVersion.default('v3').describe('The tier 2 model version that decides for this organization.'),
  shadow_model: modelVersion.nullable().default(null).describe('A second version that scores the same traces without deciding; its agreement with the live one is in the facts.'),
  severity_bands: z
    .strictObject({ low: probability.default(0.25), medium: probability.default(0.5), high: probability.default(0.85), critical: probability.default(0.97) })
    .refine((b) => b.low <= b.medium && b.medium <= b.high && b.high <= b.critical, { message: 'bands must not decrease from low to critical', path: ['low'] })
    .prefault({})
    .describe('A risk whose calibrated probability reaches a band gets that severity.'),
  decide_at: severity
    .default('high')
    .describe(
      'Tier 2 fails a trace on its own from this severity up (or when a harmful request was answered). A trace it would fail only below it (at fail_at or more: the uncertain middle, by default a probability of 0.5 to 0.85) goes to tier 3 when tier 3 is enabled; otherwise it is not failed by tier 2, and its verdict is labelled tier2_uncertain. At fail_at or lower, tier 2 decides every failure alone.',
    ),
});
export type Tier2Settings = z.output<typeof tier2Settings>;

export const policySchema = z.strictObject({
  version: z.literal(1).default(1),
  modules: z.strictObject(modulesShape).prefault({}),
  severity_overrides: z
    .array(severityRule)
    .max(1_000)
    .default([])
    .describe('Re-grade findings; applied after DEFAULT_SEVERITY_OVERRIDES, the last matching rule wins.'),
  fail_at: severity.default('medium').describe('A module fails when its graded severity reaches this.'),
  module_error_severity: severity.default('low').describe('Severity of a module that threw or ran over budget.'),
  mask_pii_before_storage: z.boolean().default(false),
  escalation: z.strictObject({ tier2: escalationRule.prefault({}), tier3: escalationRule.prefault({}) }).prefault({}),
  tier2: tier2Settings.prefault({}),
});
export type Policy = z.output<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;

export const DEFAULT_POLICY: Policy = policySchema.parse({});

export class PolicyError extends Error {
  override name = 'PolicyError';
  constructor(readonly issues: { path: string; message: string }[]) {
    super(`invalid policy: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`);
  }
}

/** Parses a policy document (JSON text or a parsed value); throws PolicyError naming each bad path. */
export function parsePolicy(input: unknown): Policy {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (error) {
      throw new PolicyError([{ path: '', message: `not valid JSON (${(error as Error).message})` }]);
    }
  }
  const parsed = policySchema.safeParse(value);
  if (!parsed.success) {
    throw new PolicyError(parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })));
  }
  return parsed.data;
}

export interface TierAggregate {
  passed: boolean;
  severity: Severity;
  score: number;
}

/** Tier verdict from graded module results: all passed, the worst severity, the weighted mean score. */
export function aggregateTier(results: readonly ModuleResult[], policy: Policy): TierAggregate {
  let severityOut: Severity = 'none';
  let passed = true;
  let weighted = 0;
  let weights = 0;
  for (const r of results) {
    severityOut = maxSeverity(severityOut, r.severity);
    passed &&= r.passed;
    const weight = (policy.modules as Record<string, { weight: number } | undefined>)[r.module]?.weight ?? 1;
    weighted += weight * r.score;
    weights += weight;
  }
  return { passed, severity: severityOut, score: weights === 0 ? 1 : Math.round((weighted / weights) * 1000) / 1000 };
}

/**
 * The next tier after `fromTier` that is enabled and whose band holds the score, or that samples the
 * trace (`sample_rate`, by a hash of `traceId`), or null.
 */
export function escalationTarget(aggregate: TierAggregate, policy: Policy, fromTier: number, traceId?: string): 2 | 3 | null {
  const tiers: [2 | 3, z.output<typeof escalationRule>][] = [[2, policy.escalation.tier2], [3, policy.escalation.tier3]];
  for (const [tier, rule] of tiers) {
    if (tier <= fromTier || !rule.enabled) continue;
    if (aggregate.score >= rule.band.min_score && aggregate.score <= rule.band.max_score) return tier;
    if (traceId !== undefined && isSampled(traceId, tier, rule.sample_rate)) return tier;
  }
  return null;
}

/** Why `escalationTarget` chose `target`: the band that holds the score, or the sample. */
export function escalationReason(aggregate: TierAggregate, policy: Policy, fromTier: number, target: 2 | 3): string {
  const rule = target === 2 ? policy.escalation.tier2 : policy.escalation.tier3;
  const { min_score, max_score } = rule.band;
  if (aggregate.score < min_score || aggregate.score > max_score) return `tier ${fromTier} score ${aggregate.score} is outside the band; the trace is in tier ${target}'s sample (sample_rate ${rule.sample_rate})`;
  return `tier ${fromTier} score ${aggregate.score} is inside the tier ${target} escalation band [${min_score}, ${max_score}]`;
}

/** Whether a trace falls in a tier's sample: FNV-1a of the tier and trace id, as a fraction of 2^32, below the rate. */
export function isSampled(traceId: string, tier: number, rate: number): boolean {
  if (rate <= 0) return false;
  if (rate >= 1) return true;
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(`${tier}:${traceId}`, 'utf8')) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash / 0x1_0000_0000 < rate;
}
