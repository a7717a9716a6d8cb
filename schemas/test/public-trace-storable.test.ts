/**
 * What the public trace refuses because no store could give it back as sent (bounds.ts): found by an
 * outside probe, each was answered 202 and then altered or lost. Checked at every position of a full
 * trace, not at the one field the probe used: the mechanism is one walk over the whole value.
 */
import { describe, expect, it } from 'vitest';
import { MAX_SHORT_TEXT_BYTES, publicTraceSchema, storableJsonIssues, toPublicView, toTraceRecord } from '../src/index.js';

const full = {
  trace_id: 't-1',
  timestamp: '2026-01-01T00:00:00Z',
  application: 'app',
  environment: 'prod',
  model: { provider: 'openai', name: 'gpt', parameters: { temperature: 0.2, stop: ['x'], nested: { a: 'b' } } },
  input: { messages: [{ role: 'user', content: 'q' }] },
  output: { content: 'a', finish_reason: 'stop' },
  expected_format: 'json',
  json_schema: { type: 'object', properties: { a: { type: 'string', pattern: 'x' } } },
  context: ['doc', { id: 'd', content: 'c', source: 's', score: 0.5 }],
  reference: 'r',
  usage: { input_tokens: 1, output_tokens: 2, cost_usd: 0.1 },
  latency_ms: 3,
  user_id: 'u',
  session_id: 's',
  metadata: { team: 'x' },
  tags: ['t'],
};

type Path = (string | number)[];

/** Every path to a string value and every object holding keys, in `value`. */
function positions(value: unknown, path: Path = [], strings: Path[] = [], objects: Path[] = []): { strings: Path[]; objects: Path[] } {
  if (typeof value === 'string') strings.push(path);
  else if (Array.isArray(value)) value.forEach((v, i) => positions(v, [...path, i], strings, objects));
  else if (value !== null && typeof value === 'object') {
    objects.push(path);
    for (const [k, v] of Object.entries(value)) positions(v, [...path, k], strings, objects);
  }
  return { strings, objects };
}

function withAt(path: Path, change: (parent: Record<string | number, unknown>, last: string | number) => void): unknown {
  const copy = structuredClone(full) as Record<string | number, unknown>;
  let parent = copy;
  for (const segment of path.slice(0, -1)) parent = parent[segment] as Record<string | number, unknown>;
  change(parent, path[path.length - 1]!);
  return copy;
}

const setKey = (target: object, key: string, value: unknown) => Object.defineProperty(target, key, { value, enumerable: true, configurable: true, writable: true });

function issuePaths(body: unknown): Path[] {
  const parsed = publicTraceSchema.safeParse(body);
  expect(parsed.success, JSON.stringify(body).slice(0, 200)).toBe(false);
  return parsed.error!.issues.map((i) => i.path as Path);
}

