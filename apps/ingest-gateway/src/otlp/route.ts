/**
 * `POST /otlp/v1/traces`: OTLP/HTTP trace export (protobuf or JSON, optionally gzip) into the same
 * path as `POST /v1/traces/batch`: the same API keys and scopes, rate limits, PII masking, and one
 * acknowledged write to the log before the answer. Point an exporter at it with
 * `OTEL_EXPORTER_OTLP_ENDPOINT=<gateway>/otlp` and
 * `OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer <key>"` (exporters append `/v1/traces`).
 *
 * Answers per the OTLP/HTTP specification, in the request's encoding:
 * - 200 `ExportTraceServiceResponse`; `partial_success` with `rejected_spans` and a message when some
 *   LLM spans could not be turned into traces (mapper.ts says which are LLM spans; the others are
 *   skipped: accepted and counted, not stored);
 * - 400 with a `google.rpc.Status` for a body that is not an ExportTraceServiceRequest (not retried);
 * - 429 and 503 with `Retry-After` (rate limited; the log did not acknowledge): exporters retry;
 * - 401/403/413/415 as the rest of the gateway, with the same codes in the Status message.
 * An error body in JSON carries the Status fields (`code`, `message`, `details`) and the gateway's
 * usual `error` envelope side by side; in protobuf it is the Status alone.
 * Counts of each request (spans, stored, skipped, rejected) are in the log line and the
 * `X-Metronis-Spans` header.
 */
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { GatewayEnv } from '../app.js';
import { publicTraceSchema, toTraceRecord, type Trace } from '@metronis/schemas';
import type { OutgoingRecord } from '@metronis/streams';
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { parseJsonBytes, readBodyBytes } from '../body.js';
import { ApiError, type ErrorBody } from '../errors.js';
import { mapSpansSafely } from './mapper.js';
import { decodeExportRequest, encodeExportResponse, encodeStatus, fromJsonExportRequest, GRPC_CODES, OtlpDecodeError, type OtlpEncoding } from './proto.js';
import { spansOf } from './spans.js';

export const OTLP_TRACES_PATH = '/otlp/v1/traces';

const gunzipAsync = promisify(gunzip);
const PROTOBUF = 'application/x-protobuf';
const JSON_TYPE = 'application/json';
/** At most this many rejected spans are named in the partial-success message. */
const NAMED_REJECTIONS = 5;

/** What the route borrows from the gateway app, so it writes exactly as the REST routes do. */
export interface OtlpIngestKit {
  requireIngestKey: MiddlewareHandler<GatewayEnv>;
  limitRequests: MiddlewareHandler<GatewayEnv>;
  chargeTraces(c: Context<GatewayEnv>, cost: number): Promise<void>;
  preparerFor(orgId: string): Promise<(trace: Trace) => Trace>;
  /** The log record, or (a string) why the trace is too large for the log. */
  recordOf(trace: Trace): OutgoingRecord | string;
  /** Why a mapped trace is larger than one trace may be (compact JSON), measured when the body could hold one. */
  oversizedItem(item: unknown, bodyBytes: number): string | undefined;
  produce(records: OutgoingRecord[]): Promise<void>;
  header(c: Context<GatewayEnv>, name: string): string | undefined;
  clock: () => number;
  generateId: () => string;
  /** Largest body, compressed and uncompressed. */
  maxBytes: number;
  logger: { info(obj: object, msg: string): void };
}

function encodingOf(contentType: string | undefined): OtlpEncoding | undefined {
  const media = contentType?.split(';', 1)[0]?.trim().toLowerCase();
  if (media === PROTOBUF) return 'protobuf';
  if (media === JSON_TYPE) return 'json';
  return undefined;
}

const GRPC_BY_STATUS: Record<number, number> = {
  400: GRPC_CODES.INVALID_ARGUMENT,
  401: GRPC_CODES.UNAUTHENTICATED,
  403: GRPC_CODES.PERMISSION_DENIED,
  404: GRPC_CODES.NOT_FOUND,
  413: GRPC_CODES.INVALID_ARGUMENT,
  415: GRPC_CODES.INVALID_ARGUMENT,
  429: GRPC_CODES.RESOURCE_EXHAUSTED,
  503: GRPC_CODES.UNAVAILABLE,
};

/**
 * Rewrites the gateway's JSON error envelope of this route into an OTLP `google.rpc.Status`, in the
 * request's encoding, keeping the status and every header (Retry-After, WWW-Authenticate, ...).
 */
function otlpErrors(header: OtlpIngestKit['header']): MiddlewareHandler<GatewayEnv> {
  return async function otlpErrors(c, next) {
    await next();
    if (c.res.status < 400) return;
    const encoding = encodingOf(header(c, 'content-type')) ?? 'json';
    let envelope: ErrorBody | undefined;
    try {
      envelope = (await c.res.clone().json()) as ErrorBody;
    } catch {
      return; // not the gateway's envelope (cannot happen on this route): leave the answer alone
    }
    const headers = new Headers(c.res.headers);
    headers.delete('content-length');
    headers.set('content-type', encoding === 'json' ? JSON_TYPE : PROTOBUF);
    const status = c.res.status;
    const grpcCode = GRPC_BY_STATUS[status] ?? GRPC_CODES.INTERNAL;
    const message = `${envelope.error.code}: ${envelope.error.message}`;
    // JSON: the Status fields next to the gateway's own envelope, so both kinds of client read it.
    const body = encoding === 'json' ? JSON.stringify({ code: grpcCode, message, details: [], ...envelope }) : encodeStatus(encoding, grpcCode, message);
    c.res = undefined;
    c.res = new Response(body, { status, headers });
  };
}

