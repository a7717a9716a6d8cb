/**
 * Tier 3 (the LLM judge) in a process: the per-org judge cache over the store (keys opened with the
 * secrets box), the budget and cache in Postgres, one concurrency limit per provider endpoint, the
 * pending-judgment sweeper producing to the log. `metronis dev` and `worker --topology tier3` run it;
 * the console of the same process invalidates the judge cache on every change.
 *
 * @example
 *   const tier3 = openTier3Runtime({ store, backbone, secrets, logger, lifecycle, concurrency: 4, sweepIntervalMs: 15_000, retryDelayMs: 60_000, egressAllow: [] });
 *   runTopology(tier3Topology({ ...tier3.options, policies }), ...);
 *   const sweeper = tier3.startSweeper(policies);
 */
import type { Policy } from '@metronis/evaluators';
import { createEgressPolicy, type RelationalStore, type SecretBox } from '@metronis/stores';
import {
  createConcurrencyLimiter,
  createJudgeConfigCache,
  createPendingSweeper,
  createPriceTable,
  DEFAULT_RETRY_RULES,
  evaluateTier3,
  outputEmitter,
  storeBudget,
  storeCache,
  type JudgeConfigSource,
  type Tier3Options,
} from '@metronis/topology-tier3';
import type { Logger } from './logger.js';
import type { Backbone } from './runtime.js';
import type { Lifecycle } from './shutdown.js';

type Policies = { get(orgId: string): Promise<Policy> };

export interface Tier3Runtime {
  judges: JudgeConfigSource;
  /** The topology's options but the policy cache, which the topology entry brings. */
  options: Omit<Tier3Options, 'policies'>;
  startSweeper(policies: Policies): { stop(): Promise<void> };
}

/** How long a cached judgment is reused (a week): a changed prompt version or model is a new key anyway. */
const CACHE_TTL_MS = 7 * 86_400_000;

export function openTier3Runtime(deps: { store: RelationalStore; backbone: Backbone; secrets: SecretBox; logger: Logger; lifecycle: Lifecycle; concurrency: number; sweepIntervalMs: number; retryDelayMs: number; egressAllow: string[] }): Tier3Runtime {
  // A judge's base_url is an org admin's choice: it may not reach inside the deployment's network (METRONIS_EGRESS_ALLOW).
  const judges = createJudgeConfigCache({ store: deps.store.judge, secrets: deps.secrets, egress: createEgressPolicy({ allow: deps.egressAllow }) });
  const options: Omit<Tier3Options, 'policies'> = {
    judges,
    judge: {
      budget: (judge) => storeBudget(deps.store.judge, judge.settings.budget),
      cache: storeCache(deps.store.judge, { ttlMs: CACHE_TTL_MS }),
      limiter: createConcurrencyLimiter(deps.concurrency),
      prices: createPriceTable(),
      retry: DEFAULT_RETRY_RULES,
    },
    pending: deps.store.judge,
    pendingDelayMs: deps.retryDelayMs,
  };
  return {
    judges,
    options,
    startSweeper(policies) {
      const producer = deps.backbone.log.producer();
      const sweeper = createPendingSweeper({
        store: deps.store.judge,
        evaluate: (escalation) => evaluateTier3(escalation, { ...options, policies }),
        emit: outputEmitter(producer, deps.backbone.serde),
        logger: deps.logger,
        intervalMs: deps.sweepIntervalMs,
        baseDelayMs: Math.max(1, deps.retryDelayMs),
      });
      // Cached judgments past their week are deleted hourly (they may quote the traces they judged).
      const expireCache = () =>
        deps.store.judge.cacheSweep(new Date(Date.now() - CACHE_TTL_MS)).catch((error: unknown) => deps.logger.warn({ err: error }, 'tier 3 could not expire cached judgments; it tries again in an hour'));
      const expiry = setInterval(() => void expireCache(), 3_600_000);
      expiry.unref();
      return {
        async stop() {
          clearInterval(expiry);
          await sweeper.stop();
          await producer.close();
        },
      };
    },
  };
}
