/**
 * The judge's far ends, one adapter per protocol behind one interface, each on its official SDK:
 *
 * | provider | SDK | call | structured output |
 * | --- | --- | --- | --- |
 * | `openai` (api `chat`) | `openai` | Chat Completions | `response_format: json_schema` (strict) |
 * | `openai` (api `responses`) | `openai` | Responses | `text.format: json_schema` (strict) |
 * | `anthropic` | `@anthropic-ai/sdk` | Messages | a forced tool call whose `input_schema` is the judgment |
 * | `openai_compatible` | `openai` with `baseURL` | Chat Completions | `json_schema`, or `json_object` for servers without it |
 *
 * The SDKs' own retries are off (`maxRetries: 0`): retries belong to the judge (judge.ts), which
 * honours `retry-after` and keeps a transient failure from ever becoming a verdict. Every call gets
 * the judge's AbortSignal, so a deadline covers the whole answer, body included (a server that sends
 * its headers and then stalls times out too). Errors come back classified (`ProviderError.transient`).
 *
 * @example
 *   const provider = createProvider({ provider: 'anthropic', model: 'claude-sonnet-4-5', apiKey });
 *   const answer = await provider.complete({ system, messages: [{ role: 'user', content }], schema, schemaName: 'judgment', maxOutputTokens: 600, signal });
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

export type ProviderKind = 'openai' | 'anthropic' | 'openai_compatible';
export type OpenAiApi = 'chat' | 'responses';

export interface ProviderSettings {
  provider: ProviderKind;
  model: string;
  apiKey: string;
  /** Required for `openai_compatible`; optional for the others (a proxy, or a test server). */
  baseUrl?: string | undefined;
  /** OpenAI only: Chat Completions (default) or the Responses API. */
  api?: OpenAiApi | undefined;
  /** `openai_compatible` only: `json_schema` (default) or `json_object` for servers that lack schemas. */
  responseFormat?: 'json_schema' | 'json_object' | undefined;
  /** Sampling temperature; left to the provider when absent (reasoning models refuse one; Anthropic's current API takes none). */
  temperature?: number | undefined;
}

export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string;
}

export interface CompletionRequest {
  system: string;
  messages: ChatMessage[];
  schemaName: string;
  schema: Record<string, unknown>;
  maxOutputTokens: number;
  signal: AbortSignal;
}

export interface TokenUsage {
  input_tokens: number;
  output_tokens: number;
}

/** What the model said: its JSON text, or that it refused to judge. */
export type Completion = { kind: 'answer'; text: string; usage: TokenUsage } | { kind: 'refusal'; text: string; usage: TokenUsage };

export interface JudgeProvider {
  readonly settings: Omit<ProviderSettings, 'apiKey'>;
  /** Where concurrency is limited: one pool per provider endpoint. */
  readonly endpoint: string;
  complete(request: CompletionRequest): Promise<Completion>;
}

/**
 * A failed call, classified: `transient` (429, 5xx, 408/409, connection errors, timeouts, and
 * 401/403/404, which an admin fixes without the trace changing) is retried and never becomes a
 * verdict; otherwise (400, 413, 422: the provider refuses this request) the trace is judged as a
 * module error. `retryAfterMs` is the provider's `retry-after` (or `retry-after-ms`) when it sent one.
 */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  constructor(
    message: string,
    readonly transient: boolean,
    readonly status: number | null,
    readonly retryAfterMs: number | null,
    options?: ErrorOptions & { timedOut?: boolean },
  ) {
    super(message, options);
    this.timedOut = options?.timedOut ?? false;
  }

  /** The call was cut by its deadline: the provider may have done (and billed) the work. */
  readonly timedOut: boolean;
}

export function createProvider(settings: ProviderSettings, fetchImpl?: typeof fetch): JudgeProvider {
  const { apiKey, ...visible } = settings;
  if (settings.provider === 'openai_compatible' && !settings.baseUrl) throw new TypeError('createProvider: openai_compatible needs a baseUrl');
  const endpoint = `${settings.provider}:${settings.baseUrl ?? 'default'}`;
  if (settings.provider === 'anthropic') {
    const client = new Anthropic({ apiKey, maxRetries: 0, ...(settings.baseUrl ? { baseURL: settings.baseUrl } : {}), ...(fetchImpl ? { fetch: fetchImpl } : {}) });
    return { settings: visible, endpoint, complete: (request) => call(() => anthropicMessages(client, settings.model, request), request.signal) };
  }
  const client = new OpenAI({ apiKey, maxRetries: 0, ...(settings.baseUrl ? { baseURL: settings.baseUrl } : {}), ...(fetchImpl ? { fetch: fetchImpl } : {}) });
  if (settings.provider === 'openai' && settings.api === 'responses') {
    return { settings: visible, endpoint, complete: (request) => call(() => openAiResponses(client, settings.model, settings.temperature, request), request.signal) };
  }
  const format = settings.provider === 'openai_compatible' ? (settings.responseFormat ?? 'json_schema') : 'json_schema';
  return { settings: visible, endpoint, complete: (request) => call(() => openAiChat(client, settings.model, format, settings.temperature, request), request.signal) };
}

