/**
 * The ingest gateway as a Hono app: authenticate, validate, produce, answer. Everything it talks to
 * is passed in (`GatewayDeps`), so the same app runs over Kafka or the embedded log, in tests and in
 * production. A trace is answered 202 only after `producer.send` has resolved (the log acknowledged
 * it); one request is one `send`.
 *
 * Routes: `POST /v1/traces`, `POST /v1/traces/batch`, `POST /otlp/v1/traces` (OTLP/HTTP, otlp/route.ts),
 * `GET /healthz`, `GET /readyz`,
 * `GET /openapi.json` (the document of all of them, see openapi.ts). Keys come from
 * `Authorization: Bearer <key>` or, when that header is absent, `X-API-Key: <key>`.
 * Errors are one envelope (errors.ts); every response carries `X-Request-Id`; one log line per
 * request with its status and latency, 5xx with the error.
 *
 * PII masking: when `policies` is given and the org's policy says `mask_pii_before_storage`, every
 * trace is masked (`maskTrace`: `[EMAIL_1]`-style placeholders, `pii_masked: true`) before it is
 * encoded, so raw PII never reaches the log. The policy is looked up once per request (a cache);
 * when it cannot be known the request is answered 503 `policy_unavailable` and nothing is written.
 *
 * Batch decisions: 202 while at least one item is accepted (the answer lists accepted and rejected
 * items, with issue paths relative to the whole body: `$.traces[3].input`); 400 `invalid_body` with
 * every issue when none is. A `trace_id` repeated within one batch is accepted once, at its first
 * index; later items with it are rejected as duplicates (two different bodies under one id would
 * otherwise silently overwrite each other downstream).
 *
 * Sizes: one trace has one limit whichever route carries it. A batch item larger than the body limit
 * of the single route (`singleBytes`, as compact JSON) is rejected alone, as the single route answers
 * 413 for it; a trace whose log record (after masking) is larger than `recordBytes` is refused on both
 * routes (413, or a rejected item), so nothing larger than the log takes is ever produced.
 *
 * Rate limits (`rateLimiter` and `rateLimits`, see rate-limit/): after the key is checked, each request
 * takes 1 from its organization's requests limit, and once the body is parsed its valid traces are
 * taken from the traces limit, before anything is produced: a refused request writes nothing and is
 * answered 429 `rate_limited` with `Retry-After` and `RateLimit-*` headers.
 *
 * @example
 *   const app = createGatewayApp({ producer, encodeTrace, authenticate, ready, logger });
 *   const server = await startGateway({ app, port: 8080, logger });
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { maskTrace } from '@metronis/evaluators';
import { publicTraceSchema, toTraceRecord, type Trace } from '@metronis/schemas';
import { isRetriable, MAX_RECORD_BYTES, recordBytes, TOPICS, type LogProducer, type OutgoingRecord } from '@metronis/streams';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { AUTH_CHALLENGES, credentialHeader, isRejection, presentedKey, REJECTION_CODES, REJECTION_MESSAGES, type Authenticate, type AuthResult, type Principal } from './auth.js';
import { assertJsonContentType, readJsonBody } from './body.js';
import { ApiError, errorBody, errorResponse, type Issue } from './errors.js';
import { formatPath, jsonTypeOf, ORG_ID_MESSAGE, toIssues } from './issues.js';
import { buildOpenApiDocument } from './openapi.js';
import { registerOtlpRoute } from './otlp/route.js';
import { API_CSP, corsAllowList, securityHeaders } from './security.js';
import { createOrgRateLimit, type OrgLimitsSource, type RateLimiter } from './rate-limit/index.js';

/** The part of a pino logger the gateway uses. */
export interface GatewayLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface GatewayLimits {
  /** Largest body of `POST /v1/traces`, and largest trace (as compact JSON) inside a batch. Default 1 MiB. */
  singleBytes?: number;
  /**
   * Largest trace as the log holds it (its Avro record, after PII masking, which can lengthen text).
   * Default TRACE_RECORD_BYTES: the log's record limit less room for what later records add around a
   * trace (an escalation carries the trace with the earlier tiers' results). At most MAX_RECORD_BYTES.
   */
  recordBytes?: number;
  /** Largest body of `POST /v1/traces/batch`. Default 10 MiB. */
  batchBytes?: number;
  /** Most traces in one batch. Default 1,000. */
  batchItems?: number;
  /** How long to wait for the log to acknowledge a write before answering 503. Default 10,000 ms. */
  produceTimeoutMs?: number;
  /** How long `ready()` may take before `/readyz` answers 503. Default 2,000 ms. */
  readyTimeoutMs?: number;
  /** The `Retry-After` seconds of a 503. Default 1. */
  retryAfterSeconds?: number;
}

