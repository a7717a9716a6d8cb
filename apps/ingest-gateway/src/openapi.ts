/**
 * The gateway's OpenAPI 3.1 document, served at `GET /openapi.json`. Request bodies come from the
 * public trace zod schema (`publicTraceSchema`), responses from the zod schemas below, all turned
 * into JSON Schema 2020-12 (the dialect of OpenAPI 3.1) by `z.toJSONSchema` as components that
 * refer to each other. The limits in the document are the ones the app enforces.
 *
 * @example
 *   const doc = buildOpenApiDocument({ batchItems: 1000, singleBytes: 1 << 20, batchBytes: 10 << 20 });
 */
import { publicTraceSchema } from '@metronis/schemas';
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from './errors.js';

export interface OpenApiOptions {
  batchItems: number;
  singleBytes: number;
  batchBytes: number;
  /** Document version. Default 0.1.0. */
  version?: string;
}

const issue = z.strictObject({
  path: z.string().describe('JSON path of the problem, e.g. $.traces[3].input'),
  message: z.string(),
});

/** Zod schemas of everything the gateway answers, by component name. */
export const responseSchemas = {
  TraceAccepted: z.strictObject({ trace_id: z.string() }).describe('The trace was durably written to the log.'),
  BatchResult: z
    .strictObject({
      accepted: z.array(z.strictObject({ index: z.number().int().nonnegative(), trace_id: z.string() })),
      rejected: z.array(z.strictObject({ index: z.number().int().nonnegative(), errors: z.array(issue) })),
    })
    .describe('Per-item outcome: accepted items were durably written; rejected ones were not, and say why.'),
  Error: z
    .strictObject({
      error: z.strictObject({
        code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]),
        message: z.string(),
        issues: z.array(issue).optional(),
        request_id: z.string(),
      }),
    })
    .describe('Every error answer.'),
  Health: z.strictObject({ status: z.literal('ok') }),
  Ready: z.strictObject({ status: z.literal('ready'), checks: z.record(z.string(), z.boolean()) }),
  NotReady: z.strictObject({
    error: z.strictObject({ code: z.literal('not_ready'), message: z.string(), request_id: z.string() }),
    checks: z.record(z.string(), z.boolean()),
  }),
} as const;

type Json = Record<string, unknown>;

function components(batchItems: number): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  registry.add(publicTraceSchema, { id: 'Trace' });
  registry.add(z.strictObject({ traces: z.array(publicTraceSchema).min(1).max(batchItems) }), { id: 'TraceBatch' });
  for (const [id, schema] of Object.entries(responseSchemas)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, { uri: (id) => `#/components/schemas/${id}` });
  const out: Record<string, Json> = {};
  for (const [id, schema] of Object.entries(schemas)) {
    const { $schema: _dialect, $id: _id, ...rest } = schema as Json;
    out[id] = rest;
  }
  return out;
}

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string, description: string): Json => ({ description, content: { 'application/json': { schema: ref(name) } } });
const requestIdHeader = { 'X-Request-Id': { $ref: '#/components/headers/X-Request-Id' } };

function error(description: string, extraHeaders: Json = {}): Json {
  return { ...json('Error', description), headers: { ...requestIdHeader, ...extraHeaders } };
}

/** IETF draft-ietf-httpapi-ratelimit-headers-07, on every answer past the rate limit check. */
const rateLimitHeaders = {
  'RateLimit-Limit': { description: 'The burst of the most constrained limit checked.', schema: { type: 'integer' } },
  'RateLimit-Remaining': { description: 'What that limit still allows right now.', schema: { type: 'integer' } },
  'RateLimit-Reset': { description: 'Seconds until that limit is fully available again.', schema: { type: 'integer' } },
  'RateLimit-Policy': { description: 'Each limit checked: <burst>;w=<seconds>;comment="requests" or "traces".', schema: { type: 'string' } },
};

