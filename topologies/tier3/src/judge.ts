/**
 * One criterion judged on one trace: the cache first, then the org's daily budget, then the provider
 * (under its endpoint's concurrency limit and a deadline per call), the answer validated with zod and,
 * when it does not validate, one repair turn that shows the model its answer and what was wrong.
 *
 * What can come back (`CriterionOutcome`):
 * - `judged`: a valid judgment (from the cache, the first answer or the repair);
 * - `invalid` / `refused` / `rejected`: the judge's own failure on this trace (malformed twice, the
 *   model refused to judge, the provider refused the request with a 400): graded as a module error;
 * - `budget_exhausted`: the call would not fit in what is left of today's budget; nothing was spent;
 * - `pending`: 429s, 5xx, timeouts or unreachable past the retry budget. Never a verdict: the tier
 *   keeps the earlier tiers' verdict marked `judge_pending` and retries later.
 *
 * Retries: exponential backoff with full jitter (`initialMs`·2^n, capped at `maxMs`), or the
 * provider's `retry-after` when it is longer; a retry that would start past `retryBudgetMs` since the
 * first call (calls and waits counted) ends the attempts at once (pending, with the provider's
 * `retry-after` as the earliest next attempt), so a consumer never holds an escalation for long.
 */
import { createHash } from 'node:crypto';
import type { Trace } from '@metronis/schemas';
import { CRITERIA, judgmentJsonSchema, judgmentSchema, promptOf, userMessage, type CriterionName, type Judgment } from './criteria.js';
import { estimateTokens, type Money, type PriceTable } from './prices.js';
import { ProviderError, type ChatMessage, type Completion, type JudgeProvider, type TokenUsage } from './providers.js';

export interface RetryRules {
  /** Calls per criterion before the trace goes pending (default 4). */
  maxAttempts: number;
  /** No retry starts past this much time since the criterion's first call, calls and waits counted (default 45 s): a consumer never holds an escalation for long. */
  retryBudgetMs: number;
  initialMs: number;
  maxMs: number;
  /** Deadline of one call, the whole answer included (default 60 s). */
  timeoutMs: number;
}

export const DEFAULT_RETRY_RULES: RetryRules = { maxAttempts: 4, retryBudgetMs: 45_000, initialMs: 500, maxMs: 8_000, timeoutMs: 60_000 };

/** Today's spend for an org; `reserve` is atomic and answers null when the call would pass the limits. */
export interface BudgetLedger {
  reserve(orgId: string, tokens: number, cost: Money): Promise<Reservation | null>;
}

export interface Reservation {
  /** Corrects the reservation by what the call really used (a negative amount gives back). */
  settle(tokens: number, cost: Money): Promise<void>;
}

export interface JudgmentCache {
  /** The cached judgment (validated again by the judge before use), or null. */
  get(orgId: string, key: string): Promise<unknown>;
  put(orgId: string, key: string, judgment: Judgment): Promise<void>;
}

/** A limit on calls in flight per provider endpoint (shared by every org of this process). */
export interface ConcurrencyLimiter {
  run<T>(endpoint: string, task: () => Promise<T>): Promise<T>;
}