export interface GatewayDeps {
  producer: LogProducer;
  /** A Trace as the bytes of a `metronis.traces.v1` value (Avro, Confluent wire format). */
  encodeTrace(trace: Trace): Buffer;
  /** The principal of an API key, or why it is refused (unknown, expired, revoked). */
  authenticate: Authenticate;
  /** Named dependency checks for `/readyz`, e.g. `{ log: true, registry: false }`. */
  ready(): Promise<Record<string, boolean>>;
  logger: GatewayLogger;
  /** Epoch milliseconds, the `received_at` of traces. Default `Date.now`. */
  clock?: () => number;
  /** The id of a trace sent without one. Default `randomUUID`. */
  generateId?: () => string;
  limits?: GatewayLimits;
  /**
   * The org's policy, for its `mask_pii_before_storage` switch: a cache lookup (e.g. `createPolicyCache`
   * from @metronis/evaluators with `failClosed: true`), never a database round trip per request. A
   * rejection answers 503 `policy_unavailable`. Without it, traces are never masked.
   */
  policies?: { get(orgId: string): Promise<{ mask_pii_before_storage: boolean }> };
  /**
   * Per-organization rate limits: the shared limiter (Redis across instances, or in process) and where
   * each org's limits come from (a cache). Both or neither; without them nothing is limited.
   */
  rateLimiter?: RateLimiter;
  /** Origins allowed to call from a browser (exact match, e.g. `https://app.example.com`); none by default. */
  corsOrigins?: readonly string[];
  rateLimits?: OrgLimitsSource;
}

export interface GatewayEnv {
  Bindings: { incoming?: IncomingMessage };
  Variables: { requestId: string; principal: Principal; failure: unknown };
}

/** The default largest trace record: MAX_RECORD_BYTES less 64 KiB for what an escalation adds around the trace. */
export const TRACE_RECORD_BYTES = MAX_RECORD_BYTES - 64 * 1024;

const DEFAULT_LIMITS: Required<GatewayLimits> = {
  singleBytes: 1024 * 1024,
  recordBytes: TRACE_RECORD_BYTES,
  batchBytes: 10 * 1024 * 1024,
  batchItems: 1000,
  produceTimeoutMs: 10_000,
  readyTimeoutMs: 2_000,
  retryAfterSeconds: 1,
};

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const REALM = AUTH_CHALLENGES.missing;
const INVALID_TOKEN = AUTH_CHALLENGES.invalidToken;
const TRACES_TOPIC = TOPICS.traces.name;

const keep = (trace: Trace): Trace => trace;
const mask = (trace: Trace): Trace => maskTrace(trace);

function resolveLimits(limits: GatewayLimits | undefined): Required<GatewayLimits> {
  const resolved = { ...DEFAULT_LIMITS, ...limits };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isInteger(value) || value <= 0) {
      throw new TypeError(`createGatewayApp: limits.${name} must be a positive integer, got ${String(value)}`);
    }
  }
  if (resolved.recordBytes > MAX_RECORD_BYTES) throw new TypeError(`createGatewayApp: limits.recordBytes must be at most the log's ${MAX_RECORD_BYTES} bytes`);
  return resolved;
}

/**
 * A request header. On @hono/node-server it is read from the Node request's parsed headers, which
 * spares building a web `Headers` object per request; elsewhere from the Request.
 */
