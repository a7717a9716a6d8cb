/**
 * From OTel spans to public traces (the body `POST /v1/traces` accepts), one LLM call per span.
 * Pure: no I/O, no clock; the route validates each result with the public trace schema.
 *
 * Which spans are LLM calls:
 * - OpenTelemetry GenAI conventions: `gen_ai.operation.name` is `chat`, `text_completion` or
 *   `generate_content` (or absent while `gen_ai.request.model` is set, as older instrumentations do);
 * - OpenInference (Phoenix, Arize): `openinference.span.kind` = `LLM`;
 * - OpenLLMetry (Traceloop): `llm.request.type` = `chat` or `completion`.
 * Every other span (HTTP, database, agent, tool, retriever, embedding spans) is *skipped*: accepted,
 * counted, not stored. Before skipping, its `session_id`/`user_id` (and `gen_ai.conversation.id`)
 * are handed down to the LLM spans under it in the same request, so an agent span that carries the
 * session labels every LLM call it made.
 *
 * Where each field comes from, first match wins:
 * - input: `gen_ai.system_instructions` + `gen_ai.input.messages`; the `gen_ai.client.inference.
 *   operation.details` event; the older `gen_ai.{system,user,assistant,tool}.message` events and the
 *   `gen_ai.content.prompt` event; OpenLLMetry's `gen_ai.prompt.N.{role,content}`; OpenInference's
 *   `llm.input_messages.N.message.{role,content,contents}`; then `input.value` (text, or a JSON body
 *   with `messages`).
 * - output: `gen_ai.output.messages` (first choice); the `gen_ai.choice` event; `gen_ai.content.completion`;
 *   `gen_ai.completion.0.*`; `llm.output_messages.0.message.*`; then `output.value` (text, or a JSON
 *   chat completion). Finish reason from the message, else `gen_ai.response.finish_reasons[0]`, else
 *   `error` for a span with status ERROR.
 * - model: `gen_ai.provider.name` | `gen_ai.system` | `llm.provider` | `llm.system`;
 *   `gen_ai.response.model` | `gen_ai.request.model` | `llm.model_name`; parameters from
 *   `gen_ai.request.*` or `llm.invocation_parameters`.
 * - usage: `gen_ai.usage.{input,output}_tokens` (or `prompt_/completion_tokens`) | `llm.token_count.*`;
 *   cost from `llm.cost.total`.
 * - timestamp and latency from the span's start and end; application from the resource's
 *   `service.name`, environment from `deployment.environment.name` (or `deployment.environment`).
 * - session: `gen_ai.conversation.id` | `session.id`; user: `user.id` | `enduser.id`; tags: `tag.tags`.
 * - metadata: `otel.trace_id`, `otel.span_id`, `otel.parent_span_id`, `otel.span_name`,
 *   `otel.scope`, `otel.status` (when ERROR), `gen_ai.response.id`, and OpenInference's `metadata`.
 * - trace_id: `otel-<trace id>-<span id>`, so a re-exported span replaces itself instead of doubling.
 *
 * An LLM span without any prompt text (instrumentations leave content out unless told, e.g.
 * `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`) is rejected with a message saying so:
 * Metronis evaluates text, and an empty prompt would only produce noise. A span with a prompt but no
 * answer (a failed call) is kept with an empty output.
 */
import type { AttrValue, Attributes, OtlpEvent, OtlpSpan } from './spans.js';

export type SpanOutcome =
  | { kind: 'trace'; span: OtlpSpan; trace: Record<string, unknown> }
  | { kind: 'skipped'; span: OtlpSpan }
  | { kind: 'rejected'; span: OtlpSpan; reason: string };

interface Message {
  role: string;
  content: string;
}

const LLM_OPERATIONS = new Set(['chat', 'text_completion', 'generate_content', 'completion']);
const STATUS_ERROR = 2;

const str = (value: AttrValue | undefined): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const num = (value: AttrValue | undefined): number | undefined => {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : undefined;
};
const int = (value: AttrValue | undefined): number | undefined => {
  const n = num(value);
  return n === undefined ? undefined : Math.trunc(n);
};

function first<T>(...values: (T | undefined)[]): T | undefined {
  for (const value of values) if (value !== undefined) return value;
  return undefined;
}

