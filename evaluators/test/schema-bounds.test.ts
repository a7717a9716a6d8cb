/**
 * JSON-schema checks under hostile schemas: every regex of a schema runs with RE2 semantics (linear
 * time), a pattern RE2 cannot express is reported as `schema_unusable` naming it, and the compiled
 * schema cache stays bounded however many distinct schemas arrive.
 */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { makeTrace } from '@metronis/schemas';
import { describe, expect, it } from 'vitest';
import { formatModule } from '../src/modules/format/index.js';
import { createSchemaCache } from '../src/modules/format/json.js';

const defaults = formatModule.configSchema.parse({});
const run = (output: string, schema: object) => formatModule.evaluate(makeTrace({ output: { content: output, finish_reason: 'stop' }, json_schema_json: JSON.stringify(schema) }), defaults);
const kinds = (o: { findings: { kind: string }[] }) => o.findings.map((f) => f.kind);

describe('json_schema regexes run with RE2 semantics', () => {
  it('refuses patterns a backtracking engine needs (backreference, lookahead) as schema_unusable naming the pattern', () => {
    for (const pattern of ['^(a)\\1$', '^(?=a)a+$']) {
      const o = run('{"a": "aa"}', { type: 'object', properties: { a: { type: 'string', pattern } } });
      expect(kinds(o)).toEqual(['schema_unusable']);
      expect(o.findings[0]!.message).toContain(JSON.stringify(pattern));
      expect(o.passed).toBe(true);
    }
    const props = run('{"aa": 1}', { type: 'object', patternProperties: { '^(a)\\1$': { type: 'string' } } });
    expect(kinds(props)).toEqual(['schema_unusable']);
  });

  it('matches catastrophic-backtracking patterns in linear time, with the same answers', () => {
    // (a+)+$ against "aaa…a!" takes 2^n steps in a backtracking engine; 5,000 characters would never end.
    const evil = 'a'.repeat(5_000);
    const schema = { type: 'object', properties: { s: { type: 'string', pattern: '^(a+)+$' } }, patternProperties: { '^(x+x+)+y$': { type: 'string' } } };
    expect(kinds(run(JSON.stringify({ s: `${evil}!` }), schema))).toEqual(['schema_violation']);
    expect(run(JSON.stringify({ s: evil }), schema).findings).toEqual([]);
    const key = `${'x'.repeat(5_000)}y`;
    expect(kinds(run(JSON.stringify({ [key]: 1 }), schema))).toEqual(['schema_violation']);
    expect(run(JSON.stringify({ [`${'x'.repeat(5_000)}z`]: 1 }), schema).findings).toEqual([]);
  });

  it('keeps ECMAScript pattern forms that RE2 reads alike (classes, named groups, \\u escapes, lookbehind)', () => {
    const schema = { type: 'object', properties: { id: { type: 'string', pattern: '^(?<p>[A-Z]{2})-\\d{4}$' }, e: { type: 'string', pattern: '^caf\\u00e9$' }, l: { type: 'string', pattern: '(?<!x)b' } } };
    expect(run('{"id": "AB-1234", "e": "café", "l": "ab"}', schema).findings).toEqual([]);
    expect(kinds(run('{"id": "AB-12", "e": "cafe", "l": "xb"}', schema))).toEqual(['schema_violation', 'schema_violation', 'schema_violation']);
  });
});

describe('the compiled-schema cache', () => {
  const schemaNo = (i: number) => JSON.stringify({ type: 'object', properties: { [`k${i}`]: { type: 'string', pattern: `^v${i}[a-z]*$`, enum: [`v${i}`, `v${i}x`] } } });

  it('keeps at most maxEntries schemas from at most two ajv instances, however many distinct schemas arrive', () => {
    const cache = createSchemaCache({ maxEntries: 16 });
    const hot = JSON.stringify({ type: 'object', required: ['hot'] });
    for (let i = 0; i < 500; i++) {
      const c = cache(schemaNo(i));
      expect(c.ok).toBe(true);
      if (i % 7 === 0) expect(cache(hot).ok).toBe(true); // a schema in constant use survives, recompiled when needed
      expect(cache.stats().entries).toBeLessThanOrEqual(16);
      expect(cache.stats().generations).toBeLessThanOrEqual(2);
    }
    const again = cache(hot);
    expect(again.ok && again.validate({ hot: 1 })).toBe(true);
    expect(again.ok && again.validate({})).toBe(false);
  });

  it('keeps memory flat across thousands of distinct schemas', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const cache = createSchemaCache({ maxEntries: 32 });
    const heapAfter = (from: number, to: number) => {
      for (let i = from; i < to; i++) cache(schemaNo(i));
      gc();
      gc();
      return process.memoryUsage().heapUsed;
    };
    const base = heapAfter(0, 500);
    const later = heapAfter(500, 3_000);
    // Unbounded, 2,500 more compiled schemas with their regexes keep tens of MB; bounded, the heap stays put.
    expect(later - base).toBeLessThan(5 * 1024 * 1024);
  });
});
