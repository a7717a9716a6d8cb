/**
 * Tier 2 in a process: whether its encoder is installed in the model cache, loading it off the
 * start-up path, and what the policy API may accept (the later tiers this deployment runs).
 *
 * @example
 *   const status = tier2Status(env.METRONIS_MODEL_CACHE);
 *   if (status.installed) void loadEncoder({ cacheDir: status.cacheDir }).then(startTier2);
 *   buildConsole({ ..., tiers: tierAvailability(status) });
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TierAvailability } from '@metronis/console';
import { ENCODER_MANIFEST, encoderDir, listModelVersions } from '@metronis/topology-tier2';

export type Tier2Status = { installed: true; cacheDir: string } | { installed: false; reason: string };

/** Tier 3 (the LLM judge) runs with tier 2's deployment; each org enables it once its judge provider is configured (PUT /v1/judge). */
const TIER3_RUNS = { models: [] };

/** Whether the encoder's files are in the cache (a cheap check; loading verifies their hashes). */
export function tier2Status(cacheDir: string): Tier2Status {
  const dir = encoderDir(cacheDir);
  const missing = Object.keys(ENCODER_MANIFEST.files).filter((file) => !existsSync(join(dir, file)));
  if (missing.length === 0) return { installed: true, cacheDir };
  return { installed: false, reason: `tier 2's encoder is not installed in ${dir} (missing ${missing.join(', ')}); run \`npm run tier2:model\` to install it from Maven Central` };
}

/** The later tiers the policy API accepts: tier 2 with the shipped model versions when it runs here. */
export function tierAvailability(status: Tier2Status | 'workers'): TierAvailability {
  // A distributed console cannot see the workers: it trusts the operator to run `worker --topology tier2`.
  if (status === 'workers' || status.installed) return { tier2: { models: listModelVersions() }, tier3: TIER3_RUNS };
  return { tier2: { unavailable: status.reason }, tier3: TIER3_RUNS };
}