/** A value that may be JSON text (attributes that hold structures are often strings). */
function structured(value: AttrValue | undefined): AttrValue | undefined {
  if (typeof value !== 'string') return value;
  const trimmed = value.trim();
  if (!trimmed.startsWith('[') && !trimmed.startsWith('{')) return value;
  try {
    return JSON.parse(trimmed) as AttrValue;
  } catch {
    return value;
  }
}

const isObject = (value: unknown): value is Record<string, AttrValue> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** Text of a content value: a string, GenAI `parts`, or any structure as JSON. */
function textOf(value: AttrValue | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const pieces = value.map((part) => partText(part)).filter((piece): piece is string => piece !== undefined);
    return pieces.length === 0 ? undefined : pieces.join('\n');
  }
  return JSON.stringify(value);
}

/** One GenAI message part: text parts give their content, others (tool calls, results) their JSON. */
function partText(part: AttrValue): string | undefined {
  if (typeof part === 'string') return part;
  if (!isObject(part)) return part === null ? undefined : JSON.stringify(part);
  if ((part.type === 'text' || part.type === 'reasoning' || part.type === undefined) && typeof part.content === 'string') return part.content;
  if (part.type === 'text' && typeof part.text === 'string') return part.text;
  return JSON.stringify(part);
}

/** GenAI messages (`[{ role, parts | content }]`, maybe JSON text) as role/content pairs. */
function genAiMessages(value: AttrValue | undefined): (Message & { finishReason?: string })[] {
  const parsed = structured(value);
  if (!Array.isArray(parsed)) return [];
  const messages: (Message & { finishReason?: string })[] = [];
  for (const item of parsed) {
    if (!isObject(item)) continue;
    const inner = isObject(item.message) ? item.message : item; // the gen_ai.choice shape { message: {...} }
    const content = textOf(inner.parts ?? inner.content);
    if (content === undefined) continue;
    const finishReason = str(item.finish_reason);
    messages.push({ role: str(inner.role) ?? 'user', content, ...(finishReason === undefined ? {} : { finishReason }) });
  }
  return messages;
}

/** Indexed flat attributes: `<prefix>.<i>.<field>` (OpenLLMetry, OpenInference), ordered by index. */
function indexed(attributes: Attributes, prefix: string): Map<number, Attributes> {
  const byIndex = new Map<number, Attributes>();
  const head = `${prefix}.`;
  for (const key in attributes) {
    if (!key.startsWith(head)) continue;
    const rest = key.slice(head.length);
    const dot = rest.indexOf('.');
    if (dot <= 0) continue;
    const index = Number(rest.slice(0, dot));
    if (!Number.isInteger(index) || index < 0) continue;
    let entry = byIndex.get(index);
    if (entry === undefined) byIndex.set(index, (entry = {}));
    entry[rest.slice(dot + 1)] = attributes[key]!;
  }
  return new Map([...byIndex.entries()].sort((a, b) => a[0] - b[0]));
}

function openLlMetryMessages(attributes: Attributes, prefix: string): (Message & { finishReason?: string })[] {
  const out: (Message & { finishReason?: string })[] = [];
  for (const fields of indexed(attributes, prefix).values()) {
    const content = textOf(fields.content);
    if (content === undefined) continue;
    const finishReason = str(fields.finish_reason);
    out.push({ role: str(fields.role) ?? 'user', content, ...(finishReason === undefined ? {} : { finishReason }) });
  }
  return out;
}

function openInferenceMessages(attributes: Attributes, prefix: string): Message[] {
  const out: Message[] = [];
  for (const fields of indexed(attributes, prefix).values()) {
    let content = textOf(fields['message.content']);
    if (content === undefined) {
      const parts = [...indexed(fields, 'message.contents').values()].map((part) => str(part['message_content.text'])).filter((t): t is string => t !== undefined);
      if (parts.length > 0) content = parts.join('\n');
    }
    if (content === undefined) {
      const calls = [...indexed(fields, 'message.tool_calls').values()];
      if (calls.length > 0) content = JSON.stringify(calls);
    }
    if (content === undefined) continue;
    out.push({ role: str(fields['message.role']) ?? 'user', content });
  }
  return out;
}

const EVENT_ROLES: Record<string, string> = {
  'gen_ai.system.message': 'system',
  'gen_ai.user.message': 'user',
  'gen_ai.assistant.message': 'assistant',
  'gen_ai.tool.message': 'tool',
};

