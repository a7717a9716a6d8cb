/**
 * Token counts and latency are bounded by the facts store's UInt32 columns. Found by schemathesis
 * against `metronis dev`: `usage.output_tokens: 9007199254740991` passed validation, then the Avro
 * encoder refused it as a long (it takes up to 2^53 - 2) and the gateway answered 500.
 */
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { avroSchema, MAX_UINT32, publicTraceSchema, toTraceRecord, type Trace } from '../src/index.js';

const parse = (extra: Record<string, unknown>) => publicTraceSchema.safeParse({ input: 'q', output: 'a', ...extra });

describe('public trace bounds', () => {
  it('accepts token counts and latency up to 2^32 - 1, and the record encodes', () => {
    const parsed = parse({ usage: { input_tokens: MAX_UINT32, output_tokens: 0 }, latency_ms: MAX_UINT32 });
    expect(parsed.success).toBe(true);
    const type = avro.Type.forSchema(avroSchema('Trace') as avro.Schema);
    const record = toTraceRecord(parsed.data!, { orgId: 'o', receivedAt: 1, generateId: () => 'id' });
    expect((type.fromBuffer(type.toBuffer(record)) as Trace).usage?.input_tokens).toBe(MAX_UINT32);
  });

  it('refuses larger ones, up to the largest safe integer', () => {
    for (const value of [MAX_UINT32 + 1, 2 ** 53 - 2, Number.MAX_SAFE_INTEGER]) {
      expect(parse({ usage: { output_tokens: value } }).success, `output_tokens ${value}`).toBe(false);
      expect(parse({ usage: { input_tokens: value } }).success, `input_tokens ${value}`).toBe(false);
      expect(parse({ latency_ms: value }).success, `latency_ms ${value}`).toBe(false);
    }
  });
});
