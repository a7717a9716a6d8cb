/**
 * The OTLP trace messages from the official .proto files (../../proto, see its README), loaded once
 * with protobufjs: decode an `ExportTraceServiceRequest` from protobuf bytes, check one given as OTLP
 * JSON, and encode the answers (`ExportTraceServiceResponse`, and `google.rpc.Status` for errors) in
 * either encoding. Nothing here knows about LLMs; spans.ts turns the decoded message into plain spans.
 *
 * @example
 *   const request = decodeExportRequest(bytes); // throws OtlpDecodeError on a malformed body
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import protobuf from 'protobufjs';

const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

function loadRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : join(PROTO_DIR, target));
  return root.loadSync(['opentelemetry/proto/collector/trace/v1/trace_service.proto', 'google/rpc/status.proto'], { keepCase: false });
}

const root = loadRoot();
const ExportRequest = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
const ExportResponse = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');
const Status = root.lookupType('google.rpc.Status');

/** A body that is not a valid ExportTraceServiceRequest; the message says what is wrong. */
export class OtlpDecodeError extends Error {
  override readonly name = 'OtlpDecodeError';
}

const TO_PLAIN = { longs: String, enums: Number, defaults: false, arrays: true } as const;

/**
 * The request as a plain object (lowerCamelCase fields): ids as bytes, 64-bit integers as decimal
 * strings (exact nanoseconds), enums as numbers.
 */
export function decodeExportRequest(bytes: Uint8Array): Record<string, unknown> {
  try {
    // toObject inside the try too: a hostile nesting depth fails here (RangeError), as a 400.
    return ExportRequest.toObject(ExportRequest.decode(bytes), TO_PLAIN);
  } catch (err) {
    throw new OtlpDecodeError(`malformed protobuf ExportTraceServiceRequest: ${err instanceof Error ? err.message : String(err)}`);
  }
}

const HEX_ID = /^(?:[0-9a-fA-F]{2})*$/;
const ID_FIELDS = ['traceId', 'spanId', 'parentSpanId'] as const;

/** OTLP/JSON writes ids as hex, where the protobuf JSON mapping has base64: turn them into bytes first. */
function hexIdsToBytes(holder: unknown): void {
  if (holder === null || typeof holder !== 'object') return;
  const record = holder as Record<string, unknown>;
  for (const field of ID_FIELDS) {
    const value = record[field];
    // A malformed id becomes empty bytes, which spans.ts rejects as the wrong length, per span.
    if (typeof value === 'string') record[field] = HEX_ID.test(value) ? Buffer.from(value, 'hex') : Buffer.alloc(0);
  }
}

function arrayAt(holder: unknown, field: string): unknown[] {
  const value = holder !== null && typeof holder === 'object' ? (holder as Record<string, unknown>)[field] : undefined;
  return Array.isArray(value) ? value : [];
}

/**
 * The same plain object from an OTLP/JSON body (already parsed): ids are hex strings there, 64-bit
 * integers strings or numbers, enums integers. The protobufjs type converts and checks the shape.
 */
export function fromJsonExportRequest(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new OtlpDecodeError('an OTLP/JSON body is an object { "resourceSpans": [...] }');
  }
  for (const resourceSpans of arrayAt(body, 'resourceSpans')) {
    for (const scopeSpans of arrayAt(resourceSpans, 'scopeSpans')) {
      for (const span of arrayAt(scopeSpans, 'spans')) {
        hexIdsToBytes(span);
        for (const link of arrayAt(span, 'links')) hexIdsToBytes(link);
      }
    }
  }
  try {
    return ExportRequest.toObject(ExportRequest.fromObject(body as Record<string, unknown>), TO_PLAIN);
  } catch (err) {
    throw new OtlpDecodeError(`invalid OTLP/JSON ExportTraceServiceRequest: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export type OtlpEncoding = 'protobuf' | 'json';

/** The success answer; `partialSuccess` only when something was rejected or there is a warning. */
export function encodeExportResponse(encoding: OtlpEncoding, partial?: { rejectedSpans: number; errorMessage: string }): Uint8Array | string {
  const body = partial === undefined ? {} : { partialSuccess: { rejectedSpans: partial.rejectedSpans, errorMessage: partial.errorMessage } };
  if (encoding === 'json') return JSON.stringify(body);
  return ExportResponse.encode(ExportResponse.fromObject(body)).finish();
}

/** gRPC codes used in `google.rpc.Status.code` (the OTLP/HTTP error body). */
export const GRPC_CODES = {
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** The error body: a `google.rpc.Status` in the request's encoding. */
export function encodeStatus(encoding: OtlpEncoding, code: number, message: string): Uint8Array | string {
  if (encoding === 'json') return JSON.stringify({ code, message, details: [] });
  return Status.encode(Status.fromObject({ code, message })).finish();
}

/** Decodes a `google.rpc.Status` (for tests and clients). */
export function decodeStatus(bytes: Uint8Array): { code: number; message: string } {
  const object = Status.toObject(Status.decode(bytes), { defaults: true });
  return { code: object.code as number, message: object.message as string };
}

/** Decodes an `ExportTraceServiceResponse` (for tests and clients). */
export function decodeExportResponse(bytes: Uint8Array): { partialSuccess?: { rejectedSpans: string; errorMessage: string } } {
  return ExportResponse.toObject(ExportResponse.decode(bytes), { longs: String }) as { partialSuccess?: { rejectedSpans: string; errorMessage: string } };
}

/** Encodes a request from the same plain form `decodeExportRequest` returns (for tests and the benchmark). */
export function encodeExportRequest(object: Record<string, unknown>): Uint8Array {
  return ExportRequest.encode(ExportRequest.fromObject(object)).finish();
}
