/**
 * Policy bounds: numeric knobs are finite and in sane ranges (a weight of 1e308 made the tier score
 * NaN, stored as null, and sent the facts to the DLQ), and every key of `extra_terms` is treated alike.
 */
import { makeTrace } from '@metronis/schemas';
import { describe, expect, it } from 'vitest';
import { aggregateTier, MODULE_NAMES, parsePolicy, PolicyError, runModules } from '../src/index.js';
import { MAX_WEIGHT } from '../src/policy.js';

function issuesOf(document: unknown): { path: string; message: string }[] {
  try {
    parsePolicy(document);
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyError);
    return (error as PolicyError).issues;
  }
  throw new Error(`the policy was accepted: ${JSON.stringify(document)}`);
}

describe('policy numeric bounds', () => {
  it('refuses a weight above the maximum, naming the path', () => {
    for (const weight of [1e308, MAX_WEIGHT + 1, Number.MAX_VALUE]) {
      const issues = issuesOf(JSON.parse(`{"modules":{"safety":{"weight":${weight}}}}`));
      expect(issues.map((i) => i.path)).toEqual(['modules.safety.weight']);
    }
  });

  it('keeps the tier score finite at the largest weights', () => {
    const policy = parsePolicy({ modules: Object.fromEntries(MODULE_NAMES.map((m) => [m, { weight: MAX_WEIGHT }])) });
    const trace = makeTrace({ output: { content: 'Paris is the capital of France.', finish_reason: 'stop' } });
    const aggregate = aggregateTier(runModules(trace, policy), policy);
    expect(Number.isFinite(aggregate.score)).toBe(true);
    expect(aggregate.score).toBeGreaterThanOrEqual(0);
    expect(aggregate.score).toBeLessThanOrEqual(1);
  });

  it('refuses out-of-range numbers in module configs and lists past their bound', () => {
    const cases: Array<[unknown, string]> = [
      [{ modules: { quality: { config: { min_reading_ease: -1e308 } } } }, 'modules.quality.config.min_reading_ease'],
      [{ modules: { quality: { config: { max_chars: 1e300 } } } }, 'modules.quality.config.max_chars'],
      [{ modules: { quality: { budget_us: 1e300 } } }, 'modules.quality.budget_us'],
      [{ modules: { quality: { config: { extra_words: Array.from({ length: 10_001 }, (_, i) => `w${i}`) } } } }, 'modules.quality.config.extra_words'],
      [{ modules: { pii: { config: { allow_values: ['x'.repeat(321)] } } } }, 'modules.pii.config.allow_values.0'],
      [{ severity_overrides: Array.from({ length: 1_001 }, () => ({ kind: 'secret', severity: 'low' })) }, 'severity_overrides'],
    ];
    for (const [document, path] of cases) expect([...new Set(issuesOf(document).map((i) => i.path))]).toEqual([path]);
  });
});

describe('extra_terms keys', () => {
  it('refuses every key that is not a harm category the same way, __proto__ and constructor included', () => {
    for (const key of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'violenc']) {
      const issues = issuesOf(`{"modules":{"safety":{"config":{"extra_terms":{${JSON.stringify(key)}:["x"]}}}}}`);
      expect(issues).toEqual([{ path: `modules.safety.config.extra_terms.${key}`, message: expect.stringContaining(`"${key}" is not a harm category`) }]);
    }
  });

  it('accepts those words as phrases and matches them like any other', () => {
    const policy = parsePolicy('{"modules":{"safety":{"config":{"extra_terms":{"hate":["__proto__ pollution","constructor attack"]}}}}}');
    const trace = makeTrace({ output: { content: 'They tried a __proto__ pollution and a constructor attack.', finish_reason: 'stop' } });
    const safety = runModules(trace, policy).find((r) => r.module === 'safety')!;
    expect(safety.findings.map((f) => f.kind)).toEqual(['hate', 'hate']);
  });
});