describe('the public trace refuses what would not read back as sent', () => {
  const { strings, objects } = positions(full);

  it('accepts the full trace, and the view of its record equals it', () => {
    const parsed = publicTraceSchema.safeParse(full);
    expect(parsed.success).toBe(true);
    const view = toPublicView(toTraceRecord(parsed.data!, { orgId: 'o', receivedAt: 1, generateId: () => 'id' }));
    expect(view.model).toEqual(full.model);
    expect(view.json_schema).toEqual(full.json_schema);
  });

  it('refuses a lone surrogate in every string of the trace, naming its path', () => {
    expect(strings.length).toBeGreaterThan(20);
    for (const path of strings) {
      if (path[0] === 'expected_format' || path[0] === 'trace_id' || path[0] === 'timestamp') continue; // refused by their own formats
      for (const lone of ['\uD800', 'a\uDFFFb', '\uDBFF']) {
        const body = withAt(path, (parent, last) => (parent[last] = `${String(parent[last])}${lone}`));
        expect(issuePaths(body), path.join('.')).toContainEqual(path);
      }
    }
  });

  it('refuses a lone surrogate in every key of a free-form object, naming it', () => {
    for (const path of objects.filter((p) => ['metadata', 'model.parameters', 'json_schema', 'json_schema.properties', 'model.parameters.nested'].includes(p.join('.')))) {
      const body = withAt([...path, 'x'], (parent) => setKey(parent, 'k\uD800', 'v'));
      expect(issuePaths(body), path.join('.')).toContainEqual([...path, 'k\uD800']);
    }
  });

  it('refuses a "__proto__" key in every object of the trace, naming it, and leaves the prototype alone', () => {
    expect(objects.length).toBeGreaterThan(8);
    for (const path of objects) {
      const body = path.length === 0 ? structuredClone(full) : withAt([...path, '_'], () => undefined);
      let target = body as Record<string | number, unknown>;
      for (const segment of path) target = target[segment] as Record<string | number, unknown>;
      setKey(target, '__proto__', { polluted: true });
      expect(issuePaths(body), path.join('.')).toContainEqual([...path, '__proto__']);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('carries "constructor" and "prototype" keys exactly', () => {
    const body = structuredClone(full) as typeof full & { json_schema: Record<string, unknown> };
    body.json_schema.properties = { constructor: { type: 'string' }, prototype: { type: 'number' } };
    body.model.parameters = { constructor: 1 } as never;
    const parsed = publicTraceSchema.safeParse(body);
    expect(parsed.success).toBe(true);
    const view = toPublicView(toTraceRecord(parsed.data!, { orgId: 'o', receivedAt: 1, generateId: () => 'id' }));
    expect(view.json_schema).toEqual(body.json_schema);
    expect(view.model).toEqual(body.model);
  });

  it('refuses numbers that are not finite (1e309 parses as Infinity) anywhere, naming the path', () => {
    const text = JSON.stringify(full)
      .replace('"temperature":0.2', '"temperature":1e309')
      .replace('"pattern":"x"', '"pattern":"x","maximum":-1e400')
      .replace('"score":0.5', '"score":1e999');
    expect(issuePaths(JSON.parse(text))).toEqual(
      expect.arrayContaining([
        ['model', 'parameters', 'temperature'],
        ['json_schema', 'properties', 'a', 'maximum'],
        ['context', 1, 'score'],
      ]),
    );
  });

  it('refuses an ISO timestamp whose instant lies past 9999-12-31 or before 1970, whatever year it writes', () => {
    for (const iso of ['9999-12-31T23:59:59-01:00', '9999-12-31T23:30:00.000-00:31', '1970-01-01T00:00:00+00:01', '1970-01-01T00:59:59+01:00', '0001-01-01T00:00:00Z']) {
      const parsed = publicTraceSchema.safeParse({ input: 'q', output: 'a', timestamp: iso });
      expect(parsed.success, iso).toBe(false);
      expect(parsed.error!.issues.map((i) => i.path)).toEqual([['timestamp']]);
    }
    for (const iso of ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59+00:00', '1970-01-01T01:00:00+01:00', '2026-06-01T12:00:00+14:00']) {
      expect(publicTraceSchema.safeParse({ input: 'q', output: 'a', timestamp: iso }).success, iso).toBe(true);
    }
  });

  it('bounds short texts in bytes of UTF-8, the unit of the Postgres index that holds them', () => {
    const at = (s: string) => publicTraceSchema.safeParse({ input: 'q', output: 'a', user_id: s, model: { provider: s, name: s }, application: s, session_id: s, environment: s });
    expect(at('x'.repeat(1_000)).success).toBe(true);
    expect(at('é'.repeat(MAX_SHORT_TEXT_BYTES / 2)).success).toBe(true);
    expect(at('中'.repeat(Math.floor(MAX_SHORT_TEXT_BYTES / 3))).success).toBe(true);
    const refused = at('中'.repeat(Math.floor(MAX_SHORT_TEXT_BYTES / 3) + 1));
    expect(refused.success).toBe(false);
    expect(refused.error!.issues.map((i) => i.path.join('.')).sort()).toEqual(['application', 'environment', 'model.name', 'model.provider', 'session_id', 'user_id']);
  });

  it('storableJsonIssues stops at its maximum and never recurses', () => {
    const many = Array.from({ length: 100 }, () => '\uD800');
    expect(storableJsonIssues(many, 5)).toHaveLength(5);
    let deep: unknown = '\uDC00';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(storableJsonIssues(deep)).toHaveLength(1);
  });
});
