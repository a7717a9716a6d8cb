/**
 * The organization's evaluation policy over HTTP.
 *
 * - `GET /v1/policy` (scope `read` or `admin`): `{ policy, version, updated_at }`, the policy in
 *   effect with every default filled in; an organization that never saved one gets the default policy
 *   with version 0 and `updated_at: null`.
 * - `PUT /v1/policy` (scope `admin`, `Content-Type: application/json`): the body is validated with
 *   `parsePolicy`; a bad one is a 400 naming the path of each problem
 *   (`$.modules.quality.config.max_chars`). The document is stored as sent (so a default changed in a
 *   later release applies to the values the organization left out) and the answer is the policy in
 *   effect with its new version, one more than the previous one.
 *
 * @example
 *   curl -X PUT -H 'Authorization: Bearer mk_...' -H 'Content-Type: application/json' \
 *     -d '{"fail_at":"high","modules":{"quality":{"config":{"max_chars":8000}}}}' http://localhost:7071/v1/policy
 */
import { DEFAULT_POLICY, parsePolicy, PolicyError, type Policy } from '@metronis/evaluators';
import type { OrgScope } from '@metronis/stores';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ApiError, assertJsonContentType, parseJsonText as parseBody, requireScope, type ConsoleEnv, type Issue } from './http.js';

export interface PolicyRoutesOptions {
  logger?: { info(obj: object, msg?: string): void };
  /** Largest accepted policy document in bytes. Default 64 KiB. */
  maxBodyBytes?: number;
  /** Called after a policy is saved, so caches in this process refresh at once (others within their TTL). */
  onPolicyChanged?: (orgId: string) => void;
  /** What the later tiers can take in this deployment; escalation to a tier that is unavailable is refused. Default: neither. */
  tiers?: TierAvailability;
  /** Why this org cannot escalate to tier 3 yet (no judge provider configured), or null; checked when a policy enables tier 3. */
  tier3Missing?: (orgId: string) => Promise<string | null>;
}

/** Per later tier: the model versions it can run, or why escalation to it cannot be enabled here. */
export interface TierAvailability {
  tier2: { models: readonly string[] } | { unavailable: string };
  tier3: { models: readonly string[] } | { unavailable: string };
}

const NO_LATER_TIERS: TierAvailability = {
  tier2: { unavailable: 'tier2 is not running in this deployment' },
  tier3: { unavailable: 'tier3 is not built yet' },
};

/** Problems of a valid policy with what this deployment runs: escalation to an unavailable tier, a model version it does not ship. */
export function availabilityIssues(policy: Policy, tiers: TierAvailability): Issue[] {
  const issues: Issue[] = [];
  for (const tier of ['tier2', 'tier3'] as const) {
    const available = tiers[tier];
    if (policy.escalation[tier].enabled && 'unavailable' in available) issues.push({ path: `$.escalation.${tier}.enabled`, message: `${available.unavailable}; escalation to it cannot be enabled` });
  }
  const tier2 = tiers.tier2;
  if ('models' in tier2) {
    for (const key of ['model', 'shadow_model'] as const) {
      const version = policy.tier2[key];
      if (version !== null && !tier2.models.includes(version)) issues.push({ path: `$.tier2.${key}`, message: `model version ${version} is not shipped with this release (shipped: ${tier2.models.join(', ') || 'none'})` });
    }
  }
  return issues;
}

export interface PolicyView {
  policy: Policy;
  version: number;
  updated_at: Date | null;
}

const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

/** `modules.quality.config.max_chars` → `$.modules.quality.config.max_chars`; `severity_overrides.0.kind` → `$.severity_overrides[0].kind`. */
export function policyPath(path: string): string {
  if (path === '') return '$';
  return '$' + path.split('.').map((segment) => (/^\d+$/.test(segment) ? `[${segment}]` : `.${segment}`)).join('');
}

export function createPolicyRoutes(options: PolicyRoutesOptions): Hono<ConsoleEnv> {
  const { logger } = options;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1) throw new RangeError(`createPolicyRoutes: maxBodyBytes must be a positive integer, got ${maxBodyBytes}`);
  const routes = new Hono<ConsoleEnv>();

  async function effective(db: OrgScope): Promise<PolicyView> {
    const stored = await db.getPolicy();
    if (stored === null) return { policy: DEFAULT_POLICY, version: 0, updated_at: null };
    try {
      return { policy: parsePolicy(stored.document), version: stored.version, updated_at: stored.updated_at };
    } catch (error) {
      // Saved documents were valid when saved: this is a release that no longer reads them.
      throw new ApiError(500, 'stored_policy_invalid', `The stored policy (version ${stored.version}) no longer validates; save a corrected one with PUT /v1/policy.`, {
        cause: error,
        issues: error instanceof PolicyError ? error.issues.map((i) => ({ path: policyPath(i.path), message: i.message })) : undefined,
      });
    }
  }

  routes.get('/', async (c) => {
    requireScope(c, 'read', 'admin');
    return c.json(await effective(c.get('tenant').db));
  });

  routes.put(
    '/',
    async function adminOnly(c, next) {
      requireScope(c, 'admin');
      assertJsonContentType(c.req.header('content-type'));
      await next();
    },
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: () => {
        throw new ApiError(413, 'body_too_large', `The policy document is larger than the limit of ${maxBodyBytes} bytes.`);
      },
    }),
    async (c) => {
      const { orgId, keyId } = c.get('principal');
      const document = parseBody(await c.req.text());
      let policy: Policy;
      try {
        policy = parsePolicy(document);
      } catch (error) {
        if (!(error instanceof PolicyError)) throw error;
        const issues: Issue[] = error.issues.map((i) => ({ path: policyPath(i.path), message: i.message }));
        throw new ApiError(400, 'invalid_policy', `The policy is invalid: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
      }
      // Escalating to a tier that does not run here would leave traces without a verdict.
      const issues = availabilityIssues(policy, options.tiers ?? NO_LATER_TIERS);
      if (issues.length === 0 && policy.escalation.tier3.enabled && options.tier3Missing !== undefined) {
        const missing = await options.tier3Missing(orgId);
        if (missing !== null) issues.push({ path: '$.escalation.tier3.enabled', message: `${missing}; escalation to it cannot be enabled` });
      }
      if (issues.length > 0) throw new ApiError(400, 'invalid_policy', `The policy is invalid: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
      const { db, actor } = c.get('tenant');
      const saved = await db.putPolicy(document, actor);
      options.onPolicyChanged?.(orgId);
      logger?.info({ org_id: orgId, key_id: keyId, version: saved.version }, 'policy saved');
      return c.json({ policy, version: saved.version, updated_at: saved.updated_at } satisfies PolicyView);
    },
  );

  return routes;
}
