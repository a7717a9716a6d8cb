/**
 * The admin API: organizations, API keys, the organization's settings and its audit log. Every route
 * needs the `admin` scope except `GET /v1/org` (`read` too); every change is audited in the same
 * transaction as the change (the store does it), with the acting key and the request id.
 *
 * - `POST /v1/orgs` (admin key of an operator organization): `{ id?, name, retention_days? }` creates an
 *   organization and its first admin key, shown once: `201 { organization, api_key: { key, ... } }`.
 * - `GET /v1/org`: this organization (retention, rate limits).
 * - `PUT /v1/org/retention` `{ days }`, `PUT /v1/org/rate-limits` `{ ...limits }`,
 *   `DELETE /v1/org/rate-limits` (back to the deployment's defaults).
 * - `GET /v1/keys`, `POST /v1/keys` `{ name, scopes, expires_at? }` (the key is in this answer only),
 *   `DELETE /v1/keys/:id` (revoke; takes effect at once here and within seconds on other instances).
 * - `GET /v1/audit?action=&actor=&target=&since=&until=&limit=&cursor=`: newest first, paged by cursor.
 *
 * @example
 *   curl -X POST -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
 *     -d '{"name":"ci","scopes":["ingest"]}' http://127.0.0.1:7071/v1/keys
 */
import { issueApiKey, orgRateLimitsSchema } from '@metronis/ingest-gateway';
import { boundedIsoTime } from '@metronis/schemas';
import { AUDIT_ACTIONS, ConflictError, type ApiKeyView, type OrganizationRecord, type RelationalStore } from '@metronis/stores';
import { Hono } from 'hono';
import { z } from 'zod';
import { ApiError, jsonBodyLimit, jsonPath, readJson, requireScope, type ConsoleEnv } from './http.js';

export interface AdminHooks {
  /** After a key was revoked here: drop this process's cached answers for it. */
  onKeyRevoked?: (orgId: string, keyId: string) => void;
  /** After an org's rate limits changed: drop this process's cached limits. */
  onRateLimitsChanged?: (orgId: string) => void;
  /** After an org's retention changed: drop this process's cached retention. */
  onRetentionChanged?: (orgId: string) => void;
}

export interface AdminRoutesOptions extends AdminHooks {
  store: Pick<RelationalStore, 'createOrganization' | 'forOrg'>;
}

const MAX_BODY_BYTES = 16 * 1024;
export const MAX_RETENTION_DAYS = 3650;

const scopesSchema = z
  .array(z.enum(['ingest', 'read', 'admin']))
  .min(1, 'at least one scope')
  .refine((s) => new Set(s).size === s.length, 'each scope once');
const nameSchema = z.string().trim().min(1, 'required').max(100).regex(/^[^\u0000-\u001f\u007f]*$/, 'no control characters');

export const createKeySchema = z.strictObject({
  name: nameSchema,
  scopes: scopesSchema,
  expires_at: boundedIsoTime().optional(),
});

export const createOrgSchema = z.strictObject({
  id: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{2,62}$/, '3 to 63 lowercase letters, digits, - or _, starting with a letter or digit')
    .optional(),
  name: z.string().trim().min(1, 'required').max(200).regex(/^[^\u0000-\u001f\u007f]*$/, 'no control characters'),
  retention_days: z.int().min(1).max(MAX_RETENTION_DAYS).optional(),
});

export const retentionSchema = z.strictObject({ days: z.int().min(1).max(MAX_RETENTION_DAYS) });

const auditQuerySchema = z.strictObject({
  action: z.enum(AUDIT_ACTIONS).optional(),
  actor: z.string().min(1).max(200).optional(),
  target: z.string().min(1).max(1000).optional(),
  since: boundedIsoTime().optional(),
  until: boundedIsoTime().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
});

export function organizationView(org: OrganizationRecord) {
  return { id: org.id, name: org.name, created_at: org.created_at, retention_days: org.retention_days, rate_limits: org.rate_limits, operator: org.operator };
}

export function keyView(key: ApiKeyView) {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    scopes: key.scopes,
    created_at: key.created_at,
    created_by: key.created_by,
    expires_at: key.expires_at,
    revoked_at: key.revoked_at,
  };
}

function randomOrgId(): string {
  return `org_${issueApiKey().id.slice(4)}`;
}

