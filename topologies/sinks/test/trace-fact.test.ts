/**
 * The trace fact of a trace with fractional latency. Found by schemathesis against `metronis dev`:
 * the public trace takes `latency_ms: 420.5`, the facts column is UInt32, and such traces' facts were
 * refused as poison and sent to the DLQ.
 */
import { makeTrace } from '@metronis/schemas';
import { describe, expect, it } from 'vitest';
import { toTraceFact } from '../src/index.js';

describe('toTraceFact', () => {
  it('rounds fractional latency to whole milliseconds', () => {
    expect(toTraceFact(makeTrace({ latency_ms: 420.5 })).latency_ms).toBe(421);
    expect(toTraceFact(makeTrace({ latency_ms: 0.00001 })).latency_ms).toBe(0);
    expect(toTraceFact(makeTrace({ latency_ms: 4_294_967_294.9 })).latency_ms).toBe(4_294_967_295);
    expect(toTraceFact(makeTrace({ latency_ms: null })).latency_ms).toBe(0);
  });
});
