/**
 * `Metronis`: records traces into a bounded queue and sends them in batches with `fetch`, reads
 * them back. Telemetry never breaks the application: unless `strict: true`, `trace()` never throws
 * and never waits for the network; failures are counted in `stats` and reported to `onError`
 * (default: one `console.warn` per failure kind). Reads (`getTrace`, `search`) throw MetronisError.
 *
 * Batching: a batch goes out when `maxBatchSize` traces wait, `flushIntervalMs` after the first one
 * queued, on `flush()` and on `shutdown()`; never more than the gateway's 1,000 traces and at most
 * `maxBatchBytes`. Drop policy: the queue holds `maxQueueSize` traces and `maxQueueBytes` bytes;
 * a trace recorded while it is full is dropped (the newest) and counted in `stats.dropped`; a trace
 * over `maxItemBytes` is dropped and counted in `stats.droppedOversize`.
 *
 * In Node the queue is sent when the event loop empties (`beforeExit`); a process that calls
 * `process.exit()` must `await metronis.shutdown()` first. In edge runtimes pass `flush()` to the
 * platform's `waitUntil`.
 *
 * @example
 *   const metronis = new Metronis(); // METRONIS_API_KEY, METRONIS_BASE_URL
 *   metronis.trace('What is 2+2?', '4', { model: 'gpt-4o-mini' });
 */
import { buildTrace, type PublicTrace, type TraceFields, type TraceInput, type TraceOutput } from './trace.js';
import { DEFAULT_RETRY_POLICY, errorFrom, MetronisError, NotAvailableError, request, type RetryPolicy, type TransportOptions } from './transport.js';

export const DEFAULT_BASE_URL = 'http://127.0.0.1:7070';
/** The gateway's limits (its OpenAPI document). */
export const GATEWAY_MAX_BATCH_ITEMS = 1000;
export const GATEWAY_MAX_TRACE_BYTES = 1024 * 1024;

export interface MetronisOptions {
  /** Default: `METRONIS_API_KEY`. Without one the client is disabled (it records nothing). */
  apiKey?: string;
  /** Default: `METRONIS_BASE_URL`, else http://127.0.0.1:7070 (what `npm start` serves). */
  baseUrl?: string;
  /** Queue and send in batches (default), or send each trace at once. */
  batch?: boolean;
  /** Throw instead of counting: `trace()` on a full queue or an oversize trace, `flush()` on failed deliveries. */
  strict?: boolean;
  maxQueueSize?: number;
  maxQueueBytes?: number;
  maxBatchSize?: number;
  maxBatchBytes?: number;
  flushIntervalMs?: number;
  maxItemBytes?: number;
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** How long `shutdown()` (and the exit) may take. Default 5,000 ms. */
  shutdownTimeoutMs?: number;
  application?: string;
  environment?: string;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  /** Called for each delivery problem when not strict. Default: console.warn. */
  onError?: (error: MetronisError) => void;
}

export interface Stats {
  sent: number;
  dropped: number;
  droppedOversize: number;
  rejected: number;
  failed: number;
  queued: number;
}

export interface SearchFilters {
  from?: string | Date;
  to?: string | Date;
  application?: string;
  environment?: string;
  model_provider?: string;
  model_name?: string;
  user_id?: string;
  session_id?: string;
  tag?: string | string[];
  q?: string;
  severity_at_least?: string;
  passed?: boolean;
  limit?: number;
  cursor?: string;
}

export interface SearchPage {
  items: Record<string, unknown>[];
  next_cursor: string | null;
}

export interface TraceView {
  trace: Record<string, unknown>;
  verdict: Record<string, unknown> | null;
  evaluations: Record<string, unknown>[];
}

interface Queued {
  json: string;
  bytes: number;
}

const encoder = new TextEncoder();
const env = (name: string): string | undefined => (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];

const live = new Set<Metronis>();
let exitHookInstalled = false;

