import { finding } from '../src/module.js';
import type { ModuleResult } from '@metronis/schemas';
import { describe, expect, it } from 'vitest';
import { aggregateTier, applyPolicy, DEFAULT_POLICY, escalationReason, escalationTarget, isSampled, parsePolicy, PolicyError } from '../src/policy.js';

function result(module: string, over: Partial<ModuleResult> = {}): ModuleResult {
  return { module, version: '1.0.0', passed: true, score: 1, severity: 'none', labels: [], findings: [], latency_us: 10, ...over };
}
function errorOf(input: unknown): PolicyError {
  try {
    parsePolicy(input);
  } catch (error) {
    if (error instanceof PolicyError) return error;
    throw error;
  }
  throw new Error('expected a PolicyError');
}

describe('policy document', () => {
  it('gives complete defaults from {}: every module on with its own default config', () => {
    const p = parsePolicy({});
    expect(p).toEqual(DEFAULT_POLICY);
    expect(Object.keys(p.modules)).toEqual(['format', 'safety', 'pii', 'consistency', 'quality']);
    expect(p.modules.quality.enabled).toBe(true);
    expect(p.modules.quality.config.max_chars).toBe(24_000);
    expect(p.modules.consistency.config.reference_min_similarity).toBe(0.2);
    expect(p.mask_pii_before_storage).toBe(false);
    expect(p.escalation.tier2).toEqual({ enabled: false, band: { min_score: 0.3, max_score: 0.8 }, sample_rate: 0 });
    expect(p.tier2).toEqual({ model: 'v3', shadow_model: null, severity_bands: { low: 0.25, medium: 0.5, high: 0.85, critical: 0.97 }, decide_at: 'high' });
    expect(p.fail_at).toBe('medium');
  });

  it('parses JSON text and keeps what the organization set', () => {
    const p = parsePolicy('{"modules":{"quality":{"config":{"allowed_languages":["en"]},"weight":2},"pii":{"enabled":false}},"mask_pii_before_storage":true}');
    expect(p.modules.quality.config.allowed_languages).toEqual(['en']);
    expect(p.modules.quality.config.min_words).toBe(1);
    expect(p.modules.quality.weight).toBe(2);
    expect(p.modules.pii.enabled).toBe(false);
    expect(p.mask_pii_before_storage).toBe(true);
  });

  it('names the path of a bad module config value', () => {
    const e = errorOf({ modules: { quality: { config: { max_chars: 'many' } } } });
    expect(e.issues[0]!.path).toBe('modules.quality.config.max_chars');
    expect(e.message).toContain('modules.quality.config.max_chars');
  });

  it('rejects unknown modules and unknown keys by name', () => {
    expect(errorOf({ modules: { toxicity: {} } }).message).toContain('toxicity');
    expect(errorOf({ mask_pii: true }).message).toContain('mask_pii');
    expect(errorOf({ modules: { quality: { config: { max_charz: 1 } } } }).message).toContain('max_charz');
  });

  it('rejects a bad severity, an inverted band and text that is not JSON', () => {
    expect(errorOf({ severity_overrides: [{ kind: 'secret', severity: 'catastrophic' }] }).issues[0]!.path).toBe('severity_overrides.0.severity');
    expect(errorOf({ escalation: { tier2: { band: { min_score: 0.9, max_score: 0.1 } } } }).issues[0]!.path).toBe('escalation.tier2.band.min_score');
    expect(errorOf('{"modules": ').message).toContain('not valid JSON');
  });
});

