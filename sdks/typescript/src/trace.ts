/**
 * The public trace as the gateway accepts it (`POST /v1/traces`, see its OpenAPI document), and
 * `buildTrace`, which fills in a client-side trace id and the current context's ids.
 */
import { currentContext } from './context.js';

export interface ChatMessage {
  role: string;
  content: string;
}

export type TraceInput = string | readonly ChatMessage[] | { messages: readonly ChatMessage[] };
export type TraceOutput = string | { content: string; finish_reason?: string | null };

export interface TraceFields {
  traceId?: string;
  /** A model name, or `{ provider, name, parameters }`. */
  model?: string | { provider?: string; name?: string; parameters?: Record<string, unknown> };
  provider?: string;
  parameters?: Record<string, unknown>;
  usage?: { input_tokens?: number; output_tokens?: number; cost_usd?: number };
  latencyMs?: number;
  /** When the call happened: a Date, epoch milliseconds, or ISO 8601. */
  timestamp?: Date | number | string;
  sessionId?: string;
  userId?: string;
  metadata?: Record<string, unknown>;
  tags?: readonly string[];
  context?: readonly (string | { id?: string; content: string; source?: string; score?: number })[];
  reference?: string;
  expectedFormat?: 'text' | 'json' | 'markdown';
  jsonSchema?: Record<string, unknown>;
  application?: string;
  environment?: string;
}

/** The JSON body of one trace. */
export type PublicTrace = Record<string, unknown> & { trace_id: string };

/** A random id (crypto.randomUUID exists in Node >= 19 and every edge runtime). */
export function newTraceId(): string {
  return globalThis.crypto.randomUUID().replaceAll('-', '');
}

function definedOnly(entries: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(entries).filter(([, value]) => value !== undefined));
}

export function buildTrace(input: TraceInput, output: TraceOutput, fields: TraceFields = {}): PublicTrace {
  const ctx = currentContext();
  const model = definedOnly({
    ...(typeof fields.model === 'string' ? { name: fields.model } : fields.model),
    ...(fields.provider === undefined ? {} : { provider: fields.provider }),
    ...(fields.parameters === undefined || Object.keys(fields.parameters).length === 0 ? {} : { parameters: fields.parameters }),
  });
  const metadata = { ...ctx.metadata, ...fields.metadata };
  const tags = [...(ctx.tags ?? []), ...(fields.tags ?? []).filter((tag) => !(ctx.tags ?? []).includes(tag))];
  const timestamp = fields.timestamp instanceof Date ? fields.timestamp.getTime() : fields.timestamp;
  return {
    trace_id: fields.traceId ?? newTraceId(),
    input: typeof input === 'string' ? input : { messages: ('messages' in input ? input.messages : input).map((m) => ({ role: String(m.role), content: String(m.content) })) },
    output: typeof output === 'string' ? output : definedOnly({ content: output.content, finish_reason: output.finish_reason ?? undefined }),
    ...definedOnly({
      model: Object.keys(model).length === 0 ? undefined : model,
      usage: fields.usage === undefined ? undefined : definedOnly(fields.usage),
      latency_ms: fields.latencyMs,
      timestamp,
      session_id: fields.sessionId ?? ctx.sessionId,
      user_id: fields.userId ?? ctx.userId,
      metadata: Object.keys(metadata).length === 0 ? undefined : Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])),
      tags: tags.length === 0 ? undefined : tags,
      context: fields.context,
      reference: fields.reference,
      expected_format: fields.expectedFormat,
      json_schema: fields.jsonSchema,
      application: fields.application,
      environment: fields.environment,
    }),
  };
}