export interface JudgeDeps {
  budget: BudgetLedger;
  cache: JudgmentCache;
  limiter: ConcurrencyLimiter;
  prices: PriceTable;
  retry: RetryRules;
  maxOutputTokens: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export type CriterionOutcome =
  | { kind: 'judged'; judgment: Judgment; usage: TokenUsage; cost: Money; repaired: boolean; cached: boolean; attempts: number }
  | { kind: 'invalid' | 'refused' | 'rejected'; reason: string; usage: TokenUsage; cost: Money; attempts: number }
  | { kind: 'budget_exhausted'; reason: string }
  | { kind: 'pending'; reason: string; retryAfterMs: number | null; attempts: number };

export interface CriterionRequest {
  orgId: string;
  criterion: CriterionName;
  version: string;
  trace: Trace;
  provider: JudgeProvider;
  /** The org's own price for its model (a local server's), when the table has none. */
  price?: { input_per_mtok: number; output_per_mtok: number } | undefined;
}

const SCHEMA_NAME = 'judgment';
const ZERO: TokenUsage = { input_tokens: 0, output_tokens: 0 };

/** The cache key: the criterion's prompt version, the judge model and the exact text judged. */
export function cacheKey(request: Pick<CriterionRequest, 'criterion' | 'version' | 'trace' | 'provider'>): string {
  const { provider } = request.provider.settings;
  return createHash('sha256')
    .update(JSON.stringify([request.criterion, request.version, provider, request.provider.settings.model, request.provider.settings.api ?? null, userMessage(request.criterion, request.trace)]))
    .digest('hex');
}

export async function judgeCriterion(request: CriterionRequest, deps: JudgeDeps): Promise<CriterionOutcome> {
  const prompt = promptOf(request.criterion, request.version);
  if (prompt === undefined) {
    return { kind: 'rejected', reason: `prompt ${request.criterion}@${request.version} is not shipped with this release (latest ${CRITERIA[request.criterion].latest})`, usage: ZERO, cost: 0, attempts: 0 };
  }
  const key = cacheKey(request);
  const schema = judgmentSchema(request.criterion);
  const hit = schema.safeParse(await deps.cache.get(request.orgId, key));
  if (hit.success) return { kind: 'judged', judgment: hit.data, usage: ZERO, cost: 0, repaired: false, cached: true, attempts: 0 };

  const messages: ChatMessage[] = [{ role: 'user', content: userMessage(request.criterion, request.trace) }];
  const spent = { usage: { ...ZERO }, cost: 0, attempts: 0 };
  const first = await callWithRetries(request, prompt.system, messages, deps, spent);
  if (first.kind !== 'completion') return first.outcome;
  if (first.completion.kind === 'refusal') return { kind: 'refused', reason: `the judge refused: ${clip(first.completion.text)}`, ...spent };
  const parsed = validate(schema, first.completion.text);
  if (parsed.ok) {
    await deps.cache.put(request.orgId, key, parsed.value);
    return { kind: 'judged', judgment: parsed.value, repaired: false, cached: false, ...spent };
  }
  // One repair turn: the model sees its own answer and what was wrong with it.
  const repairMessages: ChatMessage[] = [
    ...messages,
    { role: 'assistant', content: first.completion.text.slice(0, 8_000) || '(empty)' },
    { role: 'user', content: `That answer is not valid: ${parsed.error}. Answer again with only the JSON object: {"rating": 1-5, "label": one of ${JSON.stringify(CRITERIA[request.criterion].labels)}, "rationale": "..."}.` },
  ];
  const second = await callWithRetries(request, prompt.system, repairMessages, deps, spent);
  if (second.kind !== 'completion') return second.outcome;
  if (second.completion.kind === 'refusal') return { kind: 'refused', reason: `the judge refused: ${clip(second.completion.text)}`, ...spent };
  const repaired = validate(schema, second.completion.text);
  if (!repaired.ok) return { kind: 'invalid', reason: `the judge's answer did not validate, twice: ${repaired.error}`, ...spent };
  await deps.cache.put(request.orgId, key, repaired.value);
  return { kind: 'judged', judgment: repaired.value, repaired: true, cached: false, ...spent };
}

type CallResult = { kind: 'completion'; completion: Completion } | { kind: 'outcome'; outcome: CriterionOutcome };

async function callWithRetries(
  request: CriterionRequest,
  system: string,
  messages: ChatMessage[],
  deps: JudgeDeps,
  spent: { usage: TokenUsage; cost: number; attempts: number },
): Promise<CallResult> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = deps.random ?? Math.random;
  const { retry } = deps;
  const model = request.provider.settings.model;
  const schema = judgmentJsonSchema(request.criterion);
  const estimate = estimateTokens(system, messages, deps.maxOutputTokens, schema);
  const estimatedCost = deps.prices.cost(request.provider.settings.provider, model, estimate, request.price);
  const started = Date.now();
  let waited = 0;
  let last: ProviderError | undefined;
  for (let attempt = 0; attempt < retry.maxAttempts; attempt++) {
    // Reserved before the call at its most (every byte a token, the whole output allowance), so the day's limit is never passed.
    const reservation = await deps.budget.reserve(request.orgId, estimate.input_tokens + estimate.output_tokens, estimatedCost);
    if (reservation === null) {
      return { kind: 'outcome', outcome: { kind: 'budget_exhausted', reason: `today's judge budget cannot cover another call (up to ${estimate.input_tokens + estimate.output_tokens} tokens, $${estimatedCost.toFixed(6)})` } };
    }
    spent.attempts++;
    try {
      // The deadline starts when the call does, not while it waits for a free slot.
      const completion = await deps.limiter.run(request.provider.endpoint, async () => {
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(new Error(`no complete answer within ${retry.timeoutMs} ms`)), retry.timeoutMs);
        try {
          return await request.provider.complete({ system, messages, schemaName: SCHEMA_NAME, schema, maxOutputTokens: deps.maxOutputTokens, signal: controller.signal });
        } finally {
          clearTimeout(timer);
        }
      });
      const cost = deps.prices.cost(request.provider.settings.provider, model, completion.usage, request.price);
      await reservation.settle(completion.usage.input_tokens + completion.usage.output_tokens - (estimate.input_tokens + estimate.output_tokens), cost - estimatedCost);
      spent.usage.input_tokens += completion.usage.input_tokens;
      spent.usage.output_tokens += completion.usage.output_tokens;
      spent.cost += cost;
      return { kind: 'completion', completion };
    } catch (error) {
      const failure = error instanceof ProviderError ? error : new ProviderError((error as Error)?.message ?? String(error), true, null, null, { cause: error });
      // A refused connection or an HTTP error answer was not billed; a call cut by its deadline may have been, so its reservation stays spent.
      if (!failure.timedOut) await reservation.settle(-(estimate.input_tokens + estimate.output_tokens), -estimatedCost);
      if (!failure.transient) return { kind: 'outcome', outcome: { kind: 'rejected', reason: failure.message, usage: spent.usage, cost: spent.cost, attempts: spent.attempts } };
      last = failure;
      if (attempt + 1 >= retry.maxAttempts) break;
      const backoff = Math.min(retry.maxMs, retry.initialMs * 2 ** attempt) * random();
      const wait = Math.max(backoff, failure.retryAfterMs ?? 0);
      // Time spent so far: the clock, or the waits when `sleep` does not let it run (tests).
      if (Math.max(Date.now() - started, waited) + wait > retry.retryBudgetMs) break;
      waited += wait;
      await sleep(wait);
    }
  }
  return { kind: 'outcome', outcome: { kind: 'pending', reason: `${last?.message ?? 'the provider failed'} (after ${spent.attempts} attempts)`, retryAfterMs: last?.retryAfterMs ?? null, attempts: spent.attempts } };
}

