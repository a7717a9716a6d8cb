/**
 * @metronis/topology-tier3: the Tier 3 consumer group (an LLM judge with versioned prompts per
 * criterion, on OpenAI, Anthropic or any OpenAI-compatible server), its budget, cache and the sweeper
 * that retries pending judgments.
 *
 * @example
 *   console.log(describe());
 *   // topology tier3 (transform)
 *   //   group:   metronis.tier3.v1
 *   //   input:   metronis.escalations.tier3.v1 (Escalation)
 *   //   outputs: metronis.evaluations.v1 (TierResult), metronis.verdicts.v1 (Verdict)
 */
import { describeTopology } from '@metronis/streams';
import { tier3Topology, type Tier3Options } from './tier3.js';

export { tier3Topology, evaluateTier3, TIER3_NAME, TIER3_GROUP_ID, JUDGE_PENDING, NOT_JUDGED_BUDGET, NOT_JUDGED_NO_PROVIDER, MIN_PENDING_DELAY_MS, type Tier3Options, type Tier3Outcome } from './tier3.js';
export { CRITERIA, CRITERION_NAMES, judgmentSchema, judgmentJsonSchema, promptOf, userMessage, MAX_FIELD_CHARS, type CriterionName, type Criterion, type Judgment } from './criteria.js';
export { createProvider, classify, retryAfterMs, ProviderError, type JudgeProvider, type ProviderSettings, type ProviderKind, type Completion, type CompletionRequest, type ChatMessage, type TokenUsage } from './providers.js';
export { judgeCriterion, cacheKey, createConcurrencyLimiter, DEFAULT_RETRY_RULES, type BudgetLedger, type Reservation, type JudgmentCache, type ConcurrencyLimiter, type JudgeDeps, type RetryRules, type CriterionOutcome, type CriterionRequest } from './judge.js';
export { createPriceTable, estimateTokens, PRICES, type PriceTable, type ModelPrice, type Money } from './prices.js';
export { parseJudgeConfig, judgeSettingsSchema, judgeDocumentSchema, criteriaOf, createJudgeConfigCache, judgeSecretContext, JudgeConfigError, DEFAULT_CRITERIA, type JudgeSettings, type JudgeConfigSource, type OrgJudge } from './config.js';
export { storeBudget, storeCache, utcDay } from './ledger.js';
export { createPendingSweeper, NOT_JUDGED_RETRIES, type Sweeper, type SweeperOptions } from './sweeper.js';
export { outputEmitter } from './emit.js';

/**
 * Options that build the topology for its name, group and topics only (describe, replay's offset
 * moves): processing a record with them fails, saying so.
 */
export function describingOnly(): Tier3Options {
  const unusable = () => Promise.reject(new Error('tier3: this topology was built for describing only; give tier3Topology its policies, judges and store to run it'));
  return { policies: { get: unusable }, judges: { get: unusable, invalidate() {} }, judge: undefined as never, pending: { addPending: unusable } };
}

/** The tier as text (`describeTopology`), without a store or a provider. */
export function describe(): string {
  return describeTopology(tier3Topology(describingOnly()));
}
