/**
 * Tier 2 on the hard negatives of the Tier 1 corpus (evaluators/corpus: realistic traces built to tempt
 * detectors, never trained on), under the default policy (tier 2 fails a trace alone from `high`; its
 * uncertain middle is left to the earlier tiers or tier 3) with each shipped model version and the
 * encoder's default settings. No version is clean yet (EVALUATION.md lists what each fails): this
 * test is a ratchet that fails when a version fails more of them than it did when it shipped, and
 * names each one. Lower a count when a retrained version does better; never raise one.
 */
import { fileURLToPath } from 'node:url';
import { DEFAULT_POLICY, parsePolicy } from '@metronis/evaluators';
import type { TierResult } from '@metronis/schemas';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadCorpus } from '../../../evaluators/scripts/corpus.js';
import { createModelRegistry, defaultModelCacheDir, evaluateTier2, listModelVersions, loadEncoder, type Encoder } from '../src/index.js';

/**
 * Hard negatives (of 153) each shipped version fails. v1 shipped at 16 and v2 at 10 when tier 2 failed
 * a trace from `medium` and embedded input and output in one padded batch; under the uncertain middle
 * (decide_at `high`) and one run per chunk they fail 6 and 1, and v3 fails 1.
 */
const FAILED_AT_MOST: Record<string, number> = { v1: 6, v2: 1, v3: 1 };

const corpus = new URL('../../../evaluators/corpus/', import.meta.url);
let encoder: Encoder;
beforeAll(async () => {
  encoder = await loadEncoder({ cacheDir: defaultModelCacheDir(process.env) });
}, 60_000);
afterAll(() => encoder?.close());

const hardNegatives = () => loadCorpus(fileURLToPath(corpus)).cases.filter((c) => c.kinds.length === 0);

it('has a ratchet for every shipped version, and the default policy uses the newest', () => {
  expect(listModelVersions().sort()).toEqual(Object.keys(FAILED_AT_MOST).sort());
  expect(DEFAULT_POLICY.tier2.model).toBe(listModelVersions().at(-1));
});

it.each(Object.entries(FAILED_AT_MOST))('model %s fails no more of the Tier 1 corpus\'s hard negatives than when it shipped (%i)', async (version, most) => {
  const models = createModelRegistry({ encoderSha256: encoder.modelSha256 });
  const policy = parsePolicy({ tier2: { model: version } });
  const negatives = hardNegatives();
  expect(negatives.length).toBeGreaterThan(100);
  const failed: string[] = [];
  for (const n of negatives) {
    const [evaluation] = await evaluateTier2({ trace: n.trace, results: [], target_tier: 2, reason: 'corpus' }, policy, encoder, models);
    const result = evaluation!.value as TierResult;
    expect(result.modules[0]!.version).toBe(version);
    if (!result.passed) failed.push(`${n.id} (${result.severity})`);
  }
  expect(failed.length, `failed: ${failed.join(', ')}`).toBeLessThanOrEqual(most);
}, 120_000);
