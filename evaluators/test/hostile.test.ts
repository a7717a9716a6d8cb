/**
 * Every hostile class of bench/hostile-cases.ts (the inputs that once took seconds to hours in one
 * module: catastrophic patterns, large lexicons, dense 1 MB text, runs of one character) is evaluated
 * on the pool within a deadline far above what the bounded modules cost, with a result for every
 * module and a finite score. A stall anywhere shows up as `deadline_exceeded`.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { HOSTILE_CASES } from '../bench/hostile-cases.js';
import { aggregateTier, createEvaluationPool, MODULE_NAMES } from '../src/index.js';

const pool = createEvaluationPool({ threads: 2, deadlineMs: 30_000 });
afterAll(() => pool.close());

describe('hostile inputs on the evaluation pool', () => {
  it('evaluates every class within the deadline', async () => {
    const outcomes = await Promise.all(
      Object.entries(HOSTILE_CASES).map(async ([name, make]) => {
        const { trace, policy } = make();
        const results = await pool.run(trace, policy);
        return { name, modules: results.map((r) => r.module), stopped: results.filter((r) => r.labels.includes('module_error')).map((r) => r.module), score: aggregateTier(results, policy).score };
      }),
    );
    for (const o of outcomes) {
      expect(o, o.name).toMatchObject({ modules: [...MODULE_NAMES], stopped: [] });
      expect(Number.isFinite(o.score), o.name).toBe(true);
    }
  }, 240_000);
});
