/**
 * @metronis/topology-tier2: the Tier 2 consumer group (a learned risk classifier on CPU: sentence
 * embeddings and small calibrated heads, for the traces tier 1 escalates).
 *
 * @example
 *   console.log(describe());
 *   // topology tier2 (transform)
 *   //   group:   metronis.tier2.v1
 *   //   input:   metronis.escalations.tier2.v1 (Escalation)
 *   //   outputs: metronis.evaluations.v1 (TierResult), metronis.verdicts.v1 (Verdict), metronis.escalations.tier3.v1 (Escalation)
 */
import { describeTopology } from '@metronis/streams';
import { tier2Topology } from './tier2.js';

export { tier2Topology, evaluateTier2, severityOf, TIER2_NAME, TIER2_GROUP_ID, UNCERTAIN_VERDICT_LABEL, type Tier2Options } from './tier2.js';
export { RISKS, createModelRegistry, listModelVersions, meanVector, parseModel, scoreField, ModelUnavailableError, type Risk, type Field, type Tier2Model, type ModelRegistry } from './classifier.js';
export { loadEncoder, loadTokenizer, defaultModelCacheDir, encoderDir, ENCODER_MANIFEST, EncoderNotInstalledError, DEFAULT_MAX_CHUNKS, type Encoder, type EncoderOptions } from './encoder.js';
export { wordPieceFromJson, type WordPieceTokenizer } from './wordpiece.js';

/** The tier as text (`describeTopology`), without loading the encoder. */
export function describe(): string {
  const unusable = () => Promise.reject(new Error('tier2 describe(): this topology is for describing only; give tier2Topology a policy cache and an encoder to run it'));
  return describeTopology(tier2Topology({ policies: { get: unusable }, encoder: new Promise<never>(() => {}), models: unusable as never }));
}
