/**
 * The alert documents at their edges: durations that are not durations are a validation issue (not a
 * TypeError that the API answered as 500; found by schemathesis), and matchers run with RE2 semantics,
 * so a pattern that backtracks catastrophically in JavaScript matches in linear time and a pattern RE2
 * cannot express is refused where it is saved.
 */
import { describe, expect, it } from 'vitest';
import { matcherSchema, routingSchema } from '../src/documents.js';
import { matches } from '../src/labels.js';

describe('alert documents', () => {
  it('refuses a duration that is not one, naming its path', () => {
    const parsed = routingSchema.safeParse({ routes: [{ id: 'r', channels: ['c'], repeat_interval: 'AAA' }] });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((i) => i.path.join('.'))).toContain('routes.0.repeat_interval');
  });

  it('refuses a matcher pattern RE2 cannot run (a backreference, a lookahead)', () => {
    for (const value of ['(a)\\1', '(?=a)a']) {
      const parsed = matcherSchema.safeParse({ label: 'application', op: '=~', value });
      expect(parsed.success).toBe(false);
      expect(parsed.error!.issues[0]!.message).toMatch(/RE2/);
    }
  });

  it('matches a pattern that backtracks catastrophically in JavaScript, with RE2 semantics and anchored', () => {
    const matcher = matcherSchema.parse({ label: 'application', op: '=~', value: '(a+)+' });
    expect(matches(matcher, { application: `${'a'.repeat(50_000)}!` })).toBe(false);
    expect(matches(matcher, { application: 'aaaa' })).toBe(true);
    expect(matches({ ...matcher, op: '!~' }, { application: 'xaaaa' })).toBe(true);
  });
});
