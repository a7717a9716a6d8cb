/**
 * The public JSON trace: what the gateway and the SDKs accept (ARCHITECTURE.md, "Contracts").
 * Validated with zod at the edge; `toTraceRecord` turns a valid one into the Avro `Trace` record.
 * Unknown fields are rejected so that a typo (`outptu`) is a 400 naming it rather than silent data
 * loss; `org_id` in particular is refused because the organization comes from the API key.
 */
import { z } from 'zod';
import { MAX_SHORT_TEXT_BYTES, MAX_TIMESTAMP_MS, MAX_UINT32, MIN_TIMESTAMP_MS, storableJsonIssues, withinTimestampBounds } from './bounds.js';
import type { ContextDocument, Trace } from './types.js';

const MAX_TEXT = 1_000_000;
/** A short text: at most 1,000 characters and MAX_SHORT_TEXT_BYTES bytes of UTF-8 (Postgres indexes them). */
const shortText = z
  .string()
  .max(1_000)
  .refine((s) => s.length <= MAX_SHORT_TEXT_BYTES / 3 || Buffer.byteLength(s, 'utf8') <= MAX_SHORT_TEXT_BYTES, `must be at most ${MAX_SHORT_TEXT_BYTES} bytes of UTF-8`);
const id = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:\-]*$/, 'letters, digits and . _ : - only, starting with a letter or digit');

const message = z.strictObject({
  role: z.string().min(1).max(64),
  content: z.string().max(MAX_TEXT),
});

const contextDocument = z.union([
  z.string().max(MAX_TEXT),
  z.strictObject({
    id: shortText.optional(),
    content: z.string().max(MAX_TEXT),
    source: shortText.optional(),
    score: z.number().finite().optional(),
  }),
]);

const TIMESTAMP_RANGE = `must lie between ${new Date(MIN_TIMESTAMP_MS).toISOString()} and ${new Date(MAX_TIMESTAMP_MS).toISOString()}`;

/**
 * Refuses, with their paths, the values that would not read back as sent (bounds.ts,
 * `storableJsonIssues`): lone surrogates in any string or key, a "__proto__" key anywhere, numbers
 * that are not finite. Before the shape is checked, because a record or object schema builds its
 * output by assignment and would drop a "__proto__" key without a word.
 */
function refuseUnstorable(value: unknown, ctx: z.RefinementCtx): unknown {
  for (const issue of storableJsonIssues(value)) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path, input: value });
  return value;
}

/**
 * An ISO 8601 date-time with a zone whose instant every store can hold (the trace bounds): for a
 * trace's time and for every time a request names (query ranges, expiries, silences), so none of them
 * reaches Postgres or ClickHouse as a year they refuse.
 */
export const boundedIsoTime = () =>
  // The instant, not the written year: 9999-12-31T23:59:59-01:00 lies in year 10000. NaN (not a
  // datetime at all) is left to the datetime check's own message.
  z.iso.datetime({ offset: true }).refine((iso) => Number.isNaN(Date.parse(iso)) || withinTimestampBounds(Date.parse(iso)), TIMESTAMP_RANGE);

const traceShape = z
  .strictObject({
    trace_id: id.optional().describe('Client-supplied id; resubmitting the same id leaves one trace. Generated when absent.'),
    timestamp: z
      .union([
        boundedIsoTime(),
        z.number().int().min(MIN_TIMESTAMP_MS, TIMESTAMP_RANGE).max(MAX_TIMESTAMP_MS, TIMESTAMP_RANGE),
      ])
      .optional()
      .describe('When the call happened: ISO 8601 or epoch milliseconds. Defaults to the time of receipt.'),
    application: shortText.optional(),
    environment: shortText.optional(),
    model: z
      .strictObject({
        provider: shortText.optional(),
        name: shortText.optional(),
        parameters: z.record(z.string(), z.unknown()).optional(),
      })
      .optional(),
    input: z
      .union([z.string().max(MAX_TEXT), z.strictObject({ messages: z.array(message).min(1).max(1_000) })])
      .describe('The prompt: a string, or { messages: [{ role, content }] }.'),
    output: z
      .union([
        z.string().max(MAX_TEXT),
        z.strictObject({ content: z.string().max(MAX_TEXT), finish_reason: shortText.nullable().optional() }),
      ])
      .describe('The answer: a string, or { content, finish_reason }.'),
    expected_format: z.enum(['text', 'json', 'markdown']).optional(),
    json_schema: z.record(z.string(), z.unknown()).optional().describe('A JSON Schema the output must satisfy.'),
    context: z.array(contextDocument).max(1_000).optional().describe('Retrieved documents: strings or { id, content, source, score }.'),
    reference: z.string().max(MAX_TEXT).optional().describe('The expected answer.'),
    usage: z
      .strictObject({
        input_tokens: z.number().int().nonnegative().max(MAX_UINT32).optional(),
        output_tokens: z.number().int().nonnegative().max(MAX_UINT32).optional(),
        cost_usd: z.number().nonnegative().finite().optional(),
      })
      .optional(),
    latency_ms: z.number().nonnegative().max(MAX_UINT32).optional(),
    user_id: shortText.optional(),
    session_id: shortText.optional(),
    // A "__proto__" key (here or in any free-form object) is refused by refuseUnstorable (found by the fuzz suite).
    metadata: z.record(z.string().max(256), z.string().max(10_000)).optional(),
    tags: z.array(z.string().min(1).max(256)).max(100).optional(),
  })
  .describe('One LLM call.');

