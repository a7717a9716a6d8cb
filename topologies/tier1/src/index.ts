/**
 * @metronis/topology-tier1: the Tier 1 consumer group (fast heuristics on every trace).
 *
 * @example
 *   console.log(describe());
 *   // topology tier1 (transform)
 *   //   group:   metronis.tier1.v1
 *   //   input:   metronis.traces.v1 (Trace)
 *   //   outputs: metronis.evaluations.v1 (TierResult), metronis.verdicts.v1 (Verdict), ...
 */
import { describeTopology } from '@metronis/streams';
import { tier1Topology } from './tier1.js';

export { tier1Topology, evaluateTier1, TIER1_NAME, TIER1_GROUP_ID, type Tier1Options } from './tier1.js';

/** The tier as text (`describeTopology`), without opening anything. */
export function describe(): string {
  return describeTopology(
    tier1Topology({
      policies: {
        get: () => Promise.reject(new Error('tier1 describe(): this topology is for describing only; give tier1Topology a policy cache to run it')),
      },
    }),
  );
}