function headerOf(c: Context<GatewayEnv>, name: string): string | undefined {
  const incoming = c.env?.incoming;
  if (incoming === undefined) return c.req.header(name);
  const value = incoming.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The API key of a request, or a 401 saying what is wrong with the headers. */
function credentialsOf(c: Context<GatewayEnv>): string {
  const incoming = c.env?.incoming;
  const presented = presentedKey(credentialHeader(incoming, c.req.raw.headers, 'authorization'), credentialHeader(incoming, c.req.raw.headers, 'x-api-key'));
  if ('key' in presented) return presented.key;
  switch (presented.problem) {
    case 'missing':
      throw new ApiError('missing_api_key', 'an API key is required: send "Authorization: Bearer <API key>"', { headers: { 'WWW-Authenticate': REALM } });
    case 'repeated':
      throw new ApiError('malformed_api_key', 'send the API key once: the request has more than one Authorization (or X-API-Key) header', {
        headers: { 'WWW-Authenticate': AUTH_CHALLENGES.invalidRequest },
      });
    case 'not_bearer':
      throw new ApiError('malformed_api_key', 'the Authorization header must be "Bearer <API key>"', { headers: { 'WWW-Authenticate': INVALID_TOKEN } });
    case 'bad_key':
      throw new ApiError('malformed_api_key', 'the API key must be 1 to 256 printable ASCII characters without spaces', { headers: { 'WWW-Authenticate': INVALID_TOKEN } });
  }
}

function summarize(what: string, issues: Issue[]): string {
  const first = issues[0];
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  return first === undefined ? `${what} is invalid` : `${what} is invalid (${count}); first: ${first.path}: ${first.message}`;
}

/** The items of a batch body `{ "traces": [...] }`, or the 400/413 that says what is wrong with it. */
function batchItemsOf(body: unknown, maxItems: number): unknown[] {
  const invalid = (path: string, message: string): ApiError => new ApiError('invalid_body', `${path}: ${message}`, { issues: [{ path, message }] });
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw invalid('$', `expected an object { "traces": [...] }, received ${jsonTypeOf(body)}`);
  }
  const issues: Issue[] = [];
  for (const key in body) {
    if (key !== 'traces') issues.push({ path: formatPath([key]), message: key === 'org_id' ? ORG_ID_MESSAGE : 'unknown field' });
  }
  if (issues.length > 0) throw new ApiError('invalid_body', summarize('the batch', issues), { issues });
  const traces = (body as { traces?: unknown }).traces;
  if (traces === undefined) throw invalid('$.traces', 'required: an array of traces');
  if (!Array.isArray(traces)) throw invalid('$.traces', `expected an array of traces, received ${jsonTypeOf(traces)}`);
  if (traces.length === 0) throw invalid('$.traces', 'at least one trace is required');
  if (traces.length > maxItems) {
    throw new ApiError('too_many_items', `a batch holds at most ${maxItems} traces, this one has ${traces.length}`);
  }
  return traces;
}