function ingestResponses(accepted: Json, tooLarge: string): Json {
  const retryAfter = { 'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer' } } };
  const wwwAuthenticate = { 'WWW-Authenticate': { schema: { type: 'string' }, example: 'Bearer realm="metronis"' } };
  return {
    '202': { ...accepted, headers: { ...requestIdHeader, ...rateLimitHeaders } },
    '400': error('Malformed JSON (invalid_json) or an invalid trace (invalid_body, with issues naming each JSON path).'),
    '401': error('No key (missing_api_key), a malformed one (malformed_api_key), or an unknown, revoked or expired one (invalid_api_key).', wwwAuthenticate),
    '403': error('The key lacks the ingest scope (insufficient_scope).', wwwAuthenticate),
    '413': error(tooLarge),
    '415': error('Content-Type is not application/json (unsupported_media_type).'),
    '429': error(
      "The organization's requests or traces rate limit is exhausted (rate_limited); nothing was accepted. RateLimit-* describe the refusing limit.",
      { ...retryAfter, ...rateLimitHeaders },
    ),
    '503': error(
      'The log did not acknowledge the write (log_unavailable) or keys cannot be checked (auth_unavailable) or the PII masking policy of the organization cannot be read (policy_unavailable) or this instance has too many requests in flight (overloaded). Nothing was accepted; retry.',
      retryAfter,
    ),
  };
}

/**
 * OTLP/HTTP trace export (otlp/route.ts). Bodies are the OTLP `ExportTraceServiceRequest` (protobuf,
 * or OTLP/JSON), described by the OpenTelemetry protocol rather than restated here.
 */
function otlpTracesPath(maxBytes: number): Json {
  const status: Json = {
    type: 'object',
    description: 'google.rpc.Status (code: a gRPC code; message: starts with the gateway error code) with the gateway error envelope beside it.',
    required: ['code', 'message', 'error'],
    properties: {
      code: { type: 'integer' },
      message: { type: 'string' },
      details: { type: 'array', items: {} },
      error: {
        type: 'object',
        required: ['code', 'message', 'request_id'],
        properties: { code: { type: 'string' }, message: { type: 'string' }, request_id: { type: 'string' }, issues: { type: 'array', items: { type: 'object' } } },
      },
    },
  };
  const otlpError = (description: string, headers: Json = {}): Json => ({
    description,
    headers: { ...requestIdHeader, ...headers },
    content: { 'application/json': { schema: status }, 'application/x-protobuf': { schema: { type: 'string', format: 'binary' } } },
  });
  const retryAfter = { 'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer' } } };
  return {
    post: {
      operationId: 'otlpExportTraces',
      summary: 'OTLP/HTTP trace export (protobuf or JSON, gzip allowed)',
      description:
        'Set OTEL_EXPORTER_OTLP_ENDPOINT to <base>/otlp and OTEL_EXPORTER_OTLP_HEADERS to "Authorization=Bearer <API key>". ' +
        'LLM spans (OpenTelemetry GenAI, OpenInference, OpenLLMetry conventions) become traces with trace_id otel-<trace id>-<span id>; ' +
        'other spans are accepted and counted but not stored. 200 only after the log acknowledged every stored trace; ' +
        'partialSuccess.rejectedSpans counts LLM spans that could not be stored and errorMessage says why. Answers use the request encoding.',
      security: [{ bearer: [] }, { apiKeyHeader: [] }],
      parameters: [{ name: 'Content-Encoding', in: 'header', required: false, schema: { type: 'string', enum: ['gzip', 'identity'] } }],
      requestBody: {
        required: true,
        content: {
          'application/x-protobuf': { schema: { type: 'string', format: 'binary', description: 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest' } },
          'application/json': { schema: { type: 'object', description: 'ExportTraceServiceRequest in OTLP/JSON (lowerCamelCase fields, hex ids).' } },
        },
      },
      responses: {
        '200': {
          description: 'Every stored trace was durably written. ExportTraceServiceResponse, with partialSuccess when some LLM spans were rejected.',
          headers: { ...requestIdHeader, ...rateLimitHeaders, 'X-Metronis-Spans': { description: 'received=N; stored=N; skipped=N; rejected=N', schema: { type: 'string' } } },
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: { partialSuccess: { type: 'object', properties: { rejectedSpans: { type: ['string', 'integer'] }, errorMessage: { type: 'string' } } } },
              },
            },
            'application/x-protobuf': { schema: { type: 'string', format: 'binary' } },
          },
        },
        '400': otlpError('Not an ExportTraceServiceRequest, malformed JSON, or invalid gzip. Not retryable.'),
        '401': otlpError('No key, a malformed one, or an unknown, revoked or expired one.', { 'WWW-Authenticate': { schema: { type: 'string' } } }),
        '403': otlpError('The key lacks the ingest scope.', { 'WWW-Authenticate': { schema: { type: 'string' } } }),
        '413': otlpError(`Body over ${maxBytes} bytes, compressed or decompressed.`),
        '415': otlpError('Content-Type is neither application/x-protobuf nor application/json, or Content-Encoding is not gzip.'),
        '429': otlpError('Rate limited; nothing was accepted. Retry after Retry-After.', { ...retryAfter, ...rateLimitHeaders }),
        '503': otlpError('The log did not acknowledge the write, or keys or the policy cannot be read; nothing was accepted. Retry after Retry-After.', retryAfter),
      },
    },
  };
}

