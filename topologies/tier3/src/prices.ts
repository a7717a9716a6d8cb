/**
 * What a judge call costs: a price table per model (USD per million input and output tokens, from
 * the providers' published prices; a dated model name such as `gpt-4o-2024-08-06` takes the price of
 * its longest listed prefix), the org's own price for a model the table lacks, and the upper bound of
 * a call's tokens that the budget reserves before calling.
 *
 * The bound counts every UTF-8 byte of the prompt and of the output schema as a token (byte-level BPE
 * tokenizers, which the OpenAI and Anthropic models use, never make more tokens than bytes), a few per
 * message, a fixed allowance for what the provider wraps around a structured call, and the whole
 * output allowance: a reservation is not smaller than the call, so the day's limit holds. (A provider
 * that counted more than that would be settled at its own count: the limit would be passed by that
 * difference, once, and no call would be made after it.)
 *
 * @example
 *   const prices = createPriceTable();
 *   prices.cost('openai', 'gpt-4o-mini', { input_tokens: 1000, output_tokens: 200 }); // 0.00027
 */
import type { ChatMessage, ProviderKind, TokenUsage } from './providers.js';

/** US dollars. */
export type Money = number;

export interface ModelPrice {
  input_per_mtok: number;
  output_per_mtok: number;
}

/** Published prices (USD per million tokens), as of the release; an org can give its own in its judge configuration. */
export const PRICES: Readonly<Record<string, ModelPrice>> = {
  'gpt-4o-mini': { input_per_mtok: 0.15, output_per_mtok: 0.6 },
  'gpt-4o': { input_per_mtok: 2.5, output_per_mtok: 10 },
  'gpt-4.1-nano': { input_per_mtok: 0.1, output_per_mtok: 0.4 },
  'gpt-4.1-mini': { input_per_mtok: 0.4, output_per_mtok: 1.6 },
  'gpt-4.1': { input_per_mtok: 2, output_per_mtok: 8 },
  'gpt-5-nano': { input_per_mtok: 0.05, output_per_mtok: 0.4 },
  'gpt-5-mini': { input_per_mtok: 0.25, output_per_mtok: 2 },
  'gpt-5': { input_per_mtok: 1.25, output_per_mtok: 10 },
  'o4-mini': { input_per_mtok: 1.1, output_per_mtok: 4.4 },
  'o3': { input_per_mtok: 2, output_per_mtok: 8 },
  'claude-3-5-haiku': { input_per_mtok: 0.8, output_per_mtok: 4 },
  'claude-haiku-4-5': { input_per_mtok: 1, output_per_mtok: 5 },
  'claude-3-7-sonnet': { input_per_mtok: 3, output_per_mtok: 15 },
  'claude-sonnet-4': { input_per_mtok: 3, output_per_mtok: 15 },
  'claude-opus-4-5': { input_per_mtok: 5, output_per_mtok: 25 },
  'claude-opus-4': { input_per_mtok: 15, output_per_mtok: 75 },
};

export interface PriceTable {
  /** The listed price of a model, or undefined. */
  priceOf(model: string): ModelPrice | undefined;
  /** The cost of some usage: the org's own price first, then the table; a model with neither costs 0 (a local server). */
  cost(provider: ProviderKind, model: string, usage: TokenUsage, own?: ModelPrice): Money;
}

export function createPriceTable(prices: Readonly<Record<string, ModelPrice>> = PRICES): PriceTable {
  const names = Object.keys(prices).sort((a, b) => b.length - a.length);
  const priceOf = (model: string) => {
    const name = names.find((n) => model === n || model.startsWith(`${n}-`));
    return name === undefined ? undefined : prices[name];
  };
  return {
    priceOf,
    cost(_provider, model, usage, own) {
      const price = own ?? priceOf(model);
      if (price === undefined) return 0;
      return (usage.input_tokens * price.input_per_mtok + usage.output_tokens * price.output_per_mtok) / 1_000_000;
    },
  };
}

const PER_MESSAGE_TOKENS = 8;
/**
 * What a provider adds around the prompt: the structured-output schema or tool definition (counted
 * as its bytes below) and the system text a forced tool call brings (Anthropic documents about 350
 * tokens for it); 512 covers both kinds of wrapper.
 */
const PER_CALL_OVERHEAD_TOKENS = 512;

/** The most tokens a call can use: prompt and schema bytes, the providers' overhead, and the whole output allowance. */
export function estimateTokens(system: string, messages: readonly ChatMessage[], maxOutputTokens: number, schema?: Record<string, unknown>): TokenUsage {
  let input = Buffer.byteLength(system, 'utf8') + PER_MESSAGE_TOKENS + PER_CALL_OVERHEAD_TOKENS;
  if (schema !== undefined) input += Buffer.byteLength(JSON.stringify(schema), 'utf8');
  for (const m of messages) input += Buffer.byteLength(m.content, 'utf8') + PER_MESSAGE_TOKENS;
  return { input_tokens: input, output_tokens: maxOutputTokens };
}