function eventMessages(events: OtlpEvent[]): Message[] {
  const out: Message[] = [];
  for (const event of events) {
    const role = EVENT_ROLES[event.name];
    if (role === undefined) continue;
    const content = textOf(structured(event.attributes.content) ?? structured(event.attributes['gen_ai.event.content']));
    if (content !== undefined) out.push({ role: str(event.attributes.role) ?? role, content });
  }
  return out;
}

function eventNamed(events: OtlpEvent[], name: string): OtlpEvent | undefined {
  return events.find((event) => event.name === name);
}

type Input = string | { messages: Message[] };
type Output = { content: string; finish_reason?: string };

/** `input.value`: plain text, or a JSON request body whose `messages` become the transcript. */
function inputValue(attributes: Attributes): Input | undefined {
  const raw = str(attributes['input.value']);
  if (raw === undefined) return undefined;
  const parsed = structured(raw);
  if (isObject(parsed)) {
    const messages = genAiMessages(parsed.messages);
    if (messages.length > 0) return { messages: messages.map(({ role, content }) => ({ role, content })) };
    if (typeof parsed.prompt === 'string') return parsed.prompt;
  }
  return raw;
}

/** `output.value`: plain text, or a JSON chat completion / Anthropic message. */
function outputValue(attributes: Attributes): Output | undefined {
  const raw = str(attributes['output.value']);
  if (raw === undefined) return undefined;
  const parsed = structured(raw);
  if (isObject(parsed)) {
    const choice = Array.isArray(parsed.choices) && isObject(parsed.choices[0]) ? parsed.choices[0] : undefined;
    if (choice !== undefined) {
      const content = textOf(isObject(choice.message) ? choice.message.content : choice.text);
      const finish = str(choice.finish_reason);
      if (content !== undefined) return { content, ...(finish === undefined ? {} : { finish_reason: finish }) };
    }
    if (Array.isArray(parsed.content)) {
      const content = textOf(parsed.content);
      const finish = str(parsed.stop_reason);
      if (content !== undefined) return { content, ...(finish === undefined ? {} : { finish_reason: finish }) };
    }
  }
  return { content: raw };
}

function inputOf(span: OtlpSpan): Input | undefined {
  const a = span.attributes;
  const details = eventNamed(span.events, 'gen_ai.client.inference.operation.details')?.attributes;
  const system = textOf(structured(a['gen_ai.system_instructions'] ?? details?.['gen_ai.system_instructions']));
  const withSystem = (messages: Message[]): Input | undefined =>
    messages.length === 0 ? undefined : { messages: system === undefined ? messages : [{ role: 'system', content: system }, ...messages] };
  const strip = (messages: (Message & { finishReason?: string })[]): Message[] => messages.map(({ role, content }) => ({ role, content }));
  const prompt = eventNamed(span.events, 'gen_ai.content.prompt')?.attributes['gen_ai.prompt'];
  return first<Input>(
    withSystem(strip(genAiMessages(a['gen_ai.input.messages']))),
    withSystem(strip(genAiMessages(details?.['gen_ai.input.messages']))),
    withSystem(eventMessages(span.events)),
    withSystem(strip(genAiMessages(prompt))),
    withSystem(strip(openLlMetryMessages(a, 'gen_ai.prompt'))),
    withSystem(openInferenceMessages(a, 'llm.input_messages')),
    inputValue(a),
    system,
  );
}

function outputOf(span: OtlpSpan): Output | undefined {
  const a = span.attributes;
  const details = eventNamed(span.events, 'gen_ai.client.inference.operation.details')?.attributes;
  const fromMessages = (messages: (Message & { finishReason?: string })[]): Output | undefined => {
    const choice = messages[0];
    return choice === undefined ? undefined : { content: choice.content, ...(choice.finishReason === undefined ? {} : { finish_reason: choice.finishReason }) };
  };
  const choiceEvent = eventNamed(span.events, 'gen_ai.choice')?.attributes;
  const fromChoiceEvent = (): Output | undefined => {
    if (choiceEvent === undefined) return undefined;
    const message = structured(choiceEvent.message);
    const content = textOf(isObject(message) ? message.content : message) ?? textOf(choiceEvent.content);
    const finish = str(choiceEvent.finish_reason);
    return content === undefined ? undefined : { content, ...(finish === undefined ? {} : { finish_reason: finish }) };
  };
  const completion = eventNamed(span.events, 'gen_ai.content.completion')?.attributes['gen_ai.completion'];
  const openInference = openInferenceMessages(a, 'llm.output_messages')[0];
  return first<Output>(
    fromMessages(genAiMessages(a['gen_ai.output.messages'])),
    fromMessages(genAiMessages(details?.['gen_ai.output.messages'])),
    fromChoiceEvent(),
    fromMessages(genAiMessages(completion)),
    fromMessages(openLlMetryMessages(a, 'gen_ai.completion')),
    openInference === undefined ? undefined : { content: openInference.content },
    outputValue(a),
  );
}