async function openAiChat(client: OpenAI, model: string, format: 'json_schema' | 'json_object', temperature: number | undefined, request: CompletionRequest): Promise<Completion> {
  const response = await client.chat.completions.create(
    {
      model,
      messages: [{ role: 'system', content: request.system }, ...request.messages],
      max_completion_tokens: request.maxOutputTokens,
      ...(temperature === undefined ? {} : { temperature }),
      response_format: format === 'json_schema' ? { type: 'json_schema', json_schema: { name: request.schemaName, schema: request.schema, strict: true } } : { type: 'json_object' },
    },
    { signal: request.signal },
  );
  const usage = { input_tokens: response.usage?.prompt_tokens ?? 0, output_tokens: response.usage?.completion_tokens ?? 0 };
  const message = response.choices[0]?.message;
  if (message?.refusal) return { kind: 'refusal', text: message.refusal, usage };
  return { kind: 'answer', text: message?.content ?? '', usage };
}

async function openAiResponses(client: OpenAI, model: string, temperature: number | undefined, request: CompletionRequest): Promise<Completion> {
  const response = await client.responses.create(
    {
      model,
      instructions: request.system,
      input: request.messages.map((m) => ({ role: m.role, content: m.content })),
      max_output_tokens: request.maxOutputTokens,
      ...(temperature === undefined ? {} : { temperature }),
      store: false,
      text: { format: { type: 'json_schema', name: request.schemaName, schema: request.schema, strict: true } },
    },
    { signal: request.signal },
  );
  const usage = { input_tokens: response.usage?.input_tokens ?? 0, output_tokens: response.usage?.output_tokens ?? 0 };
  for (const item of response.output ?? []) {
    if (item.type !== 'message') continue;
    for (const part of item.content) if (part.type === 'refusal') return { kind: 'refusal', text: part.refusal, usage };
  }
  return { kind: 'answer', text: response.output_text ?? '', usage };
}

async function anthropicMessages(client: Anthropic, model: string, request: CompletionRequest): Promise<Completion> {
  const response = await client.messages.create(
    {
      model,
      max_tokens: request.maxOutputTokens,
      system: request.system,
      messages: request.messages,
      tools: [{ name: request.schemaName, description: 'Record the judgment.', input_schema: request.schema as Anthropic.Tool.InputSchema }],
      tool_choice: { type: 'tool', name: request.schemaName },
    },
    { signal: request.signal },
  );
  const usage = { input_tokens: response.usage?.input_tokens ?? 0, output_tokens: response.usage?.output_tokens ?? 0 };
  const text = response.content.flatMap((b) => (b.type === 'text' ? [b.text] : [])).join('\n');
  if ((response.stop_reason as string) === 'refusal') return { kind: 'refusal', text: text || 'the model refused to answer', usage };
  const tool = response.content.find((b) => b.type === 'tool_use');
  // The tool's input is the judgment; validated as text like the others' answers, so the repair path is one.
  if (tool !== undefined && tool.type === 'tool_use') return { kind: 'answer', text: JSON.stringify(tool.input), usage };
  return { kind: 'answer', text, usage };
}

/** Runs one SDK call and classifies what it threw. */
async function call(run: () => Promise<Completion>, signal: AbortSignal): Promise<Completion> {
  try {
    return await run();
  } catch (error) {
    throw classify(error, signal);
  }
}

const PERMANENT_STATUSES = new Set([400, 413, 422]);

export function classify(error: unknown, signal?: AbortSignal): ProviderError {
  if (error instanceof ProviderError) return error;
  if (signal?.aborted) return new ProviderError(`the judge call timed out (${String((signal.reason as Error)?.message ?? signal.reason)})`, true, null, null, { cause: error, timedOut: true });
  const status = statusOf(error);
  if (status === null) {
    // No HTTP answer: a refused or reset connection, a DNS failure, the SDK's own timeout.
    return new ProviderError(`the provider could not be reached: ${(error as Error)?.message ?? String(error)}`, true, null, null, { cause: error });
  }
  const retryAfter = retryAfterMs(headersOf(error));
  return new ProviderError(`the provider answered ${status}: ${clip((error as Error)?.message ?? '')}`, !PERMANENT_STATUSES.has(status), status, retryAfter, { cause: error });
}

function statusOf(error: unknown): number | null {
  if (error instanceof OpenAI.APIError || error instanceof Anthropic.APIError) return typeof error.status === 'number' ? error.status : null;
  return null;
}

function headersOf(error: unknown): Headers | undefined {
  if (error instanceof OpenAI.APIError || error instanceof Anthropic.APIError) {
    const headers = error.headers as unknown;
    if (headers instanceof Headers) return headers;
    if (headers !== null && typeof headers === 'object') return new Headers(headers as Record<string, string>);
  }
  return undefined;
}

/** `retry-after-ms` (OpenAI), else `retry-after` in seconds or as an HTTP date; null when absent or unreadable. */
export function retryAfterMs(headers: Headers | undefined, now: number = Date.now()): number | null {
  if (headers === undefined) return null;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.ceil(Number(ms));
  const value = headers.get('retry-after');
  if (value === null) return null;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.ceil(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

function clip(text: string, max = 300): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