function installExitHook(client: Metronis): void {
  live.add(client);
  if (exitHookInstalled) return;
  const proc = (globalThis as { process?: { once?: (event: string, fn: () => void) => void; on?: (event: string, fn: () => void) => void } }).process;
  if (proc?.on === undefined) return;
  exitHookInstalled = true;
  // beforeExit fires when the event loop is empty; sending schedules work, after which it fires again.
  proc.on('beforeExit', () => {
    for (const c of live) if (c.queuedCount > 0) void c.flush().catch(() => undefined);
  });
}

let defaultClient: Metronis | undefined;

/** The client that `observe` and `wrapOpenAI` use when none is given: the last one created, or one from the environment. */
export function getClient(): Metronis {
  defaultClient ??= new Metronis();
  return defaultClient;
}

export function setDefaultClient(client: Metronis | undefined): void {
  defaultClient = client;
}

export class Metronis {
  readonly enabled: boolean;
  readonly baseUrl: string;
  readonly strict: boolean;
  private readonly options: Required<Omit<MetronisOptions, 'apiKey' | 'baseUrl' | 'retry' | 'application' | 'environment' | 'fetch' | 'onError'>>;
  private readonly transport: TransportOptions;
  private readonly application: string | undefined;
  private readonly environment: string | undefined;
  private readonly onError: (error: MetronisError) => void;
  private readonly counters = { sent: 0, dropped: 0, droppedOversize: 0, rejected: 0, failed: 0 };
  private queue: Queued[] = [];
  private queuedBytes = 0;
  private enqueued = 0;
  private done = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private pumping: Promise<void> | undefined;
  private readonly unbatched = new Set<Promise<void>>();
  private readonly errors: MetronisError[] = [];
  private readonly sleepers = new Set<() => void>();
  private deadline: number | undefined;
  private closed = false;

