/**
 * `wrapOpenAI(client)`: records every `client.chat.completions.create` call of the `openai` npm
 * client as a trace: messages, answer, finish reason, model, sampling parameters, usage, latency.
 * The call is untouched: a non-streaming call returns the very promise the client made (its helpers
 * such as `.withResponse()` keep working); a streaming call returns the client's stream with its
 * iterator wrapped, recording when it ends (ask for `stream_options: { include_usage: true }` to
 * get usage). A failed call is recorded with finish reason `error` and rethrown.
 *
 * @example
 *   const openai = wrapOpenAI(new OpenAI());
 */
import { getClient, type Metronis } from './client.js';
import { buildTrace, type ChatMessage, type TraceFields } from './trace.js';

interface Completion {
  model?: string;
  choices?: { message?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
}

interface Chunk {
  model?: string;
  choices?: { index?: number; delta?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
}

export interface WrapOptions extends TraceFields {
  metronis?: Metronis;
}

type Creatable = { chat: { completions: { create: (...args: any[]) => any } } };

const NOT_PARAMETERS = new Set(['messages', 'model', 'stream', 'stream_options', 'tools', 'tool_choice', 'metadata', 'user']);
const WRAPPED = Symbol.for('metronis.wrapped');

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .filter((part: { type?: string }) => part?.type === 'text')
      .map((part: { text?: string }) => part.text ?? '')
      .join('\n');
  }
  return content === null || content === undefined ? '' : JSON.stringify(content);
}

function messagesOf(body: { messages?: { role?: string; content?: unknown; tool_calls?: unknown }[] }): ChatMessage[] {
  return (body.messages ?? []).map((m) => ({ role: String(m.role ?? 'user'), content: textOf(m.content) || (m.tool_calls === undefined ? '' : JSON.stringify(m.tool_calls)) }));
}

function parametersOf(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(body).filter(([key, value]) => !NOT_PARAMETERS.has(key) && value !== undefined && value !== null));
}

const usageOf = (usage: Completion['usage']): TraceFields['usage'] | undefined =>
  usage === null || usage === undefined
    ? undefined
    : { ...(usage.prompt_tokens === undefined ? {} : { input_tokens: usage.prompt_tokens }), ...(usage.completion_tokens === undefined ? {} : { output_tokens: usage.completion_tokens }) };

/** Returns the same client with its chat completions recorded to `options.metronis` (default: the default client). */
export function wrapOpenAI<T extends Creatable>(client: T, options: WrapOptions = {}): T {
  const { metronis, ...fields } = options;
  const completions = client.chat.completions as { create: ((...args: any[]) => any) & { [WRAPPED]?: true } };
  if (completions.create[WRAPPED]) return client;
  const original = completions.create.bind(completions);

  const record = (body: Record<string, unknown>, started: number, output: { content: string; finish_reason?: string | null }, extra: TraceFields) => {
    const target = metronis ?? getClient();
    try {
      const messages = messagesOf(body as never);
      const parameters = parametersOf(body);
      target.record(
        buildTrace(messages.length === 0 ? '' : messages, output, {
          provider: 'openai',
          ...(Object.keys(parameters).length === 0 ? {} : { parameters }),
          latencyMs: performance.now() - started,
          ...fields,
          ...extra,
          metadata: { ...fields.metadata, ...extra.metadata },
        }),
      );
    } catch (error) {
      if (target.strict) throw error;
    }
  };

  const create = (body: Record<string, unknown>, ...rest: unknown[]) => {
    const started = performance.now();
    const model = typeof body?.model === 'string' ? body.model : undefined;
    const failed = (error: unknown) =>
      record(body, started, { content: '', finish_reason: 'error' }, { ...(model === undefined ? {} : { model }), metadata: { error: error instanceof Error ? error.name : 'Error' } });
    const promise = original(body, ...rest);
    if (body?.stream !== true) {
      // Observe the client's own promise; return it unchanged.
      promise.then(
        (completion: Completion) => {
          const choice = completion.choices?.[0];
          const usage = usageOf(completion.usage);
          const name = completion.model ?? model;
          record(body, started, { content: textOf(choice?.message?.content), finish_reason: choice?.finish_reason ?? null }, { ...(name === undefined ? {} : { model: name }), ...(usage === undefined ? {} : { usage }) });
        },
        failed,
      );
      return promise;
    }
    return promise.then(
      (stream: AsyncIterable<Chunk>) => recordingStream(stream, body, started, model, record),
      (error: unknown) => {
        failed(error);
        throw error;
      },
    );
  };
  (create as { [WRAPPED]?: true })[WRAPPED] = true;
  completions.create = create;
  return client;
}

/** The client's stream, its async iterator replaced by one that accumulates and records at the end. */
function recordingStream(
  stream: AsyncIterable<Chunk>,
  body: Record<string, unknown>,
  started: number,
  model: string | undefined,
  record: (body: Record<string, unknown>, started: number, output: { content: string; finish_reason?: string | null }, extra: TraceFields) => void,
): AsyncIterable<Chunk> {
  const parts: string[] = [];
  let finish: string | null = null;
  let name = model;
  let usage: TraceFields['usage'] | undefined;
  let recorded = false;
  const end = (error?: unknown) => {
    if (recorded) return;
    recorded = true;
    record(body, started, { content: parts.join(''), finish_reason: error === undefined ? finish : 'error' }, {
      ...(name === undefined ? {} : { model: name }),
      ...(usage === undefined ? {} : { usage }),
      metadata: { stream: 'true', ...(error === undefined ? {} : { error: error instanceof Error ? error.name : 'Error' }) },
    });
  };
  const iterate = async function* (): AsyncGenerator<Chunk> {
    try {
      for await (const chunk of stream) {
        if (chunk.model) name = chunk.model;
        if (chunk.usage) usage = usageOf(chunk.usage);
        for (const choice of chunk.choices ?? []) {
          if ((choice.index ?? 0) !== 0) continue;
          if (choice.delta?.content) parts.push(choice.delta.content);
          if (choice.finish_reason) finish = choice.finish_reason;
        }
        yield chunk;
      }
    } catch (error) {
      end(error);
      throw error;
    }
    end();
  };
  return new Proxy(stream as object, {
    get(target, property, receiver) {
      if (property === Symbol.asyncIterator) return () => iterate()[Symbol.asyncIterator]();
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  }) as AsyncIterable<Chunk>;
}
