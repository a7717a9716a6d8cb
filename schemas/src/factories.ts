/**
 * Record factories for tests and benchmarks: `makeTrace({ output: { content: '...' } })` gives a
 * complete, valid Trace with the given fields overridden.
 */
import { randomUUID } from 'node:crypto';
import type { Trace } from './types.js';

export function makeTrace(overrides: Partial<Trace> = {}): Trace {
  const now = Date.now();
  return {
    trace_id: randomUUID(),
    org_id: 'org_test',
    received_at: now,
    timestamp: now,
    application: 'test-app',
    environment: 'test',
    model: { provider: 'openai', name: 'gpt-4o-mini', parameters_json: '{"temperature":0.2}' },
    input: { text: 'What is the capital of France?', messages: [] },
    output: { content: 'The capital of France is Paris.', finish_reason: 'stop' },
    expected_format: null,
    json_schema_json: null,
    context: [],
    reference: null,
    usage: { input_tokens: 12, output_tokens: 8, cost_usd: 0.00004 },
    latency_ms: 420,
    user_id: null,
    session_id: null,
    metadata: {},
    tags: [],
    pii_masked: false,
    ...overrides,
  };
}