async function inflate(bytes: Uint8Array, contentEncoding: string | undefined, maxBytes: number): Promise<Uint8Array> {
  const encoding = contentEncoding?.trim().toLowerCase();
  if (encoding === undefined || encoding === '' || encoding === 'identity') return bytes;
  if (encoding !== 'gzip') throw new ApiError('unsupported_media_type', `Content-Encoding must be gzip or absent, not ${JSON.stringify(encoding.slice(0, 50))}`);
  try {
    return await gunzipAsync(bytes, { maxOutputLength: maxBytes });
  } catch (cause) {
    if ((cause as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new ApiError('body_too_large', `the decompressed body is larger than the limit of ${maxBytes} bytes`);
    }
    throw new ApiError('invalid_body', 'the body is not valid gzip', { issues: [{ path: '$', message: 'the body is not valid gzip' }], cause });
  }
}

function decode(bytes: Uint8Array, encoding: OtlpEncoding): Record<string, unknown> {
  try {
    return encoding === 'protobuf' ? decodeExportRequest(bytes) : fromJsonExportRequest(parseJsonBytes(bytes));
  } catch (err) {
    if (err instanceof OtlpDecodeError) throw new ApiError('invalid_body', err.message, { issues: [{ path: '$', message: err.message }] });
    throw err;
  }
}

/** Registers the OTLP trace route on the gateway app. */
export function registerOtlpRoute(app: Hono<GatewayEnv>, kit: OtlpIngestKit): void {
  app.post(OTLP_TRACES_PATH, otlpErrors(kit.header), kit.requireIngestKey, kit.limitRequests, async function otlpExport(c) {
    const encoding = encodingOf(kit.header(c, 'content-type'));
    if (encoding === undefined) {
      const sent = kit.header(c, 'content-type');
      throw new ApiError('unsupported_media_type', `Content-Type must be ${PROTOBUF} or ${JSON_TYPE}${sent === undefined ? ' (none was sent)' : `, not ${JSON.stringify(sent.slice(0, 100))}`}`);
    }
    const incoming = c.env?.incoming;
    const raw = await readBodyBytes(c.req.raw, incoming, kit.header(c, 'content-length'), kit.maxBytes);
    const bytes = await inflate(raw, kit.header(c, 'content-encoding'), kit.maxBytes);
    const spans = spansOf(decode(bytes, encoding));

    const orgId = c.get('principal').orgId;
    const ctx = { orgId, receivedAt: kit.clock(), generateId: kit.generateId };
    const outcomes = mapSpansSafely(spans);
    // The org's masking policy only when something will be stored (a policy outage then answers 503).
    const prepare = outcomes.some((o) => o.kind === 'trace') ? await kit.preparerFor(orgId) : (trace: Trace) => trace;
    const rejections: string[] = [];
    const records: OutgoingRecord[] = [];
    const seen = new Set<string>();
    let skipped = 0;
    for (const outcome of outcomes) {
      const where = `span ${outcome.span.spanId || '(no id)'} "${outcome.span.name.slice(0, 80)}"`;
      if (outcome.kind === 'skipped') {
        skipped++;
        continue;
      }
      if (outcome.kind === 'rejected') {
        rejections.push(`${where}: ${outcome.reason}`);
        continue;
      }
      const oversized = kit.oversizedItem(outcome.trace, bytes.byteLength);
      if (oversized !== undefined) {
        rejections.push(`${where}: ${oversized}`);
        continue;
      }
      const parsed = publicTraceSchema.safeParse(outcome.trace);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        rejections.push(`${where}: ${issue === undefined ? 'invalid' : `${issue.path.join('.') || '$'}: ${issue.message}`}`);
        continue;
      }
      // A span sent twice in one request is one trace (the id is derived from the span's ids).
      if (seen.has(parsed.data.trace_id!)) continue;
      const record = kit.recordOf(prepare(toTraceRecord(parsed.data, ctx)));
      if (typeof record === 'string') {
        rejections.push(`${where}: ${record}`);
        continue;
      }
      seen.add(parsed.data.trace_id!);
      records.push(record);
    }
    if (records.length > 0) {
      await kit.chargeTraces(c, records.length);
      await kit.produce(records);
    }
    const counts = { spans: spans.length, stored: records.length, skipped, rejected: rejections.length };
    kit.logger.info({ request_id: c.get('requestId'), org_id: orgId, ...counts }, 'otlp export');
    c.header('X-Metronis-Spans', `received=${counts.spans}; stored=${counts.stored}; skipped=${counts.skipped}; rejected=${counts.rejected}`);
    const partial =
      rejections.length === 0
        ? undefined
        : {
            rejectedSpans: rejections.length,
            errorMessage:
              `${rejections.length} of ${spans.length} spans rejected; ` +
              rejections.slice(0, NAMED_REJECTIONS).join('; ') +
              (rejections.length > NAMED_REJECTIONS ? `; and ${rejections.length - NAMED_REJECTIONS} more` : ''),
          };
    const body = encodeExportResponse(encoding, partial);
    return c.body(body as never, 200, { 'Content-Type': encoding === 'json' ? JSON_TYPE : PROTOBUF });
  });
}