export function createAdminRoutes(options: AdminRoutesOptions): Hono<ConsoleEnv> {
  const routes = new Hono<ConsoleEnv>();
  const limit = jsonBodyLimit(MAX_BODY_BYTES);

  routes.post('/orgs', limit, async (c) => {
    requireScope(c, 'admin');
    const { db, actor, principal } = c.get('tenant');
    const self = await db.getOrganization();
    if (self === null || !self.operator) {
      throw new ApiError(403, 'insufficient_scope', 'Only an admin key of an operator organization can create organizations.');
    }
    const body = await readJson(c, createOrgSchema);
    let org: OrganizationRecord;
    try {
      org = await options.store.createOrganization(
        { id: body.id ?? randomOrgId(), name: body.name, ...(body.retention_days === undefined ? {} : { retention_days: body.retention_days }) },
        { ...actor, orgId: principal.orgId },
      );
    } catch (error) {
      if (error instanceof ConflictError) throw new ApiError(409, 'conflict', `An organization with id '${body.id}' exists.`, { cause: error });
      throw error;
    }
    const issued = issueApiKey();
    const key = await options.store.forOrg(org.id).createApiKey({ id: issued.id, hash: issued.hash, prefix: issued.prefix, name: 'first admin key', scopes: ['admin', 'read', 'ingest'], expires_at: null }, actor);
    return c.json({ organization: organizationView(org), api_key: { ...keyView(key), key: issued.key } }, 201);
  });

  routes.get('/org', async (c) => {
    requireScope(c, 'read', 'admin');
    const org = await c.get('tenant').db.getOrganization();
    if (org === null) throw new ApiError(404, 'not_found', 'This organization has no record (keys of a deleted organization answer this).');
    return c.json(organizationView(org));
  });

  routes.put('/org/retention', limit, async (c) => {
    requireScope(c, 'admin');
    const { days } = await readJson(c, retentionSchema);
    const { db, facts, actor } = c.get('tenant');
    const org = await db.setRetention(days, actor);
    if (org === null) throw new ApiError(404, 'not_found', 'This organization has no record.');
    options.onRetentionChanged?.(org.id);
    if (facts !== null) {
      try {
        await facts.setRetention(days);
      } catch (error) {
        throw new ApiError(503, 'facts_unavailable', 'The retention is saved, but applying it to the stored facts failed; send the same request again.', {
          cause: error,
          headers: { 'Retry-After': '5' },
        });
      }
    }
    return c.json(organizationView(org));
  });

  routes.put('/org/rate-limits', limit, async (c) => {
    requireScope(c, 'admin');
    const limits = await readJson(c, orgRateLimitsSchema);
    const { db, actor } = c.get('tenant');
    const org = await db.setRateLimits(limits as Record<string, number>, actor);
    if (org === null) throw new ApiError(404, 'not_found', 'This organization has no record.');
    options.onRateLimitsChanged?.(org.id);
    return c.json(organizationView(org));
  });

  routes.delete('/org/rate-limits', async (c) => {
    requireScope(c, 'admin');
    const { db, actor } = c.get('tenant');
    const org = await db.setRateLimits(null, actor);
    if (org === null) throw new ApiError(404, 'not_found', 'This organization has no record.');
    options.onRateLimitsChanged?.(org.id);
    return c.json(organizationView(org));
  });

  routes.get('/keys', async (c) => {
    requireScope(c, 'admin');
    const keys = await c.get('tenant').db.listApiKeys();
    return c.json({ keys: keys.map(keyView) });
  });

  routes.post('/keys', limit, async (c) => {
    requireScope(c, 'admin');
    const body = await readJson(c, createKeySchema);
    const expiresAt = body.expires_at === undefined ? null : new Date(body.expires_at);
    if (expiresAt !== null && expiresAt.getTime() <= Date.now()) {
      throw new ApiError(400, 'invalid_body', '$.expires_at: must be in the future', { issues: [{ path: '$.expires_at', message: 'must be in the future' }] });
    }
    const { db, actor } = c.get('tenant');
    const issued = issueApiKey();
    const key = await db.createApiKey({ id: issued.id, hash: issued.hash, prefix: issued.prefix, name: body.name, scopes: body.scopes, expires_at: expiresAt }, actor);
    return c.json({ ...keyView(key), key: issued.key }, 201);
  });

  routes.delete('/keys/:id', async (c) => {
    requireScope(c, 'admin');
    const { db, actor, principal } = c.get('tenant');
    const id = c.req.param('id');
    const key = await db.revokeApiKey(id, actor);
    if (key === null) throw new ApiError(404, 'not_found', `No key with id '${id.slice(0, 200)}'.`);
    options.onKeyRevoked?.(principal.orgId, key.id);
    return c.json(keyView(key));
  });

  routes.get('/audit', async (c) => {
    requireScope(c, 'admin');
    const parsed = auditQuerySchema.safeParse(c.req.query());
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => ({ path: jsonPath(['query', ...i.path]), message: i.message }));
      throw new ApiError(400, 'invalid_query', `The query is invalid: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
    }
    const q = parsed.data;
    const entries = await c.get('tenant').db.listAudit({
      action: q.action,
      actor: q.actor,
      target: q.target,
      since: q.since === undefined ? undefined : new Date(q.since),
      until: q.until === undefined ? undefined : new Date(q.until),
      beforeId: q.cursor,
      limit: q.limit,
    });
    const last = entries.at(-1);
    return c.json({ entries, next_cursor: entries.length === q.limit && last !== undefined ? String(last.id) : null });
  });

  return routes;
}