/** The OpenAPI 3.1 document of every route `createGatewayApp` serves. */
export function buildOpenApiDocument(options: OpenApiOptions): Json {
  const security = [{ bearer: [] }, { apiKeyHeader: [] }];
  return {
    openapi: '3.1.0',
    info: {
      title: 'Metronis ingest gateway',
      version: options.version ?? '0.1.0',
      description:
        'Send traces of LLM calls for evaluation. A trace is answered 202 only once the log has durably acknowledged it. ' +
        'The organization comes from the API key, never from the body.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths: {
      '/v1/traces': {
        post: {
          operationId: 'ingestTrace',
          summary: 'Send one trace',
          security,
          requestBody: { required: true, content: { 'application/json': { schema: ref('Trace') } } },
          responses: ingestResponses(
            json('TraceAccepted', 'Accepted and durably written.'),
            `Body over ${options.singleBytes} bytes, or a trace larger than the log takes once encoded (body_too_large).`,
          ),
        },
      },
      '/v1/traces/batch': {
        post: {
          operationId: 'ingestTraceBatch',
          summary: `Send up to ${options.batchItems} traces`,
          description:
            'Items are validated one by one: valid ones are written and reported in `accepted`, invalid ones in `rejected` ' +
            '(202 while at least one is accepted; 400 invalid_body with every issue when none is). A trace_id repeated within ' +
            'one batch is accepted once, at its first index; the later items are rejected as duplicates. All accepted items ' +
            'are written with one acknowledged write: on 503 none was accepted. An item larger than one trace may be ' +
            `(${options.singleBytes} bytes of JSON, the body limit of POST /v1/traces, or larger than the log takes once encoded) is rejected alone.`,
          security,
          requestBody: { required: true, content: { 'application/json': { schema: ref('TraceBatch') } } },
          responses: ingestResponses(
            json('BatchResult', 'At least one item was accepted and durably written.'),
            `Body over ${options.batchBytes} bytes (body_too_large) or more than ${options.batchItems} items (too_many_items).`,
          ),
        },
      },
      '/otlp/v1/traces': otlpTracesPath(options.batchBytes),
      '/healthz': {
        get: {
          operationId: 'health',
          summary: 'Liveness: 200 while the process serves requests',
          security: [],
          responses: { '200': { ...json('Health', 'Alive.'), headers: requestIdHeader } },
        },
      },
      '/readyz': {
        get: {
          operationId: 'ready',
          summary: 'Readiness: 200 when every dependency check passes',
          security: [],
          responses: {
            '200': { ...json('Ready', 'Every check passed.'), headers: requestIdHeader },
            '503': { ...json('NotReady', 'Some check failed; `checks` says which.'), headers: requestIdHeader },
          },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'openapi',
          summary: 'This document',
          security: [],
          responses: { '200': { description: 'The OpenAPI 3.1 document.', content: { 'application/json': { schema: { type: 'object' } } } } },
        },
      },
    },
    components: {
      schemas: components(options.batchItems),
      headers: {
        'X-Request-Id': {
          description: 'The request id: the one sent (1-128 of A-Z a-z 0-9 . _ : -) or a generated one. It names the request in the gateway log.',
          schema: { type: 'string' },
        },
      },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <API key>' },
        apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'The API key, when a Bearer header cannot be set.' },
      },
    },
  };
}
