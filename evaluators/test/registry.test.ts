import { makeTrace, type Trace } from '@metronis/schemas';
import { describe, expect, it } from 'vitest';
import type { EvaluationModule } from '../src/module.js';
import { parsePolicy } from '../src/policy.js';
import { MODULE_NAMES, MODULES, runModule, runModules, warmUp } from '../src/registry.js';
import { DEFAULT_POLICY } from '../src/policy.js';

/** A clock that advances by `stepNs` on every reading, so timings are exact and repeatable. */
function steppingClock(stepNs: bigint): () => bigint {
  let t = 0n;
  return () => (t += stepNs);
}

describe('module registry', () => {
  it('has exactly one module per declared name, each with defaults from {}', () => {
    expect(Object.keys(MODULES)).toEqual([...MODULE_NAMES]);
    for (const name of MODULE_NAMES) {
      const m: EvaluationModule = MODULES[name];
      expect(m.name).toBe(name);
      expect(m.version).toMatch(/^\d+\.\d+\.\d+$/);
      expect(() => m.configSchema.parse({})).not.toThrow();
    }
  });

  it('runs every enabled module in order, timed with the given clock', () => {
    const results = runModules(makeTrace(), DEFAULT_POLICY, { now: steppingClock(5_000n) });
    expect(results.map((r) => r.module)).toEqual([...MODULE_NAMES]);
    for (const r of results) expect(r.latency_us).toBe(5);
    expect(results.every((r) => r.passed)).toBe(true);
  });

  it('skips disabled modules and passes each its configuration', () => {
    const policy = parsePolicy({ modules: { pii: { enabled: false }, safety: { enabled: false }, quality: { config: { min_words: 50 } } } });
    const results = runModules(makeTrace(), policy);
    expect(results.map((r) => r.module)).toEqual(['format', 'consistency', 'quality']);
    expect(results.find((r) => r.module === 'quality')!.findings.map((f) => f.kind)).toEqual(['too_short']);
  });

  it('turns a throwing module into a module_error result and goes on', () => {
    const policy = parsePolicy({ module_error_severity: 'high' });
    // a trace the contract forbids (output without content) makes a module throw
    const broken = { ...makeTrace(), output: null } as unknown as Trace;
    const results = runModules(broken, policy);
    expect(results).toHaveLength(MODULE_NAMES.length);
    const errored = results.filter((r) => r.labels.includes('module_error'));
    expect(errored.length).toBeGreaterThan(0);
    for (const r of errored) {
      expect(r.severity).toBe('high');
      expect(r.passed).toBe(false);
      expect(r.findings[0]!.kind).toBe('module_error');
      expect(r.findings[0]!.message).toMatch(/the module threw: TypeError/);
    }
  });

  it('reports the time a module took but never judges it: the same result on a slow machine as on a fast one', () => {
    // A wall-clock budget once labelled normal traces module_error/over_budget on a busy machine.
    const policy = parsePolicy({ modules: { quality: { budget_us: 100 } }, module_error_severity: 'medium' });
    const trace = makeTrace({ output: { content: 'Open the the settings page.', finish_reason: 'stop' } });
    const slow = runModule('quality', trace, policy, { now: steppingClock(250_000_000n) });
    const fast = runModule('quality', trace, policy, { now: steppingClock(50_000n) });
    expect(slow.latency_us).toBe(250_000);
    expect(fast.latency_us).toBe(50);
    expect({ ...slow, latency_us: 0 }).toEqual({ ...fast, latency_us: 0 });
    expect(slow.labels).not.toContain('module_error');
    expect(slow.findings.map((f) => f.kind)).toEqual(['repeated_words']);
    expect(slow.severity).toBe('low');
  });

  it('warms up without throwing', () => {
    expect(() => warmUp(DEFAULT_POLICY, 1)).not.toThrow();
  });
});
