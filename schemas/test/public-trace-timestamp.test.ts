/**
 * The `timestamp` of a public trace: ISO 8601 or epoch milliseconds, in the range the ISO form can
 * write. Found by the HTTP fuzz suite: `timestamp: 9e15` was answered 202, and the trace view of such
 * a trace throws (`new Date(9e15).toISOString()` is a RangeError), so the read API would answer 500.
 */
import { describe, expect, it } from 'vitest';
import { MAX_TIMESTAMP_MS, publicTraceSchema, toPublicView, toTraceRecord } from '../src/index.js';

const parse = (timestamp: unknown) => publicTraceSchema.safeParse({ input: 'q', output: 'a', timestamp });

describe('public trace timestamp', () => {
  it('accepts epoch milliseconds up to the last instant of year 9999, and the trace view shows them', () => {
    for (const ms of [0, 1_767_225_600_000, MAX_TIMESTAMP_MS]) {
      const parsed = parse(ms);
      expect(parsed.success).toBe(true);
      const record = toTraceRecord(parsed.data!, { orgId: 'o', receivedAt: 1, generateId: () => 'id' });
      expect(toPublicView(record).timestamp).toBe(new Date(ms).toISOString());
    }
    expect(new Date(MAX_TIMESTAMP_MS).toISOString()).toBe('9999-12-31T23:59:59.999Z');
  });

  it('refuses epoch milliseconds past year 9999, and past what a Date can hold', () => {
    for (const ms of [MAX_TIMESTAMP_MS + 1, 8.64e15 + 1, 9e15, Number.MAX_SAFE_INTEGER]) {
      const parsed = parse(ms);
      expect(parsed.success, String(ms)).toBe(false);
      expect(parsed.error?.issues.length).toBeGreaterThan(0);
    }
  });

  it('refuses ISO timestamps before 1970, as it refuses negative epoch milliseconds', () => {
    expect(parse('1970-01-01T00:00:00Z').success).toBe(true);
    expect(parse('1969-12-31T23:59:59.999Z').success).toBe(false);
    expect(parse('0007-01-16T04:47:22.13Z').success).toBe(false);
    expect(parse(-1).success).toBe(false);
  });
});
