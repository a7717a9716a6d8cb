/**
 * @metronis/evaluators: the evaluation module contract, the five Tier 1 modules, their typed
 * registry with the runner (`runModules`), the pool that runs them on worker threads under a deadline
 * (`createEvaluationPool`), and the per-organization policy.
 */
export * from './module.js';
export { verdictOverTiers } from './verdict.js';
export { boundTrace, MAX_EXAMINED_CHARS, MAX_FINDINGS, type ExaminedChars, type ExaminedField } from './bounds.js';
export {
  MODULE_NAMES,
  MODULES,
  isModuleName,
  runModule,
  runModules,
  interruptedResult,
  warmUp,
  applyPolicy,
  DEFAULT_SEVERITY_OVERRIDES,
  type Interruption,
  type ModuleName,
  type RunOptions,
} from './registry.js';
export {
  createEvaluationPool,
  EvaluationPoolClosedError,
  DEFAULT_EVALUATION_DEADLINE_MS,
  DEFAULT_EVALUATION_THREADS,
  type EvaluationPool,
  type EvaluationPoolOptions,
} from './pool/pool.js';
export {
  policySchema,
  DEFAULT_POLICY,
  parsePolicy,
  PolicyError,
  MAX_WEIGHT,
  aggregateTier,
  escalationTarget,
  escalationReason,
  isSampled,
  type Policy,
  type PolicyInput,
  type SeverityRule,
  type TierAggregate,
  type Tier2Settings,
} from './policy.js';
export { createPolicyCache, DEFAULT_POLICY_TTL_MS, DEFAULT_POLICY_CACHE_MAX_ORGS, type PolicyCache, type PolicyCacheOptions } from './policy-cache.js';
export { formatModule, formatConfigSchema, type FormatConfig } from './modules/format/index.js';
export { safetyModule, safetyConfigSchema, type SafetyConfig } from './modules/safety/index.js';
export {
  piiModule,
  piiConfigSchema,
  detectPii,
  maskPii,
  maskTrace,
  createMaskState,
  PII_KINDS,
  type PiiConfig,
  type PiiKind,
  type PiiEntity,
  type MaskResult,
  type MaskOptions,
} from './modules/pii/index.js';
export { consistencyModule, consistencyConfigSchema, CONSISTENCY_KINDS, type ConsistencyConfig } from './modules/consistency/index.js';
export { qualityModule, qualityConfigSchema, QUALITY_KINDS, type QualityConfig } from './modules/quality/index.js';
export { detectLanguage, type Detection } from './modules/quality/language.js';
export { createSharedText, type SharedText } from './shared-text.js';
