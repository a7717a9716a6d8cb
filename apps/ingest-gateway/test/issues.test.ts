import { publicTraceSchema } from '@metronis/schemas';
import { describe, expect, it } from 'vitest';
import { parseJson } from '../src/body.js';
import { ApiError } from '../src/errors.js';
import { formatPath, toIssues } from '../src/issues.js';

function issuesOf(body: unknown) {
  const parsed = publicTraceSchema.safeParse(body);
  if (parsed.success) throw new Error('expected the body to be invalid');
  return toIssues(parsed.error.issues, body);
}

describe('formatPath', () => {
  it('writes identifiers with dots, indexes in brackets and other keys quoted', () => {
    expect(formatPath([])).toBe('$');
    expect(formatPath(['traces', 3, 'input'])).toBe('$.traces[3].input');
    expect(formatPath(['metadata', 'my key', 'x"y', '1a'])).toBe('$.metadata["my key"]["x\\"y"]["1a"]');
  });
});

describe('toIssues', () => {
  it('locates problems inside records and arrays, quoting keys that are not identifiers', () => {
    expect(issuesOf({ input: 'q', output: 'a', metadata: { 'team name': 1 }, tags: ['ok', ''] })).toEqual([
      { path: '$.metadata["team name"]', message: 'expected a string, received number' },
      { path: '$.tags[1]', message: expect.stringMatching(/>=\s*1/) },
    ]);
  });

  it('reports the object form of a union when the value is an object', () => {
    expect(issuesOf({ input: { messages: [] }, output: { content: 'a', finish_reason: 7 } })).toEqual([
      { path: '$.input.messages', message: expect.stringMatching(/>=\s*1/) },
      { path: '$.output.finish_reason', message: 'expected a string, received number' },
    ]);
  });

  it('prefixes the paths of a batch item and says org_id comes from the key', () => {
    const body = { traces: [{ input: 'q', output: 'a' }, { input: 'q', output: 'a', org_id: 'o' }] };
    const parsed = publicTraceSchema.safeParse(body.traces[1]);
    expect(toIssues(parsed.error!.issues, body, ['traces', 1])).toEqual([
      { path: '$.traces[1].org_id', message: 'org_id is not accepted in the body: the organization comes from the API key' },
    ]);
  });
});

describe('parseJson', () => {
  it('parses valid JSON once', () => {
    expect(parseJson('{"a":[1,2]}')).toEqual({ a: [1, 2] });
  });

  it('says the line and column of a syntax error', () => {
    const error = (() => {
      try {
        parseJson('{\n  "a": 1\n  "b": 2\n}');
      } catch (e) {
        return e as ApiError;
      }
      throw new Error('expected a syntax error');
    })();
    expect(error).toBeInstanceOf(ApiError);
    expect(error.code).toBe('invalid_json');
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/^malformed JSON at line 3, column 3: /);
  });

  it('says when the body is empty or only whitespace', () => {
    expect(() => parseJson('  \n')).toThrow('malformed JSON: the body is empty');
  });
});
