import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { avroSchema, makeTrace, SCHEMA_NAMES, type Alert, type Escalation, type TierResult, type Trace, type Verdict } from '../src/index.js';

/** Every field of the TS type, spelled out: the compiler rejects a missing or extra key here. */
const fullTrace: Required<Trace> = makeTrace({
  expected_format: 'json',
  json_schema_json: '{"type":"object"}',
  context: [{ id: 'd1', content: 'Paris is the capital of France.', source: 'wiki', score: 0.9 }],
  reference: 'Paris',
  user_id: 'u1',
  session_id: 's1',
  metadata: { team: 'search' },
  tags: ['a'],
});

const tierResult: Required<TierResult> = {
  evaluation_id: 't1:1',
  trace_id: 't1',
  org_id: 'o',
  tier: 1,
  evaluated_at: 1,
  trace_timestamp: 1,
  passed: false,
  severity: 'critical',
  score: 0.1,
  modules: [
    {
      module: 'pii',
      version: '1.0.0',
      passed: false,
      score: 0,
      severity: 'critical',
      labels: ['x'],
      findings: [{ kind: 'credit_card', message: 'card', field: 'output', start: 1, end: 17, confidence: 0.9 }],
      latency_us: 12,
      rationale: 'the judge’s words',
    },
  ],
  latency_us: 40,
  application: 'support-bot',
  environment: 'prod',
  model_provider: 'openai',
  model_name: 'gpt-4o-mini',
  tags: ['beta'],
};

const verdict: Required<Verdict> = {
  trace_id: 't1',
  org_id: 'o',
  tier: 1,
  decided_at: 2,
  passed: false,
  severity: 'critical',
  score: 0.1,
  finding_kinds: ['credit_card'],
  failed_modules: ['pii'],
  application: null,
  environment: 'prod',
  model_provider: 'openai',
  model_name: 'gpt-4o-mini',
  tags: ['beta'],
  labels: ['judge_pending'],
};

const alert: Required<Alert> = {
  alert_id: 'r1:t1',
  org_id: 'o',
  rule_id: 'r1',
  rule_version: 1,
  kind: 'per_event',
  status: 'firing',
  severity: 'critical',
  fingerprint: 'abc',
  labels: { alertname: 'leak', severity: 'critical' },
  annotations: { summary: 'a private key' },
  starts_at: 2,
  ends_at: 300_002,
  trace_id: 't1',
  value: null,
  threshold: null,
  volume: null,
  generated_at: 3,
};

const escalation: Required<Escalation> = { trace: fullTrace, results: [tierResult], target_tier: 2, reason: 'band' };

function fieldNames(schema: object): string[] {
  return (schema as { fields: { name: string }[] }).fields.map((f) => f.name).sort();
}

describe('Avro schemas and TypeScript types agree', () => {
  const samples = { Trace: fullTrace, TierResult: tierResult, Verdict: verdict, Escalation: escalation, ModuleResult: tierResult.modules[0], Alert: alert };

  it.each(SCHEMA_NAMES)('%s: same fields, and a full record round-trips', (name) => {
    const schema = avroSchema(name);
    const sample = samples[name] as object;
    expect(fieldNames(schema)).toEqual(Object.keys(sample).sort());
    const type = avro.Type.forSchema(schema as avro.Schema);
    const errors: string[] = [];
    type.isValid(sample, { errorHook: (path) => errors.push(path.join('.')) });
    expect(errors).toEqual([]);
    expect(type.fromBuffer(type.toBuffer(sample))).toEqual(sample);
  });

  it('rejects a record with a wrong type', () => {
    const type = avro.Type.forSchema(avroSchema('Trace') as avro.Schema);
    expect(type.isValid({ ...fullTrace, received_at: 'yesterday' })).toBe(false);
  });
});