export const publicTraceSchema = z.preprocess(refuseUnstorable, traceShape);

export type PublicTrace = z.infer<typeof traceShape>;

export interface RecordContext {
  orgId: string;
  /** epoch milliseconds */
  receivedAt: number;
  /** used when the body has no trace_id */
  generateId: () => string;
}

/** The Avro `Trace` record for a validated public trace. */
export function toTraceRecord(body: PublicTrace, ctx: RecordContext): Trace {
  const timestamp =
    body.timestamp === undefined ? ctx.receivedAt : typeof body.timestamp === 'number' ? body.timestamp : Date.parse(body.timestamp);
  return {
    trace_id: body.trace_id ?? ctx.generateId(),
    org_id: ctx.orgId,
    received_at: ctx.receivedAt,
    timestamp,
    application: body.application ?? null,
    environment: body.environment ?? null,
    model:
      body.model === undefined
        ? null
        : {
            provider: body.model.provider ?? null,
            name: body.model.name ?? null,
            parameters_json: body.model.parameters === undefined ? null : JSON.stringify(body.model.parameters),
          },
    input: typeof body.input === 'string' ? { text: body.input, messages: [] } : { text: null, messages: body.input.messages },
    output:
      typeof body.output === 'string'
        ? { content: body.output, finish_reason: null }
        : { content: body.output.content, finish_reason: body.output.finish_reason ?? null },
    expected_format: body.expected_format ?? null,
    json_schema_json: body.json_schema === undefined ? null : JSON.stringify(body.json_schema),
    context: (body.context ?? []).map(
      (doc): ContextDocument =>
        typeof doc === 'string'
          ? { id: null, content: doc, source: null, score: null }
          : { id: doc.id ?? null, content: doc.content, source: doc.source ?? null, score: doc.score ?? null },
    ),
    reference: body.reference ?? null,
    usage:
      body.usage === undefined
        ? null
        : {
            input_tokens: body.usage.input_tokens ?? null,
            output_tokens: body.usage.output_tokens ?? null,
            cost_usd: body.usage.cost_usd ?? null,
          },
    latency_ms: body.latency_ms ?? null,
    user_id: body.user_id ?? null,
    session_id: body.session_id ?? null,
    metadata: body.metadata ?? {},
    tags: body.tags ?? [],
    pii_masked: false,
  };
}

/** The public JSON view of a stored trace (what `GET /v1/traces/:id` returns). */
export function toPublicView(trace: Trace): Record<string, unknown> {
  return {
    trace_id: trace.trace_id,
    timestamp: new Date(trace.timestamp).toISOString(),
    received_at: new Date(trace.received_at).toISOString(),
    application: trace.application,
    environment: trace.environment,
    model:
      trace.model === null
        ? null
        : {
            provider: trace.model.provider,
            name: trace.model.name,
            parameters: trace.model.parameters_json === null ? null : (JSON.parse(trace.model.parameters_json) as unknown),
          },
    input: trace.input.text !== null ? trace.input.text : { messages: trace.input.messages },
    output: { content: trace.output.content, finish_reason: trace.output.finish_reason },
    expected_format: trace.expected_format,
    json_schema: trace.json_schema_json === null ? null : (JSON.parse(trace.json_schema_json) as unknown),
    context: trace.context,
    reference: trace.reference,
    usage: trace.usage,
    latency_ms: trace.latency_ms,
    user_id: trace.user_id,
    session_id: trace.session_id,
    metadata: trace.metadata,
    tags: trace.tags,
    pii_masked: trace.pii_masked,
  };
}
