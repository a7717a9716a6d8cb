/**
 * The organization's LLM judge (tier 3) over HTTP.
 *
 * - `GET /v1/judge` (scope `read` or `admin`): `{ configured, judge, api_key_set, version, updated_at,
 *   usage_today, pending }`; the key never comes back, only that one is set.
 * - `PUT /v1/judge` (scope `admin`): the provider, model, criteria (with prompt versions), budget and
 *   limits, and `api_key` (required the first time; left out, the stored key stays). A `base_url`
 *   inside the deployment's network is refused (400 `destination_refused`, see egress.ts). The key is sealed
 *   with METRONIS_SECRETS_KEY before it is stored; the change is audited (`judge.configured`, without
 *   the key). A bad body is a 400 naming each path.
 * - `DELETE /v1/judge` (scope `admin`): removes it (audited `judge.removed`); refused with 409 while
 *   the policy escalates to tier 3 (disable that first: the traces would go unjudged).
 *
 * @example
 *   curl -X PUT -H 'Authorization: Bearer mk_...' -H 'Content-Type: application/json' \
 *     -d '{"provider":"openai","model":"gpt-4o-mini","api_key":"sk-...","budget":{"daily_usd":5}}' http://localhost:7071/v1/judge
 */
import { parsePolicy } from '@metronis/evaluators';
import type { EgressPolicy, JudgeStore, SecretBox } from '@metronis/stores';
import { judgeDocumentSchema, judgeSecretContext, utcDay, type JudgeSettings } from '@metronis/topology-tier3';
import { Hono } from 'hono';
import { ApiError, jsonBodyLimit, readJson, requireScope, type ConsoleEnv } from './http.js';

export interface JudgeRoutesOptions {
  store: JudgeStore;
  /** Without it the judge cannot be configured (503 naming METRONIS_SECRETS_KEY). */
  secrets?: SecretBox | undefined;
  /**
   * What a `base_url` may point at (stores' egress.ts: nothing inside the deployment's network unless
   * METRONIS_EGRESS_ALLOW lets it); a refused one is a 400 `destination_refused` naming `$.base_url`.
   * The tier 3 workers check again when connecting, on the resolved address.
   */
  egress?: Pick<EgressPolicy, 'checkUrl'> | undefined;
  /** Called after a change, so this process's judge cache refreshes at once (others within their TTL). */
  onChanged?: ((orgId: string) => void) | undefined;
  logger?: { info(obj: object, msg?: string): void };
  now?: () => number;
}

const MAX_BODY_BYTES = 16 * 1024;

export function createJudgeRoutes(options: JudgeRoutesOptions): Hono<ConsoleEnv> {
  const routes = new Hono<ConsoleEnv>();
  const now = options.now ?? Date.now;

  routes.get('/', async (c) => {
    requireScope(c, 'read', 'admin');
    const { orgId } = c.get('principal');
    const [stored, usage, pending] = await Promise.all([options.store.getProvider(orgId), options.store.usage(orgId, utcDay(now())), options.store.countPending(orgId)]);
    if (stored === null) return c.json({ configured: false, judge: null, api_key_set: false, version: 0, updated_at: null, usage_today: usage, pending });
    return c.json({ configured: true, judge: stored.settings as JudgeSettings, api_key_set: true, version: stored.version, updated_at: stored.updated_at, usage_today: usage, pending });
  });

  routes.put('/', jsonBodyLimit(MAX_BODY_BYTES), async (c) => {
    requireScope(c, 'admin');
    const { orgId, keyId } = c.get('principal');
    const { api_key, ...settings } = await readJson(c, judgeDocumentSchema);
    const refused = settings.base_url === null ? null : (options.egress?.checkUrl(settings.base_url) ?? null);
    if (refused !== null) {
      throw new ApiError(400, 'destination_refused', `The judge's destination is refused: $.base_url: ${refused}`, { issues: [{ path: '$.base_url', message: refused }] });
    }
    if (options.secrets === undefined) {
      throw new ApiError(503, 'secrets_unavailable', 'The judge keeps its API key encrypted and this server has no key: set METRONIS_SECRETS_KEY (32 bytes, base64 or hex) and restart.');
    }
    const sealed = api_key === undefined ? null : options.secrets.seal(api_key, judgeSecretContext(orgId));
    const saved = await options.store.putProvider(orgId, settings, sealed, c.get('tenant').actor);
    if (saved === null) throw new ApiError(400, 'invalid_body', 'The body is invalid: $.api_key: is required the first time a judge is configured', { issues: [{ path: '$.api_key', message: 'is required the first time a judge is configured' }] });
    options.onChanged?.(orgId);
    options.logger?.info({ org_id: orgId, key_id: keyId, version: saved.version, provider: settings.provider, model: settings.model }, 'judge configured');
    return c.json({ configured: true, judge: saved.settings as JudgeSettings, api_key_set: true, version: saved.version, updated_at: saved.updated_at });
  });

  routes.delete('/', async (c) => {
    requireScope(c, 'admin');
    const { orgId } = c.get('principal');
    const { db, actor } = c.get('tenant');
    const policy = await db.getPolicy();
    if (policy !== null && parsePolicy(policy.document).escalation.tier3.enabled) {
      throw new ApiError(409, 'judge_in_use', 'The policy escalates to tier 3: disable escalation.tier3 with PUT /v1/policy first, or the escalated traces would go unjudged.');
    }
    if (!(await options.store.deleteProvider(orgId, actor))) throw new ApiError(404, 'not_found', 'No judge is configured for this organization.');
    options.onChanged?.(orgId);
    return c.body(null, 204);
  });

  return routes;
}

/** Why escalation to tier 3 cannot be enabled for this org yet, or null when its judge is configured. */
export async function judgeMissing(store: Pick<JudgeStore, 'getProvider'>, orgId: string): Promise<string | null> {
  return (await store.getProvider(orgId)) === null ? 'no judge provider is configured for this organization (PUT /v1/judge)' : null;
}
