/**
 * OTLP request builders for the tests: spans in the plain form `encodeExportRequest` takes (the same
 * message types the gateway decodes with), as protobuf bytes or as OTLP/JSON (hex ids, string nanos).
 */
import { encodeExportRequest } from '../src/otlp/proto.js';

export type Attr = string | number | boolean | string[];

export interface SpanSpec {
  traceId?: string;
  spanId: string;
  parentSpanId?: string;
  name?: string;
  startMs?: number;
  durationMs?: number;
  attributes?: Record<string, Attr>;
  events?: { name: string; attributes: Record<string, Attr> }[];
  status?: { code: number; message?: string };
}

export const TRACE_ID = '5b8efff798038103d269b633813fc60c';
export const START_MS = 1_764_000_000_000;

function anyValue(value: Attr): Record<string, unknown> {
  if (Array.isArray(value)) return { arrayValue: { values: value.map((v) => ({ stringValue: v })) } };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
}

const keyValues = (attributes: Record<string, Attr> = {}) => Object.entries(attributes).map(([key, value]) => ({ key, value: anyValue(value) }));

/** The request with ids as hex strings (OTLP/JSON form). */
export function otlpJson(spans: SpanSpec[], resource: Record<string, Attr> = { 'service.name': 'support-bot', 'deployment.environment.name': 'staging' }) {
  return {
    resourceSpans: [
      {
        resource: { attributes: keyValues(resource) },
        scopeSpans: [
          {
            scope: { name: 'test-instrumentation', version: '1.2.3' },
            spans: spans.map((s) => {
              const start = BigInt(s.startMs ?? START_MS) * 1_000_000n;
              const end = start + BigInt(Math.round((s.durationMs ?? 420) * 1_000_000));
              return {
                traceId: s.traceId ?? TRACE_ID,
                spanId: s.spanId,
                ...(s.parentSpanId === undefined ? {} : { parentSpanId: s.parentSpanId }),
                name: s.name ?? 'chat gpt-4o-mini',
                kind: 3,
                startTimeUnixNano: String(start),
                endTimeUnixNano: String(end),
                attributes: keyValues(s.attributes),
                events: (s.events ?? []).map((e) => ({ name: e.name, timeUnixNano: String(start), attributes: keyValues(e.attributes) })),
                ...(s.status === undefined ? {} : { status: s.status }),
              };
            }),
          },
        ],
      },
    ],
  };
}

/** The same request as protobuf bytes. */
export function otlpProtobuf(spans: SpanSpec[], resource?: Record<string, Attr>): Uint8Array {
  const json = otlpJson(spans, resource);
  for (const rs of json.resourceSpans) {
    for (const ss of rs.scopeSpans) {
      for (const span of ss.spans as Record<string, unknown>[]) {
        for (const field of ['traceId', 'spanId', 'parentSpanId']) if (typeof span[field] === 'string') span[field] = Buffer.from(span[field] as string, 'hex');
      }
    }
  }
  return encodeExportRequest(json);
}

/** A GenAI-conventions chat span (gen_ai.input.messages / gen_ai.output.messages). */
export function genAiChat(spanId: string, extra: Partial<SpanSpec> = {}): SpanSpec {
  return {
    spanId,
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
      'gen_ai.request.temperature': 0.2,
      'gen_ai.usage.input_tokens': 12,
      'gen_ai.usage.output_tokens': 3,
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.input.messages': JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'What is the capital of France?' }] }]),
      'gen_ai.output.messages': JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: 'Paris.' }], finish_reason: 'stop' }]),
      ...extra.attributes,
    },
    ...Object.fromEntries(Object.entries(extra).filter(([key]) => key !== 'attributes')),
  };
}
