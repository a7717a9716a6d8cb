/**
 * Evaluation fuzzing (README, "Evaluation bounds"): hostile policies are refused with the path named
 * or parse to finite, bounded knobs; costly traces (catastrophic json_schema patterns with pumped
 * outputs, dense and repetitive text) are accepted by the public schema and then evaluated on the
 * evaluation pool, each within its deadline, with a result for every module and a finite score.
 * FUZZ_RUNS and FUZZ_SEED as in http.test.ts.
 */
import { aggregateTier, createEvaluationPool, MAX_WEIGHT, MODULE_NAMES, parsePolicy, PolicyError, runModules, type EvaluationPool, type Policy } from '@metronis/evaluators';
import { makeTrace, publicTraceSchema, toTraceRecord } from '@metronis/schemas';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { costlyTrace, hostilePolicy } from './arbitraries.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 12);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const params = { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) };
const CATEGORIES = new Set(['violence', 'self_harm', 'sexual', 'hate', 'weapons_illegal']);
/** Far above what the capped modules cost on any of these traces: only a stall reaches it. */
const DEADLINE_MS = 20_000;

let pool: EvaluationPool;
beforeAll(() => {
  pool = createEvaluationPool({ threads: 2, deadlineMs: DEADLINE_MS });
});
afterAll(async () => {
  await pool.close();
});

describe('fuzz: policies', () => {
  it('refuses a hostile policy naming the path, or parses it to finite bounded knobs that grade to a finite score', () => {
    fc.assert(
      fc.property(hostilePolicy, (document) => {
        let policy: Policy;
        try {
          policy = parsePolicy(JSON.parse(JSON.stringify(document)));
        } catch (error) {
          expect(error).toBeInstanceOf(PolicyError);
          const issues = (error as PolicyError).issues;
          expect(issues.length).toBeGreaterThan(0);
          for (const issue of issues) expect(issue.path).toMatch(/^modules\./);
          return;
        }
        const keys = Object.keys((document as { modules?: { safety?: { config?: { extra_terms?: object } } } }).modules?.safety?.config?.extra_terms ?? {});
        expect(keys.every((k) => CATEGORIES.has(k))).toBe(true); // any other key, __proto__ included, is refused
        for (const name of MODULE_NAMES) expect(policy.modules[name].weight).toBeLessThanOrEqual(MAX_WEIGHT);
        const trace = makeTrace({ output: { content: 'We will kill the proc at noon; the __proto__ constructor is fine.', finish_reason: 'stop' } });
        const score = aggregateTier(runModules(trace, policy), policy).score;
        expect(Number.isFinite(score) && score >= 0 && score <= 1).toBe(true);
      }),
      params,
    );
  });
});

describe('fuzz: costly traces', () => {
  it('accepts them or refuses them up front, and evaluates each accepted one within the deadline, every module answered', async () => {
    await fc.assert(
      fc.asyncProperty(costlyTrace, async (body) => {
        const parsed = publicTraceSchema.safeParse(body);
        if (!parsed.success) return; // refused up front (400 at the gateway)
        const trace = toTraceRecord(parsed.data, { orgId: 'org_fuzz_eval', receivedAt: Date.now(), generateId: () => `fuzz-${Math.random()}` });
        const policy = parsePolicy({});
        const results = await pool.run(trace, policy);
        expect(results.map((r) => r.module)).toEqual([...MODULE_NAMES]);
        for (const r of results) expect(r.labels).not.toContain('deadline_exceeded');
        expect(Number.isFinite(aggregateTier(results, policy).score)).toBe(true);
      }),
      params,
    );
  }, 300_000);
});
