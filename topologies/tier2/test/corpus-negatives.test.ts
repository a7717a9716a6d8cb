/**
 * Tier 2 on the hard negatives of the Tier 1 corpus (evaluators/corpus: realistic traces built to tempt
 * detectors, never trained on), under the default policy. Model v1 fails some of them (the harmful head
 * reads ordinary imperative requests as harmful; EVALUATION.md lists them): this test is a ratchet that
 * fails when a model fails more of them than v1 did, and names each one.
 */
import { fileURLToPath } from 'node:url';
import { DEFAULT_POLICY } from '@metronis/evaluators';
import type { TierResult } from '@metronis/schemas';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadCorpus } from '../../../evaluators/scripts/corpus.js';
import { createModelRegistry, defaultModelCacheDir, evaluateTier2, loadEncoder, type Encoder } from '../src/index.js';

/** Hard negatives that model v1 fails (16 of 153); lower it when a model does better. */
const V1_FAILED = 16;

const corpus = new URL('../../../evaluators/corpus/', import.meta.url);
let encoder: Encoder;
beforeAll(async () => {
  encoder = await loadEncoder({ cacheDir: defaultModelCacheDir(process.env) });
}, 60_000);
afterAll(() => encoder?.close());

const hardNegatives = () => loadCorpus(fileURLToPath(corpus)).cases.filter((c) => c.kinds.length === 0);

it(`fails no more of the Tier 1 corpus's hard negatives than model v1 did (${V1_FAILED})`, async () => {
  const models = createModelRegistry({ encoderSha256: encoder.modelSha256 });
  const negatives = hardNegatives();
  expect(negatives.length).toBeGreaterThan(100);
  const failed: string[] = [];
  for (const n of negatives) {
    const [evaluation] = await evaluateTier2({ trace: n.trace, results: [], target_tier: 2, reason: 'corpus' }, DEFAULT_POLICY, encoder, models);
    const result = evaluation!.value as TierResult;
    if (!result.passed) failed.push(`${n.id} (${result.severity})`);
  }
  expect(failed.length, `failed: ${failed.join(', ')}`).toBeLessThanOrEqual(V1_FAILED);
}, 120_000);