  constructor(options: MetronisOptions = {}) {
    const apiKey = options.apiKey ?? env('METRONIS_API_KEY');
    this.baseUrl = (options.baseUrl ?? env('METRONIS_BASE_URL') ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    this.strict = options.strict ?? false;
    this.enabled = apiKey !== undefined && apiKey !== '';
    this.application = options.application;
    this.environment = options.environment;
    const warned = new Set<string>();
    this.onError =
      options.onError ??
      ((error) => {
        if (warned.has(error.code)) return;
        warned.add(error.code);
        console.warn(`metronis: ${error.message}`);
      });
    const maxQueueSize = options.maxQueueSize ?? 10_000;
    this.options = {
      batch: options.batch ?? true,
      strict: this.strict,
      maxQueueSize,
      maxQueueBytes: options.maxQueueBytes ?? 64 * 1024 * 1024,
      maxBatchSize: Math.max(1, Math.min(options.maxBatchSize ?? 100, GATEWAY_MAX_BATCH_ITEMS, maxQueueSize)),
      maxBatchBytes: options.maxBatchBytes ?? 4 * 1024 * 1024,
      flushIntervalMs: options.flushIntervalMs ?? 1_000,
      maxItemBytes: Math.min(options.maxItemBytes ?? GATEWAY_MAX_TRACE_BYTES, GATEWAY_MAX_TRACE_BYTES),
      timeoutMs: options.timeoutMs ?? 10_000,
      shutdownTimeoutMs: options.shutdownTimeoutMs ?? 5_000,
    };
    const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.transport = {
      baseUrl: this.baseUrl,
      apiKey: apiKey ?? '',
      timeoutMs: this.options.timeoutMs,
      policy: { ...DEFAULT_RETRY_POLICY, ...options.retry },
      fetch: fetchFn,
      sleep: (ms) => this.sleep(ms),
      deadline: () => this.deadline,
    };
    if (!this.enabled) {
      if (this.strict) throw new MetronisError('no API key: pass apiKey or set METRONIS_API_KEY', { code: 'missing_api_key' });
      this.onError(new MetronisError('no API key (apiKey or METRONIS_API_KEY): traces will not be sent', { code: 'missing_api_key' }));
    } else {
      installExitHook(this);
    }
    defaultClient = this;
  }

  /** Counters since the client started. */
  get stats(): Stats {
    return { ...this.counters, queued: this.queue.length };
  }

  /** Traces dropped on this side: the queue was full, or the trace was over the size limit. */
  get dropped(): number {
    return this.counters.dropped + this.counters.droppedOversize;
  }

  get queuedCount(): number {
    return this.queue.length;
  }

  /** Records one LLM call; returns its trace id at once. */
  trace(input: TraceInput, output: TraceOutput, fields: TraceFields = {}): string {
    let body: PublicTrace;
    try {
      body = buildTrace(input, output, fields);
    } catch (error) {
      if (this.strict) throw error;
      this.report(new MetronisError(`trace not recorded, bad arguments: ${String(error)}`, { code: 'invalid_arguments' }));
      return fields.traceId ?? '';
    }
    return this.record(body);
  }

  /** Queues (or sends) a prepared body; used by observe() and the wrappers. */
  record(body: PublicTrace): string {
    if (!this.enabled) return body.trace_id;
    if (this.application !== undefined) body.application ??= this.application;
    if (this.environment !== undefined) body.environment ??= this.environment;
    const json = JSON.stringify(body);
    const bytes = encoder.encode(json).length;
    if (bytes > this.options.maxItemBytes) {
      this.counters.droppedOversize++;
      const error = new MetronisError(`trace ${body.trace_id} is ${bytes} bytes, over the limit of ${this.options.maxItemBytes}; dropped`, { code: 'item_too_large' });
      if (this.strict) throw error;
      this.report(error);
      return body.trace_id;
    }
    if (!this.options.batch) {
      const sending = this.sendOne(json, body.trace_id).finally(() => this.unbatched.delete(sending));
      this.unbatched.add(sending);
      return body.trace_id;
    }
    if (this.closed || this.queue.length >= this.options.maxQueueSize || this.queuedBytes + bytes > this.options.maxQueueBytes) {
      this.counters.dropped++;
      if (this.strict) throw new MetronisError('the trace queue is full; the trace was dropped', { code: 'queue_full' });
      return body.trace_id;
    }
    this.queue.push({ json, bytes });
    this.queuedBytes += bytes;
    this.enqueued++;
    if (this.queue.length >= this.options.maxBatchSize) this.pump();
    else this.timer ??= unref(setTimeout(() => this.pump(), this.options.flushIntervalMs));
    return body.trace_id;
  }

  /** Sends everything recorded so far. Resolves true when done; strict: rejects with the last delivery error. */
  async flush(): Promise<boolean> {
    const target = this.enqueued;
    const errorsBefore = this.errors.length;
    await Promise.all([...this.unbatched]);
    while (this.done < target) await this.pump();
    if (this.strict && this.errors.length > errorsBefore) throw this.errors[this.errors.length - 1];
    return true;
  }

  /** Sends what is queued within `timeoutMs` (default shutdownTimeoutMs), then takes no more traces. */
  async shutdown(timeoutMs = this.options.shutdownTimeoutMs): Promise<void> {
    this.deadline = Date.now() + timeoutMs;
    for (const wake of this.sleepers) wake();
    const flushing = this.flush().catch(() => undefined);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([flushing, new Promise<void>((resolve) => (timer = unref(setTimeout(resolve, timeoutMs))))]);
    clearTimeout(timer);
    this.closed = true;
    live.delete(this);
  }

  /** `{ trace, verdict, evaluations }` of one trace, or undefined while it is not stored (yet). */
  async getTrace(traceId: string): Promise<TraceView | undefined> {
    const response = await this.read('GET', `/v1/traces/${encodeURIComponent(traceId)}`);
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw await errorFrom(response);
    return (await response.json()) as TraceView;
  }

  /** One page of `GET /v1/traces`. */
  async search(filters: SearchFilters = {}): Promise<SearchPage> {
    const query: [string, string][] = [];
    for (const [key, value] of Object.entries(filters)) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) query.push([key, v instanceof Date ? v.toISOString() : String(v)]);
    }
    const response = await this.read('GET', '/v1/traces', query);
    if (response.status === 200) {
      const page = (await response.json()) as SearchPage;
      return { items: page.items, next_cursor: page.next_cursor ?? null };
    }
    const error = await errorFrom(response);
    if (response.status === 404 || response.status === 405) {
      throw new NotAvailableError('this Metronis server does not serve trace search (GET /v1/traces); it needs a version with the search API', {
        status: response.status,
        code: 'search_not_available',
        ...(error.requestId === undefined ? {} : { requestId: error.requestId }),
      });
    }
    throw error;
  }

  /** Every matching trace, following `next_cursor`. */
  async *iterSearch(filters: SearchFilters = {}): AsyncGenerator<Record<string, unknown>> {
    let cursor = filters.cursor;
    for (;;) {
      const page = await this.search({ ...filters, ...(cursor === undefined ? {} : { cursor }) });
      yield* page.items;
      if (page.next_cursor === null) return;
      cursor = page.next_cursor;
    }
  }

  private async read(method: string, path: string, query?: [string, string][]): Promise<Response> {
    if (!this.enabled) throw new MetronisError('no API key: pass apiKey or set METRONIS_API_KEY', { code: 'missing_api_key' });
    return request(this.transport, { method, path, ...(query === undefined ? {} : { query }) });
  }

  private report(error: MetronisError): void {
    this.errors.push(error);
    if (this.errors.length > 20) this.errors.shift();
    if (!this.strict) this.onError(error);
  }

  private sleep(ms: number): Promise<void> {
    if (this.deadline !== undefined) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  /** Starts sending (once at a time); resolves when the queue was empty at some point after the call. */
  private pump(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.pumping ??= (async () => {
      try {
        while (this.queue.length > 0) {
          const batch: Queued[] = [];
          let size = 0;
          while (this.queue.length > 0 && batch.length < this.options.maxBatchSize) {
            const next = this.queue[0]!;
            if (batch.length > 0 && size + next.bytes > this.options.maxBatchBytes) break;
            this.queue.shift();
            this.queuedBytes -= next.bytes;
            batch.push(next);
            size += next.bytes;
          }
          await this.sendBatch(batch.map((item) => item.json));
          this.done += batch.length;
        }
      } finally {
        this.pumping = undefined;
      }
    })();
    return this.pumping;
  }

  private async sendBatch(items: string[]): Promise<void> {
    let response: Response;
    try {
      response = await request(this.transport, { method: 'POST', path: '/v1/traces/batch', body: `{"traces":[${items.join(',')}]}` });
    } catch (error) {
      this.counters.failed += items.length;
      this.report(error instanceof MetronisError ? error : new MetronisError(String(error), { code: 'network_error', cause: error }));
      return;
    }
    if (response.status === 202) {
      const answer = (await response.json()) as { accepted: unknown[]; rejected: { index: number; errors: { path: string; message: string }[] }[] };
      this.counters.sent += answer.accepted.length;
      this.counters.rejected += answer.rejected.length;
      const first = answer.rejected[0]?.errors[0];
      if (first !== undefined) this.report(new MetronisError(`${answer.rejected.length} traces rejected; first: ${first.path}: ${first.message}`, { status: 202, code: 'invalid_body' }));
      return;
    }
    if (response.status === 413 && items.length > 1) {
      const half = Math.floor(items.length / 2);
      await this.sendBatch(items.slice(0, half));
      await this.sendBatch(items.slice(half));
      return;
    }
    const error = await errorFrom(response);
    if (response.status === 400 || response.status === 413) this.counters.rejected += items.length;
    else this.counters.failed += items.length;
    this.report(error);
  }

  private async sendOne(json: string, traceId: string): Promise<void> {
    let response: Response;
    try {
      response = await request(this.transport, { method: 'POST', path: '/v1/traces', body: json });
    } catch (error) {
      this.counters.failed++;
      this.report(error instanceof MetronisError ? error : new MetronisError(String(error), { code: 'network_error', cause: error }));
      return;
    }
    if (response.status === 202) {
      this.counters.sent++;
      return;
    }
    const error = await errorFrom(response);
    if (response.status === 400 || response.status === 413) this.counters.rejected++;
    else this.counters.failed++;
    this.report(new MetronisError(`trace ${traceId}: ${error.message}`, { ...(error.status === undefined ? {} : { status: error.status }), code: error.code }));
  }
}

function unref<T>(timer: T): T {
  (timer as { unref?: () => void }).unref?.();
  return timer;
}
