import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { containsNul, decodeRecord, encodeRecord, filterText } from '../src/postgres/nul.js';

// Strings drawn from an alphabet rich in the characters the escaping touches.
const tricky = fc.string({ unit: fc.constantFrom('\u0000', '%', '0', '2', '5', 'a', 'é', '\\') });
const value = fc.letrec((tie) => ({
  any: fc.oneof({ depthSize: 'small' }, tricky, fc.integer(), fc.boolean(), fc.constant(null), tie('arr'), tie('obj')),
  arr: fc.array(tie('any'), { maxLength: 4 }),
  obj: fc.dictionary(tricky, tie('any'), { maxKeys: 4 }),
})).any;

describe('U+0000 escaping for Postgres', () => {
  it('round-trips any JSON value exactly', () => {
    fc.assert(
      fc.property(value, (v) => {
        const { record, escaped } = encodeRecord(v);
        expect(containsNul(record)).toBe(false);
        expect(escaped).toBe(containsNul(v));
        expect(decodeRecord(JSON.parse(JSON.stringify(record)), escaped)).toEqual(v);
      }),
    );
  });

  it('leaves a record without U+0000 untouched', () => {
    const v = { a: '100%25 %00', b: ['%'] };
    expect(encodeRecord(v)).toEqual({ record: v, escaped: false });
  });

  it('escapes keys and values of a record with U+0000', () => {
    expect(encodeRecord({ 'k\u0000': ['%', '\u0000'] })).toEqual({ record: { 'k%00': ['%25', '%00'] }, escaped: true });
  });

  it('turns U+0000 into U+FFFD in filter columns', () => {
    expect(filterText('a\u0000b')).toBe('a\uFFFDb');
    expect(filterText(null)).toBeNull();
    expect(filterText(undefined)).toBeNull();
  });
});
