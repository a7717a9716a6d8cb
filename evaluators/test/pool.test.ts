/**
 * The evaluation pool: the same results as in-process, a hard per-trace deadline that stops and
 * replaces a thread while the trace still gets a result for every module, policies per thread, and
 * a clean close.
 */
import { makeTrace, type ModuleResult, type Trace } from '@metronis/schemas';
import { afterAll, describe, expect, it } from 'vitest';
import { createEvaluationPool, EvaluationPoolClosedError, MODULE_NAMES, parsePolicy, runModules, DEFAULT_POLICY, type EvaluationPool } from '../src/index.js';

const withoutTimes = (results: ModuleResult[]) => results.map(({ latency_us: _, ...r }) => r);

const traces: Trace[] = [
  makeTrace({ output: { content: 'Paris is the capital of France.', finish_reason: 'stop' } }),
  makeTrace({ output: { content: 'Sure: write to ada@lovelace.dev or call (415) 555-2671 today.', finish_reason: 'stop' } }),
  makeTrace({ expected_format: 'json', json_schema_json: '{"type":"object","required":["a"]}', output: { content: '{"b": 1}', finish_reason: 'stop' } }),
  makeTrace({ output: { content: 'Revenue was $5M in the quarter. Costs stayed flat. Revenue was $7M in the quarter.', finish_reason: 'stop' } }),
];

const pools: EvaluationPool[] = [];
const pool = (options: Parameters<typeof createEvaluationPool>[0]) => {
  const p = createEvaluationPool(options);
  pools.push(p);
  return p;
};
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

describe('evaluation pool', () => {
  it('gives the results runModules gives in-process, per policy, with policies dropped and sent again', async () => {
    const p = pool({ threads: 2, deadlineMs: 60_000, policiesPerThread: 1 });
    const strict = parsePolicy({ fail_at: 'low', modules: { quality: { enabled: false }, safety: { config: { extra_terms: { violence: ['crush the rival'] } } } } });
    const withTerm = makeTrace({ output: { content: 'We will crush the rival next quarter.', finish_reason: 'stop' } });
    for (let round = 0; round < 3; round++) {
      for (const policy of [DEFAULT_POLICY, strict]) {
        const got = await Promise.all([...traces, withTerm].map((t) => p.run(t, policy)));
        expect(got.map(withoutTimes)).toEqual([...traces, withTerm].map((t) => withoutTimes(runModules(t, policy))));
      }
    }
    const safety = (await p.run(withTerm, strict)).find((r) => r.module === 'safety')!;
    expect(safety.findings.map((f) => f.kind)).toEqual(['violence']);
    expect(p.stats()).toMatchObject({ threads: 2, busy: 0, queued: 0, interrupted: 0 });
  });

  it('stops a trace at its deadline, replaces the thread, still gives every module a result, and goes on', async () => {
    // A 1 ms deadline is far below what a ~1 MB trace costs: the mechanism, not a particular slow input.
    const p = pool({ threads: 1, deadlineMs: 1 });
    const policy = parsePolicy({ modules: { format: { enabled: false }, safety: { enabled: false }, pii: { enabled: false } } });
    const big = makeTrace({ output: { content: 'The quick brown fox jumps over the lazy dog near Paris in 2024. '.repeat(16_000), finish_reason: 'stop' } });
    const results = await p.run(big, policy);
    expect(results.map((r) => r.module)).toEqual(['consistency', 'quality']);
    const stopped = results.filter((r) => r.labels.includes('deadline_exceeded'));
    expect(stopped.length).toBeGreaterThan(0);
    for (const r of stopped) {
      expect(r.labels).toEqual(['module_error', 'deadline_exceeded']);
      expect(r.findings[0]!.message).toMatch(/past its 1 ms deadline/);
      expect(r.severity).toBe(policy.module_error_severity);
    }
    expect(p.stats()).toMatchObject({ threads: 1, busy: 0, queued: 0, interrupted: stopped.length });
    // the replacement thread takes the next trace
    const next = await p.run(traces[0]!, policy);
    expect(next.map((r) => r.module)).toEqual(['consistency', 'quality']);
  });

  it('answers nothing for a policy that enables no module, and rejects runs after close with a retriable error', async () => {
    const p = pool({ threads: 1 });
    const none = parsePolicy({ modules: Object.fromEntries(MODULE_NAMES.map((m) => [m, { enabled: false }])) });
    expect(await p.run(traces[0]!, none)).toEqual([]);
    const pending = p.run(traces[1]!, DEFAULT_POLICY).catch((e: unknown) => e);
    await p.close();
    expect(await pending).toBeInstanceOf(EvaluationPoolClosedError);
    const after = await p.run(traces[0]!, DEFAULT_POLICY).catch((e: unknown) => e);
    expect(after).toBeInstanceOf(EvaluationPoolClosedError);
    expect((after as EvaluationPoolClosedError).retriable).toBe(true);
  });

  it('refuses bad options', () => {
    expect(() => createEvaluationPool({ threads: 0 })).toThrow(/threads must be a positive integer/);
    expect(() => createEvaluationPool({ deadlineMs: Number.NaN })).toThrow(/deadlineMs must be a positive number/);
  });
});
