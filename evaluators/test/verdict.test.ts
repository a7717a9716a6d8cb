/** The verdict over several tiers: worst of them, shadows left out, the trace's routing fields carried. */
import { makeTrace, type ModuleResult, type TierResult } from '@metronis/schemas';
import { describe, expect, it } from 'vitest';
import { verdictOverTiers } from '../src/verdict.js';

const trace = makeTrace({ trace_id: 't-1', org_id: 'acme', application: 'checkout-bot', environment: 'production', model: { provider: 'openai', name: 'gpt-4o', parameters_json: null }, tags: ['beta'] });

function module(name: string, passed: boolean, kinds: string[]): ModuleResult {
  return { module: name, version: '1', passed, score: passed ? 1 : 0.2, severity: passed ? 'none' : 'high', labels: [], findings: kinds.map((kind) => ({ kind, message: kind, field: 'output', start: null, end: null, confidence: 0.9 })), latency_us: 1 } as ModuleResult;
}

function result(tier: number, severity: TierResult['severity'], score: number, modules: ModuleResult[]): TierResult {
  return { evaluation_id: `t-1:${tier}`, trace_id: 't-1', org_id: 'acme', tier, evaluated_at: 1, trace_timestamp: 1, passed: modules.every((m) => m.passed), severity, score, modules } as TierResult;
}

describe('verdictOverTiers', () => {
  it('takes the worst of the tiers, leaves shadow results out, and carries the routing fields', () => {
    const verdict = verdictOverTiers(trace, [result(1, 'low', 0.9, [module('pii', true, [])]), result(2, 'high', 0.2, [module('harmful', false, ['harmful_request']), module('shadow', false, ['toxic'])])], 42);
    expect(verdict).toMatchObject({
      trace_id: 't-1',
      org_id: 'acme',
      tier: 2,
      decided_at: 42,
      passed: false,
      severity: 'high',
      score: 0.2,
      finding_kinds: ['harmful_request'],
      failed_modules: ['harmful'],
      application: 'checkout-bot',
      environment: 'production',
      model_provider: 'openai',
      model_name: 'gpt-4o',
      tags: ['beta'],
      labels: [],
    });
  });

  it('keeps the labels it is given', () => {
    expect(verdictOverTiers(trace, [result(1, 'none', 1, [module('pii', true, [])])], 1, ['judge_pending']).labels).toEqual(['judge_pending']);
  });
});