/** Races a promise against a timer; the timer is cleared either way. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not complete within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function createGatewayApp(deps: GatewayDeps): Hono<GatewayEnv> {
  const { producer, encodeTrace, authenticate, logger } = deps;
  const clock = deps.clock ?? Date.now;
  const generateId = deps.generateId ?? randomUUID;
  const limits = resolveLimits(deps.limits);
  const retryAfter = { 'Retry-After': String(limits.retryAfterSeconds) };
  const openApiJson = JSON.stringify(buildOpenApiDocument(limits));
  const requestIdPrefix = randomBytes(4).toString('hex');
  let requestCount = 0;
  if ((deps.rateLimiter === undefined) !== (deps.rateLimits === undefined)) throw new TypeError('createGatewayApp: rateLimiter and rateLimits go together');
  const rateLimit =
    deps.rateLimiter === undefined || deps.rateLimits === undefined ? undefined : createOrgRateLimit<GatewayEnv>({ limiter: deps.rateLimiter, limits: deps.rateLimits, logger });
  const limitRequests: MiddlewareHandler<GatewayEnv> = rateLimit?.requests ?? (async (_c, next) => next());
  const chargeTraces = async (c: Context<GatewayEnv>, cost: number): Promise<void> => rateLimit?.chargeTraces(c, cost);

  const app = new Hono<GatewayEnv>();

  app.use('*', async function requestLog(c, next) {
    const started = performance.now();
    const sent = headerOf(c, 'x-request-id');
    const requestId = sent !== undefined && SANE_REQUEST_ID.test(sent) ? sent : `${requestIdPrefix}-${(++requestCount).toString(36)}`;
    c.set('requestId', requestId);
    c.header('X-Request-Id', requestId);
    await next();
    const status = c.res.status;
    const line = {
      request_id: requestId,
      method: c.req.method,
      path: c.req.path,
      status,
      latency_ms: Math.round((performance.now() - started) * 1000) / 1000,
      org_id: c.get('principal')?.orgId,
    };
    if (status >= 500) logger.error({ ...line, err: c.get('failure') }, 'request failed');
    else logger.info(line, 'request');
  });

  app.use('*', securityHeaders({ csp: API_CSP }));
  app.use('*', corsAllowList(deps.corsOrigins ?? []));

  app.onError((err, c) => {
    c.set('failure', err instanceof ApiError && err.cause !== undefined ? err.cause : err);
    return errorResponse(err, c, c.get('requestId'));
  });

  app.notFound((c) => c.json(errorBody('not_found', `no route for ${c.req.method} ${c.req.path}`, c.get('requestId')), 404));

  const requireIngestKey: MiddlewareHandler<GatewayEnv> = async function requireIngestKey(c, next) {
    const token = credentialsOf(c);
    let result: AuthResult;
    try {
      result = await authenticate(token);
    } catch (cause) {
      throw new ApiError('auth_unavailable', 'API keys cannot be checked right now; retry later', { headers: retryAfter, cause });
    }
    if (isRejection(result)) {
      throw new ApiError(REJECTION_CODES[result.rejected], REJECTION_MESSAGES[result.rejected], { headers: { 'WWW-Authenticate': INVALID_TOKEN } });
    }
    const principal = result;
    if (!principal.scopes.includes('ingest')) {
      throw new ApiError('insufficient_scope', 'this API key lacks the "ingest" scope', {
        headers: { 'WWW-Authenticate': `${REALM}, error="insufficient_scope", scope="ingest"` },
      });
    }
    c.set('principal', principal);
    await next();
  };

  /** What to do to each trace of this org before it is encoded: mask it, or nothing. */
  async function preparerFor(orgId: string): Promise<(trace: Trace) => Trace> {
    if (deps.policies === undefined) return keep;
    let policy: { mask_pii_before_storage: boolean };
    try {
      policy = await deps.policies.get(orgId);
    } catch (cause) {
      throw new ApiError('policy_unavailable', "the organization's policy cannot be read right now, so PII masking cannot be decided; nothing was accepted, retry later", {
        headers: retryAfter,
        cause,
      });
    }
    return policy.mask_pii_before_storage ? mask : keep;
  }

  /** The log record of a trace, or (a string) why it is too large for the log. */
  function recordOf(trace: Trace): OutgoingRecord | string {
    let value: Buffer;
    try {
      value = encodeTrace(trace);
    } catch (cause) {
      if (isRetriable(cause)) throw new ApiError('log_unavailable', 'the trace cannot be encoded for the log right now; retry later', { headers: retryAfter, cause });
      throw cause;
    }
    const record = { topic: TRACES_TOPIC, key: trace.trace_id, value, timestamp: trace.received_at };
    const bytes = recordBytes(record);
    if (bytes <= limits.recordBytes) return record;
    return `this trace takes ${bytes} bytes on the log${trace.pii_masked ? ' once its PII is masked' : ''}, more than the ${limits.recordBytes} bytes a trace may take`;
  }

  /** A batch item's compact JSON size, when it is larger than one trace may be; measured only when the body could hold one. */
  function oversizedItem(item: unknown, bodyBytes: number): string | undefined {
    if (bodyBytes <= limits.singleBytes) return undefined;
    const bytes = Buffer.byteLength(JSON.stringify(item) ?? '');
    if (bytes <= limits.singleBytes) return undefined;
    return `this trace is ${bytes} bytes of JSON, more than the ${limits.singleBytes} bytes one trace may have (the body limit of POST /v1/traces)`;
  }

  async function produce(records: OutgoingRecord[]): Promise<void> {
    try {
      await within(producer.send(records), limits.produceTimeoutMs, 'the write to the log');
    } catch (cause) {
      throw new ApiError('log_unavailable', 'the trace log did not acknowledge the write; nothing was accepted, retry later', {
        headers: retryAfter,
        cause,
      });
    }
  }

  async function bodyOf(c: Context<GatewayEnv>, limit: number): Promise<{ body: unknown; bytes: number }> {
    assertJsonContentType(headerOf(c, 'content-type'));
    return readJsonBody(c.req.raw, c.env?.incoming, headerOf(c, 'content-length'), limit);
  }

  app.post('/v1/traces', requireIngestKey, limitRequests, async function ingestTrace(c) {
    const { body } = await bodyOf(c, limits.singleBytes);
    const parsed = publicTraceSchema.safeParse(body);
    if (!parsed.success) {
      const issues = toIssues(parsed.error.issues, body);
      throw new ApiError('invalid_body', summarize('the trace', issues), { issues });
    }
    const orgId = c.get('principal').orgId;
    await chargeTraces(c, 1);
    const prepare = await preparerFor(orgId);
    const trace = toTraceRecord(parsed.data, { orgId, receivedAt: clock(), generateId });
    const record = recordOf(prepare(trace));
    if (typeof record === 'string') throw new ApiError('body_too_large', record, { issues: [{ path: '$', message: record }] });
    await produce([record]);
    return c.json({ trace_id: trace.trace_id }, 202);
  });

  app.post('/v1/traces/batch', requireIngestKey, limitRequests, async function ingestBatch(c) {
    const { body, bytes } = await bodyOf(c, limits.batchBytes);
    const items = batchItemsOf(body, limits.batchItems);
    const ctx = { orgId: c.get('principal').orgId, receivedAt: clock(), generateId };
    const prepare = await preparerFor(ctx.orgId);
    const accepted: { index: number; trace_id: string }[] = [];
    const rejected: { index: number; errors: Issue[] }[] = [];
    const records: OutgoingRecord[] = [];
    const firstIndexOfId = new Map<string, number>();
    const reject = (index: number, message: string, path: (string | number)[] = ['traces', index]) => rejected.push({ index, errors: [{ path: formatPath(path), message }] });
    for (let index = 0; index < items.length; index++) {
      // As the single route answers 413 for such a body: this item alone is refused.
      const oversized = oversizedItem(items[index], bytes);
      if (oversized !== undefined) {
        reject(index, oversized);
        continue;
      }
      const parsed = publicTraceSchema.safeParse(items[index]);
      if (!parsed.success) {
        rejected.push({ index, errors: toIssues(parsed.error.issues, body, ['traces', index]) });
        continue;
      }
      const clientId = parsed.data.trace_id;
      if (clientId !== undefined) {
        const first = firstIndexOfId.get(clientId);
        if (first !== undefined) {
          reject(index, `duplicate trace_id: already used by $.traces[${first}] in this batch`, ['traces', index, 'trace_id']);
          continue;
        }
      }
      const trace = toTraceRecord(parsed.data, ctx);
      const record = recordOf(prepare(trace));
      if (typeof record === 'string') {
        reject(index, record);
        continue;
      }
      if (clientId !== undefined) firstIndexOfId.set(clientId, index);
      records.push(record);
      accepted.push({ index, trace_id: trace.trace_id });
    }
    if (records.length === 0) {
      const issues = rejected.flatMap((item) => item.errors);
      throw new ApiError('invalid_body', `every trace in the batch was rejected (${rejected.length} of ${items.length}); first: ${issues[0]?.path}: ${issues[0]?.message}`, {
        issues,
      });
    }
    await chargeTraces(c, records.length);
    await produce(records);
    return c.json({ accepted, rejected }, 202);
  });

  registerOtlpRoute(app, {
    requireIngestKey,
    limitRequests,
    chargeTraces,
    preparerFor,
    recordOf,
    oversizedItem,
    produce,
    header: headerOf,
    clock,
    generateId,
    maxBytes: limits.batchBytes,
    logger,
  });

  app.get('/healthz', (c) => c.json({ status: 'ok' as const }, 200));

  app.get('/readyz', async function readiness(c) {
    let checks: Record<string, boolean>;
    try {
      checks = await within(deps.ready(), limits.readyTimeoutMs, 'the readiness check');
    } catch (err) {
      c.set('failure', err);
      return c.json({ ...errorBody('not_ready', 'the readiness check failed', c.get('requestId')), checks: {} }, 503);
    }
    const failed = Object.keys(checks).filter((name) => checks[name] !== true);
    if (failed.length === 0) return c.json({ status: 'ready' as const, checks }, 200);
    return c.json({ ...errorBody('not_ready', `not ready: ${failed.join(', ')}`, c.get('requestId')), checks }, 503);
  });

  app.get('/openapi.json', (c) => c.body(openApiJson, 200, { 'Content-Type': 'application/json; charset=utf-8' }));

  return app;
}
