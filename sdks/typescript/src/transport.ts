/**
 * HTTP to the Metronis API over `fetch`, with the SDK's retry rules: 408, 429, 5xx and network errors
 * are retried with exponential backoff and full jitter, waiting what `Retry-After` says when the
 * server sends it; any other 4xx is returned at once (sending it again cannot help). Runs wherever
 * `fetch` does (Node >= 20, Deno, Bun, edge runtimes).
 */

export class MetronisError extends Error {
  override readonly name: string = 'MetronisError';
  /** HTTP status; undefined for a network error. */
  readonly status: number | undefined;
  /** The API's error code (`invalid_body`, `rate_limited`, ...) or `network_error`, `queue_full`, ... */
  readonly code: string;
  readonly requestId: string | undefined;

  constructor(message: string, options: { status?: number; code: string; requestId?: string; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status;
    this.code = options.code;
    this.requestId = options.requestId;
  }
}

/** The server does not offer this API (an older Metronis); the message names what is missing. */
export class NotAvailableError extends MetronisError {
  override readonly name = 'NotAvailableError';
}

export interface RetryPolicy {
  /** Retries after the first attempt. Default 5. */
  maxRetries: number;
  /** Default 500 ms. */
  initialBackoffMs: number;
  /** Default 30,000 ms. */
  maxBackoffMs: number;
  /** The longest Retry-After honored. Default 60,000 ms. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxRetries: 5, initialBackoffMs: 500, maxBackoffMs: 30_000, maxRetryAfterMs: 60_000 };

const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);

/** `Retry-After` in milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Full jitter: a random wait in [0, min(max, initial * 2^attempt)]. */
export function backoffMs(policy: RetryPolicy, attempt: number, random = Math.random): number {
  return random() * Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** attempt);
}

export async function errorFrom(response: Response): Promise<MetronisError> {
  let code = 'http_error';
  let message = response.statusText || `HTTP ${response.status}`;
  let requestId = response.headers.get('x-request-id') ?? undefined;
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string; request_id?: string } };
    code = body.error?.code ?? code;
    message = body.error?.message ?? message;
    requestId = body.error?.request_id ?? requestId;
  } catch {
    // not JSON: keep the status text
  }
  return new MetronisError(`${message} (HTTP ${response.status}, ${code}${requestId === undefined ? '' : `, request ${requestId}`})`, { status: response.status, code, ...(requestId === undefined ? {} : { requestId }) });
}

export interface TransportOptions {
  baseUrl: string;
  apiKey: string;
  timeoutMs: number;
  policy: RetryPolicy;
  fetch: typeof fetch;
  /** Resolves after `ms`, or earlier when the client is shutting down. */
  sleep: (ms: number) => Promise<void>;
  /** While shutting down: no wait may end past this epoch-ms instant. */
  deadline: () => number | undefined;
}

export interface RequestInit2 {
  method: string;
  path: string;
  body?: string;
  query?: [string, string][];
}

/** The first non-retryable answer, or throws MetronisError when the retries run out. */
export async function request(options: TransportOptions, init: RequestInit2): Promise<Response> {
  const query = init.query === undefined || init.query.length === 0 ? '' : `?${new URLSearchParams(init.query).toString()}`;
  const url = `${options.baseUrl}${init.path}${query}`;
  const headers: Record<string, string> = { authorization: `Bearer ${options.apiKey}`, 'user-agent': 'metronis-typescript/0.1.0' };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  for (let attempt = 0; ; attempt++) {
    let failure: MetronisError;
    let response: Response | undefined;
    try {
      response = await options.fetch(url, { method: init.method, headers, body: init.body ?? null, signal: AbortSignal.timeout(options.timeoutMs) });
      if (!RETRYABLE.has(response.status)) return response;
      failure = await errorFrom(response);
    } catch (cause) {
      failure = new MetronisError(`could not reach Metronis at ${options.baseUrl}: ${cause instanceof Error ? cause.message : String(cause)}`, { code: 'network_error', cause });
    }
    const hinted = response === undefined ? undefined : retryAfterMs(response.headers.get('retry-after'));
    const wait = hinted === undefined ? backoffMs(options.policy, attempt) : Math.min(hinted, options.policy.maxRetryAfterMs);
    const deadline = options.deadline();
    if (attempt >= options.policy.maxRetries || (deadline !== undefined && Date.now() + wait > deadline)) throw failure;
    await options.sleep(wait);
  }
}