/** Is this span an LLM call, by any of the three conventions? */
export function isLlmSpan(attributes: Attributes): boolean {
  const openInferenceKind = str(attributes['openinference.span.kind']);
  if (openInferenceKind !== undefined) return openInferenceKind.toUpperCase() === 'LLM';
  const operation = str(attributes['gen_ai.operation.name']);
  if (operation !== undefined) return LLM_OPERATIONS.has(operation);
  const requestType = str(attributes['llm.request.type']);
  if (requestType !== undefined) return requestType === 'chat' || requestType === 'completion';
  return str(attributes['gen_ai.request.model']) !== undefined;
}

const REQUEST_PARAMETERS: Record<string, string> = {
  'gen_ai.request.temperature': 'temperature',
  'gen_ai.request.max_tokens': 'max_tokens',
  'gen_ai.request.top_p': 'top_p',
  'gen_ai.request.top_k': 'top_k',
  'gen_ai.request.frequency_penalty': 'frequency_penalty',
  'gen_ai.request.presence_penalty': 'presence_penalty',
  'gen_ai.request.seed': 'seed',
  'gen_ai.request.stop_sequences': 'stop',
  'gen_ai.request.choice.count': 'n',
  'gen_ai.request.stream': 'stream',
};

function parametersOf(attributes: Attributes): Record<string, AttrValue> | undefined {
  const parameters: Record<string, AttrValue> = {};
  for (const key in REQUEST_PARAMETERS) if (attributes[key] !== undefined) parameters[REQUEST_PARAMETERS[key]!] = attributes[key]!;
  if (Object.keys(parameters).length > 0) return parameters;
  const invocation = structured(attributes['llm.invocation_parameters']);
  if (isObject(invocation)) {
    const { messages: _messages, ...rest } = invocation;
    if (Object.keys(rest).length > 0) return rest;
  }
  return undefined;
}

const compact = <T extends Record<string, unknown>>(object: T): T | undefined => {
  const out = Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T;
  return Object.keys(out).length === 0 ? undefined : out;
};

function metadataOf(span: OtlpSpan): Record<string, string> {
  const a = span.attributes;
  const metadata: Record<string, string> = {};
  const fromOpenInference = structured(a.metadata);
  if (isObject(fromOpenInference)) {
    for (const [key, value] of Object.entries(fromOpenInference)) {
      if (key !== '__proto__' && value !== null) metadata[key] = typeof value === 'string' ? value : JSON.stringify(value);
    }
  }
  metadata['otel.trace_id'] = span.traceId;
  metadata['otel.span_id'] = span.spanId;
  if (span.parentSpanId !== undefined) metadata['otel.parent_span_id'] = span.parentSpanId;
  if (span.name !== '') metadata['otel.span_name'] = span.name;
  if (span.scope.name !== '') metadata['otel.scope'] = span.scope.version === '' ? span.scope.name : `${span.scope.name}@${span.scope.version}`;
  if (span.status.code === STATUS_ERROR) metadata['otel.status'] = span.status.message === '' ? 'ERROR' : `ERROR: ${span.status.message}`;
  const responseId = str(a['gen_ai.response.id']);
  if (responseId !== undefined) metadata['gen_ai.response.id'] = responseId;
  return metadata;
}

const NS_PER_MS = 1_000_000n;

