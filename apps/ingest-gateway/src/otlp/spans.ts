/**
 * Flattens a decoded `ExportTraceServiceRequest` (proto.ts) into plain spans: hex ids, attribute
 * values as JSON values (AnyValue: strings, numbers, booleans, arrays, objects; bytes as base64),
 * times as epoch nanoseconds (bigint), each span with its resource and scope attributes at hand.
 * The mapper (mapper.ts) works on these only, so it does not care which encoding came in.
 */

export type AttrValue = string | number | boolean | null | AttrValue[] | { [key: string]: AttrValue };
export type Attributes = Record<string, AttrValue>;

export interface OtlpEvent {
  name: string;
  timeUnixNano: bigint;
  attributes: Attributes;
}

export interface OtlpSpan {
  /** 32 hex digits, or '' when the sender's id was not 16 bytes. */
  traceId: string;
  /** 16 hex digits, or '' when the sender's id was not 8 bytes. */
  spanId: string;
  /** 16 hex digits, or undefined for a root span. */
  parentSpanId: string | undefined;
  name: string;
  /** OTLP SpanKind: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Attributes;
  events: OtlpEvent[];
  /** OTLP StatusCode: 0 unset, 1 ok, 2 error. */
  status: { code: number; message: string };
  resource: Attributes;
  scope: { name: string; version: string };
}

type Plain = Record<string, unknown>;

const list = (value: unknown): Plain[] => (Array.isArray(value) ? (value as Plain[]) : []);
const text = (value: unknown): string => (typeof value === 'string' ? value : '');

function hexOf(value: unknown, bytes: number): string {
  if (!(value instanceof Uint8Array) || value.length !== bytes) return '';
  const hex = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
  return /^0+$/.test(hex) ? '' : hex; // all-zero ids are invalid in OTLP
}

function nanos(value: unknown): bigint {
  if (typeof value === 'string' && /^\d+$/.test(value)) return BigInt(value);
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  return 0n;
}

/** An OTLP AnyValue as a JSON value. */
export function anyValue(value: unknown): AttrValue {
  if (value === null || typeof value !== 'object') return null;
  const v = value as Plain;
  if ('stringValue' in v) return text(v.stringValue);
  if ('boolValue' in v) return v.boolValue === true;
  if ('intValue' in v) {
    const n = Number(v.intValue);
    return Number.isSafeInteger(n) ? n : String(v.intValue);
  }
  if ('doubleValue' in v) return typeof v.doubleValue === 'number' ? v.doubleValue : Number(v.doubleValue);
  if ('arrayValue' in v) return list((v.arrayValue as Plain | undefined)?.values).map(anyValue);
  if ('kvlistValue' in v) return attributesOf((v.kvlistValue as Plain | undefined)?.values);
  if ('bytesValue' in v) return v.bytesValue instanceof Uint8Array ? Buffer.from(v.bytesValue).toString('base64') : text(v.bytesValue);
  return null;
}

export function attributesOf(keyValues: unknown): Attributes {
  const out: Attributes = Object.create(null) as Attributes;
  for (const kv of list(keyValues)) {
    const key = text(kv.key);
    if (key !== '' && key !== '__proto__') out[key] = anyValue(kv.value);
  }
  return out;
}

/** Every span of the request, in order, with its resource and scope. */
export function spansOf(request: Plain): OtlpSpan[] {
  const spans: OtlpSpan[] = [];
  for (const resourceSpans of list(request.resourceSpans)) {
    const resource = attributesOf((resourceSpans.resource as Plain | undefined)?.attributes);
    for (const scopeSpans of list(resourceSpans.scopeSpans)) {
      const scopeMessage = (scopeSpans.scope as Plain | undefined) ?? {};
      const scope = { name: text(scopeMessage.name), version: text(scopeMessage.version) };
      for (const span of list(scopeSpans.spans)) {
        const status = (span.status as Plain | undefined) ?? {};
        const parent = hexOf(span.parentSpanId, 8);
        spans.push({
          traceId: hexOf(span.traceId, 16),
          spanId: hexOf(span.spanId, 8),
          parentSpanId: parent === '' ? undefined : parent,
          name: text(span.name),
          kind: typeof span.kind === 'number' ? span.kind : 0,
          startTimeUnixNano: nanos(span.startTimeUnixNano),
          endTimeUnixNano: nanos(span.endTimeUnixNano),
          attributes: attributesOf(span.attributes),
          events: list(span.events).map((event) => ({ name: text(event.name), timeUnixNano: nanos(event.timeUnixNano), attributes: attributesOf(event.attributes) })),
          status: { code: typeof status.code === 'number' ? status.code : 0, message: text(status.message) },
          resource,
          scope,
        });
      }
    }
  }
  return spans;
}