function validate(schema: ReturnType<typeof judgmentSchema>, text: string): { ok: true; value: Judgment } | { ok: false; error: string } {
  let value: unknown;
  try {
    value = JSON.parse(stripFences(text));
  } catch (error) {
    return { ok: false, error: `not JSON (${(error as Error).message})` };
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, error: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') };
}

/** Servers without structured output often wrap JSON in a Markdown fence. */
function stripFences(text: string): string {
  const match = /^\s*```(?:json)?\s*([\s\S]*?)\s*```\s*$/.exec(text);
  return match ? match[1]! : text;
}

function clip(text: string, max = 300): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** A limiter with `limit` calls in flight per endpoint; the rest wait in order. */
export function createConcurrencyLimiter(limit: number): ConcurrencyLimiter {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`createConcurrencyLimiter: limit must be a positive integer, got ${limit}`);
  const pools = new Map<string, { active: number; waiting: (() => void)[] }>();
  return {
    async run(endpoint, task) {
      let pool = pools.get(endpoint);
      if (pool === undefined) pools.set(endpoint, (pool = { active: 0, waiting: [] }));
      if (pool.active >= limit) await new Promise<void>((resolve) => pool!.waiting.push(resolve));
      else pool.active++;
      try {
        return await task();
      } finally {
        const next = pool.waiting.shift();
        if (next !== undefined) next();
        else pool.active--;
      }
    },
  };
}