describe('grading by policy', () => {
  it('makes a secret or a credit card in the output critical by default, not in the input', () => {
    const secret = result('safety', { passed: false, severity: 'high', findings: [finding('secret', 'AWS key', 'output', 0, 20)] });
    expect(applyPolicy(secret, DEFAULT_POLICY)).toMatchObject({ severity: 'critical', passed: false });
    const card = result('pii', { passed: false, severity: 'medium', findings: [finding('credit_card', 'card', 'output')] });
    expect(applyPolicy(card, DEFAULT_POLICY).severity).toBe('critical');
    const inInput = result('pii', { passed: false, severity: 'medium', findings: [finding('credit_card', 'card', 'input')] });
    expect(applyPolicy(inInput, DEFAULT_POLICY).severity).toBe('medium');
  });

  it('lets an organization re-grade a kind; its rules apply after the defaults', () => {
    const policy = parsePolicy({ severity_overrides: [{ kind: 'secret', severity: 'medium' }, { kind: 'spelling', module: 'quality', severity: 'medium' }] });
    const secret = result('safety', { severity: 'high', findings: [finding('secret', 'key', 'output')] });
    expect(applyPolicy(secret, policy).severity).toBe('medium');
    const spelling = result('quality', { severity: 'low', findings: [finding('spelling', 'x', 'output')] });
    expect(applyPolicy(spelling, policy)).toMatchObject({ severity: 'medium', passed: false });
    expect(applyPolicy(spelling, DEFAULT_POLICY)).toMatchObject({ severity: 'low', passed: true });
  });

  it('fails a module when its severity reaches fail_at', () => {
    const low = result('quality', { severity: 'low', findings: [finding('spelling', 'x', 'output')] });
    expect(applyPolicy(low, parsePolicy({ fail_at: 'low' })).passed).toBe(false);
    expect(applyPolicy(low, DEFAULT_POLICY).passed).toBe(true);
  });

  it('aggregates a tier: worst severity, all passed, weighted mean score', () => {
    const policy = parsePolicy({ modules: { quality: { weight: 3 } } });
    const results = [result('quality', { score: 0.5, severity: 'low' }), result('consistency', { score: 1, severity: 'medium', passed: false })];
    expect(aggregateTier(results, policy)).toEqual({ passed: false, severity: 'medium', score: 0.625 });
    expect(aggregateTier([], policy)).toEqual({ passed: true, severity: 'none', score: 1 });
  });

  it('escalates only to an enabled tier whose band holds the score', () => {
    const agg = { passed: false, severity: 'medium' as const, score: 0.5 };
    expect(escalationTarget(agg, DEFAULT_POLICY, 1)).toBeNull();
    const p = parsePolicy({ escalation: { tier2: { enabled: true, band: { min_score: 0.4, max_score: 0.6 } }, tier3: { enabled: true, band: { min_score: 0, max_score: 1 } } } });
    expect(escalationTarget(agg, p, 1)).toBe(2);
    expect(escalationTarget({ ...agg, score: 0.9 }, p, 1)).toBe(3);
    expect(escalationTarget(agg, p, 2)).toBe(3);
    expect(escalationTarget(agg, p, 3)).toBeNull();
  });

  it('escalates the sampled fraction of the other traces, the same traces every time', () => {
    const clean = { passed: true, severity: 'none' as const, score: 1 };
    const every = parsePolicy({ escalation: { tier2: { enabled: true, sample_rate: 1 } } });
    expect(escalationTarget(clean, every, 1, 'trace-1')).toBe(2);
    expect(escalationTarget(clean, every, 1)).toBeNull(); // no trace id: bands only
    expect(escalationTarget(clean, parsePolicy({ escalation: { tier2: { enabled: false, sample_rate: 1 } } }), 1, 'trace-1')).toBeNull();
    expect(escalationReason(clean, every, 1, 2)).toBe("tier 1 score 1 is outside the band; the trace is in tier 2's sample (sample_rate 1)");

    const tenth = parsePolicy({ escalation: { tier2: { enabled: true, sample_rate: 0.1 } } });
    const ids = Array.from({ length: 5000 }, (_, i) => `trace-${i}`);
    const chosen = ids.filter((id) => escalationTarget(clean, tenth, 1, id) === 2);
    expect(chosen.length).toBeGreaterThan(400);
    expect(chosen.length).toBeLessThan(600);
    expect(ids.filter((id) => escalationTarget(clean, tenth, 1, id) === 2)).toEqual(chosen);
    expect(isSampled('trace-1', 2, 0)).toBe(false);
    expect(ids.filter((id) => isSampled(id, 2, 0.1))).not.toEqual(ids.filter((id) => isSampled(id, 3, 0.1))); // each tier samples on its own
  });

  it('validates the tier 2 settings: model versions, ordered severity bands, a sample rate within 0..1', () => {
    expect(parsePolicy({ tier2: { model: 'v3', shadow_model: 'v4' } }).tier2).toMatchObject({ model: 'v3', shadow_model: 'v4' });
    expect(errorOf({ tier2: { model: 'latest' } }).issues).toEqual([{ path: 'tier2.model', message: 'a model version is v<number>, e.g. v1' }]);
    expect(errorOf({ tier2: { severity_bands: { high: 0.4 } } }).issues[0]!.path).toBe('tier2.severity_bands.low');
    expect(errorOf({ escalation: { tier2: { sample_rate: 1.5 } } }).issues[0]!.path).toBe('escalation.tier2.sample_rate');
    expect(parsePolicy({ tier2: { decide_at: 'critical' } }).tier2.decide_at).toBe('critical');
    expect(errorOf({ tier2: { decide_at: 'sure' } }).issues[0]!.path).toBe('tier2.decide_at');
  });
});
