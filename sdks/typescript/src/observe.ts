/**
 * `observe(name, fn)` wraps a function (sync or async) so that each call is recorded as one trace:
 * the arguments as input (a single string as it is, otherwise JSON), the return value as output (a
 * string as it is, an OpenAI chat completion by its text, model and usage, otherwise JSON), timed.
 * Inside, `currentObservation()?.update({ model, usage })` adds what only the code knows. A thrown
 * error is recorded (finish reason `error`) and rethrown unchanged. `observation(name, fn)` does the
 * same for a block: `await observation('rerank', async (obs) => { obs.input = q; obs.output = ... })`.
 *
 * @example
 *   const answer = observe('answer', async (question: string) => callModel(question));
 */
import { getClient, type Metronis } from './client.js';
import { buildTrace, type TraceFields } from './trace.js';

export interface Observation {
  name: string;
  input: unknown;
  output: unknown;
  finishReason: string | undefined;
  fields: TraceFields;
  traceId: string | undefined;
  update(values: { input?: unknown; output?: unknown; finishReason?: string } & TraceFields): void;
}

export interface ObserveOptions extends TraceFields {
  client?: Metronis;
  captureInput?: boolean;
  captureOutput?: boolean;
}

type Storage = { getStore(): Observation | undefined; run<R>(store: Observation, fn: () => R): R };
const ALS = (globalThis as { process?: { getBuiltinModule?: (id: string) => { AsyncLocalStorage?: new () => Storage } | undefined } }).process?.getBuiltinModule?.('node:async_hooks')
  ?.AsyncLocalStorage;
let fallback: Observation | undefined;
const storage: Storage =
  ALS === undefined
    ? {
        getStore: () => fallback,
        run: (store, fn) => {
          const outer = fallback;
          fallback = store;
          try {
            return fn();
          } finally {
            fallback = outer;
          }
        },
      }
    : new ALS();

/** The innermost observation being recorded here, if any. */
export function currentObservation(): Observation | undefined {
  return storage.getStore();
}

const asText = (value: unknown): string => {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
};

/** Output, finish reason, model and usage of a return value (an OpenAI chat completion, or anything). */
export function describeResult(value: unknown): { output: string; finishReason?: string; model?: string; usage?: TraceFields['usage'] } {
  const v = value as { choices?: { message?: { content?: string | null }; finish_reason?: string }[]; model?: string; usage?: { prompt_tokens?: number; completion_tokens?: number } } | null;
  if (v !== null && typeof v === 'object' && Array.isArray(v.choices) && v.choices.length > 0) {
    const choice = v.choices[0]!;
    return {
      output: choice.message?.content ?? '',
      ...(choice.finish_reason === undefined ? {} : { finishReason: choice.finish_reason }),
      ...(v.model === undefined ? {} : { model: v.model }),
      ...(v.usage === undefined ? {} : { usage: { ...(v.usage.prompt_tokens === undefined ? {} : { input_tokens: v.usage.prompt_tokens }), ...(v.usage.completion_tokens === undefined ? {} : { output_tokens: v.usage.completion_tokens }) } }),
    };
  }
  return { output: value === undefined ? '' : asText(value) };
}

function newObservation(name: string, input: unknown, fields: TraceFields): Observation {
  const obs: Observation = {
    name,
    input,
    output: undefined,
    finishReason: undefined,
    fields: { ...fields },
    traceId: undefined,
    update(values) {
      const { input: i, output: o, finishReason: f, ...rest } = values;
      if (i !== undefined) obs.input = i;
      if (o !== undefined) obs.output = o;
      if (f !== undefined) obs.finishReason = f;
      Object.assign(obs.fields, rest);
    },
  };
  return obs;
}

function finish(obs: Observation, client: Metronis | undefined, started: number, error: unknown): void {
  const metronis = client ?? getClient();
  try {
    const output = obs.output === undefined ? '' : asText(obs.output);
    const finishReason = error === undefined ? obs.finishReason : 'error';
    const metadata = { observation: obs.name, ...obs.fields.metadata, ...(error === undefined ? {} : { error: error instanceof Error ? error.name : 'Error' }) };
    const input = typeof obs.input === 'string' ? obs.input : asText(obs.input ?? '');
    obs.traceId = metronis.record(
      buildTrace(input, finishReason === undefined ? output : { content: output, finish_reason: finishReason }, { latencyMs: performance.now() - started, ...obs.fields, metadata }),
    );
  } catch (recordError) {
    if (metronis.strict) throw recordError;
  }
}

/** Runs `run` as `obs`, then records it: when it returns, or when its promise settles. */
function runObserved<R>(obs: Observation, client: Metronis | undefined, run: () => R, onValue: (value: unknown) => void): R {
  const started = performance.now();
  let result: R;
  try {
    result = storage.run(obs, run);
  } catch (error) {
    finish(obs, client, started, error);
    throw error;
  }
  if (result instanceof Promise) {
    return result.then(
      (value: unknown) => {
        onValue(value);
        finish(obs, client, started, undefined);
        return value;
      },
      (error: unknown) => {
        finish(obs, client, started, error);
        throw error;
      },
    ) as R;
  }
  onValue(result);
  finish(obs, client, started, undefined);
  return result;
}

/** Records a block as one trace; `fn` receives the observation to fill in. */
export function observation<R>(name: string, fn: (obs: Observation) => R, options: ObserveOptions = {}): R {
  const { client, captureInput: _i, captureOutput: _o, ...fields } = options;
  const obs = newObservation(name, undefined, fields);
  return runObserved(obs, client, () => fn(obs), () => undefined);
}

/** Wraps `fn` so that each call is recorded as one trace. */
export function observe<A extends unknown[], R>(name: string, fn: (...args: A) => R, options: ObserveOptions = {}): (...args: A) => R {
  const { client, captureInput = true, captureOutput = true, ...fields } = options;
  return function observed(this: unknown, ...args: A): R {
    const input = !captureInput ? '' : args.length === 1 && typeof args[0] === 'string' ? args[0] : asText(args);
    const obs = newObservation(name, input, fields);
    const describe = (value: unknown): void => {
      if (!captureOutput) return;
      const described = describeResult(value);
      obs.output ??= described.output;
      obs.finishReason ??= described.finishReason;
      if (obs.fields.model === undefined && described.model !== undefined) obs.fields.model = described.model;
      if (obs.fields.usage === undefined && described.usage !== undefined) obs.fields.usage = described.usage;
    };
    return runObserved(obs, client, () => fn.apply(this, args), describe);
  };
}