function toTrace(span: OtlpSpan, input: Input, output: Output, inherited: Inherited): Record<string, unknown> {
  const a = span.attributes;
  const r = span.resource;
  const finishReasons = structured(a['gen_ai.response.finish_reasons']);
  const finishReason =
    output.finish_reason ?? (Array.isArray(finishReasons) ? str(finishReasons[0]) : str(finishReasons)) ?? (span.status.code === STATUS_ERROR ? 'error' : undefined);
  const durationNs = span.endTimeUnixNano - span.startTimeUnixNano;
  const service = str(r['service.name']);
  const tags = structured(a['tag.tags']);
  const parameters = parametersOf(a);
  const model = compact({
    provider: first(str(a['gen_ai.provider.name']), str(a['gen_ai.system']), str(a['llm.provider']), str(a['llm.system'])),
    name: first(str(a['gen_ai.response.model']), str(a['gen_ai.request.model']), str(a['llm.model_name'])),
    parameters,
  });
  const usage = compact({
    input_tokens: first(int(a['gen_ai.usage.input_tokens']), int(a['gen_ai.usage.prompt_tokens']), int(a['llm.token_count.prompt'])),
    output_tokens: first(int(a['gen_ai.usage.output_tokens']), int(a['gen_ai.usage.completion_tokens']), int(a['llm.token_count.completion'])),
    cost_usd: num(a['llm.cost.total']),
  });
  return {
    trace_id: `otel-${span.traceId}-${span.spanId}`,
    timestamp: Number(span.startTimeUnixNano / NS_PER_MS),
    ...(service === undefined || service.startsWith('unknown_service') ? {} : { application: service }),
    ...optional('environment', first(str(r['deployment.environment.name']), str(r['deployment.environment']))),
    ...(model === undefined ? {} : { model }),
    input,
    output: finishReason === undefined ? { content: output.content } : { content: output.content, finish_reason: finishReason },
    ...(usage === undefined ? {} : { usage }),
    ...(durationNs >= 0n ? { latency_ms: Number(durationNs) / 1e6 } : {}),
    ...optional('session_id', first(sessionOf(a), inherited.session)),
    ...optional('user_id', first(userOf(a), inherited.user)),
    metadata: metadataOf(span),
    ...(Array.isArray(tags) && tags.length > 0 ? { tags: tags.filter((tag): tag is string => typeof tag === 'string' && tag !== '') } : {}),
  };
}

const optional = (key: string, value: string | undefined): Record<string, string> => (value === undefined ? {} : { [key]: value });
const sessionOf = (a: Attributes): string | undefined => first(str(a['gen_ai.conversation.id']), str(a['session.id']));
const userOf = (a: Attributes): string | undefined => first(str(a['user.id']), str(a['enduser.id']));

interface Inherited {
  session: string | undefined;
  user: string | undefined;
}

/** Session and user ids of a span or of its nearest ancestors in this request that have them. */
function inheritedFor(span: OtlpSpan, byId: Map<string, OtlpSpan>): Inherited {
  const found: Inherited = { session: undefined, user: undefined };
  const seen = new Set<string>();
  for (let parentId = span.parentSpanId; parentId !== undefined && !seen.has(parentId); ) {
    seen.add(parentId);
    const parent = byId.get(`${span.traceId}/${parentId}`);
    if (parent === undefined) break;
    found.session ??= sessionOf(parent.attributes);
    found.user ??= userOf(parent.attributes);
    parentId = parent.parentSpanId;
  }
  return found;
}

/** What becomes of each span of one export request, in the request's order. */
export function mapSpans(spans: OtlpSpan[]): SpanOutcome[] {
  const byId = new Map<string, OtlpSpan>();
  for (const span of spans) if (span.traceId !== '' && span.spanId !== '') byId.set(`${span.traceId}/${span.spanId}`, span);
  return spans.map((span): SpanOutcome => {
    if (!isLlmSpan(span.attributes)) return { kind: 'skipped', span };
    if (span.traceId === '' || span.spanId === '') return { kind: 'rejected', span, reason: 'traceId must be 16 bytes and spanId 8 bytes, not all zero' };
    if (span.startTimeUnixNano === 0n) return { kind: 'rejected', span, reason: 'startTimeUnixNano is missing' };
    const input = inputOf(span);
    if (input === undefined) {
      return {
        kind: 'rejected',
        span,
        reason: 'an LLM span without prompt content: enable content capture in the instrumentation (e.g. OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true)',
      };
    }
    const output = outputOf(span) ?? { content: '' };
    return { kind: 'trace', span, trace: toTrace(span, input, output, inheritedFor(span, byId)) };
  });
}

/** What becomes of each span; a span whose attributes cannot be read (e.g. JSON nested past the stack) is rejected, not a 500. */
export function mapSpansSafely(spans: OtlpSpan[]): SpanOutcome[] {
  try {
    return mapSpans(spans);
  } catch {
    return spans.map((span) => {
      try {
        return mapSpans([span])[0]!;
      } catch (err) {
        return { kind: 'rejected', span, reason: `its attributes could not be read (${err instanceof Error ? err.message : String(err)})` };
      }
    });
  }
}
