/**
 * Per-organization policy caches over the relational store. The tier reads through one; the gateway
 * through another that fails closed (an org whose policy cannot be read gets 503, never an unmasked
 * write). In one process, saving a policy invalidates both at once; other processes refresh within
 * the cache TTL (2 s).
 */
import { createPolicyCache } from '@metronis/evaluators';
import type { RelationalStore } from '@metronis/stores';
import type { Logger } from './logger.js';

export function policyCache(store: Pick<RelationalStore, 'getPolicy'>, logger: Logger, options: { failClosed?: boolean } = {}) {
  return createPolicyCache({
    load: async (orgId) => (await store.getPolicy(orgId))?.document ?? null,
    onError: (err, orgId) => logger.warn({ err, org_id: orgId }, 'policy could not be loaded; serving the last good one'),
    ...(options.failClosed === true ? { failClosed: true } : {}),
  });
}
