/**
 * The alerts API (topologies/alerts): rules, channels, silences and the routing document, and the
 * history of alerts and deliveries. Reads need `read` or `admin`; changes need `admin` and are audited
 * by the store in the same transaction. Documents are validated with the topology's zod schemas (400
 * naming each path). Channel secrets are sealed before they are stored and never come back: a channel
 * shows `secrets_set` (the names), and a webhook's generated signing secret is in the creation answer
 * only. After a change the `onChanged` hook refreshes this process's cache; other processes follow
 * within the cache's 2 s.
 *
 * - `GET /v1/alerts?status=&rule=&since=&until=&limit=&cursor=`: alerts, newest first.
 * - `GET /v1/alerts/deliveries?channel=&status=&since=&until=&limit=&cursor=`: deliveries with each attempt.
 * - `/v1/alerts/rules`, `/v1/alerts/channels`: list, create; `/:id`: get, replace, delete.
 * - `POST /v1/alerts/channels/:id/test`: sends a test notification now, answers what the far end said.
 * - `/v1/alerts/silences`: list (`?include_expired=true`), create; `DELETE /:id` expires it.
 * - `GET` / `PUT /v1/alerts/routing`: routes and inhibition rules.
 *
 * @example
 *   curl -X POST -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
 *     -d '{"name":"leaks","kind":"per_event","when":{"min_severity":"high"},"channels":["pd"]}' http://127.0.0.1:7071/v1/alerts/rules
 */
import { randomUUID } from 'node:crypto';
import { boundedIsoTime } from '@metronis/schemas';
import type { AlertStore, Delivery, DeliveryAttempt, SecretBox, StoredChannel, StoredDocument, StoredSilence } from '@metronis/stores';
import {
  channelInputSchema,
  channelSchemas,
  channelView,
  DEFAULT_ROUTING,
  durationMs,
  idSchema,
  openChannel,
  parseRouting,
  parseRule,
  ruleInputSchema,
  routingSchema,
  sealChannel,
  silenceInputSchema,
  testChannel,
  type ChannelAdapters,
  type ChannelInput,
  type Pacer,
  type ChannelType,
} from '@metronis/topology-alerts';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { z } from 'zod';
import { ApiError, jsonBodyLimit, jsonPath, readJson, requireScope, type ConsoleEnv, type Issue } from './http.js';

export interface AlertRoutesOptions {
  /** The alert store, used only by the channel test, always with the caller's organization. */
  store?: Pick<AlertStore, 'channel' | 'disableChannel' | 'recordAttempt' | 'queueDelivery' | 'deferDelivery'> | undefined;
  /** The secrets key: without it channels cannot be created, changed or tested (503 naming METRONIS_SECRETS_KEY). */
  secrets?: SecretBox | undefined;
  /** The channel adapters, for `POST /v1/alerts/channels/:id/test`. */
  adapters?: ChannelAdapters | undefined;
  /** The far ends' pace (PagerDuty's events a minute per routing key) that a channel test keeps too. */
  pacer?: Pacer | undefined;
  /** After a rule, routing or channel changed: drop this process's cached alert configuration. */
  onChanged?: ((orgId: string) => void) | undefined;
  logger?: { info(obj: object, msg?: string): void; warn?(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
}

const MAX_BODY_BYTES = 64 * 1024;

const listQuery = {
  since: boundedIsoTime().optional(),
  until: boundedIsoTime().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
};
export const alertsQuerySchema = z.strictObject({ ...listQuery, status: z.enum(['firing', 'resolved']).optional(), rule: z.string().min(1).max(200).optional(), cursor: z.string().min(1).max(200).optional() });
export const deliveriesQuerySchema = z.strictObject({
  ...listQuery,
  channel: z.string().min(1).max(200).optional(),
  status: z.enum(['pending', 'sending', 'retrying', 'delivered', 'failed', 'abandoned']).optional(),
  cursor: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
});
const silencesQuerySchema = z.strictObject({ include_expired: z.enum(['true', 'false']).optional() });

/** A channel update: like creation, but secrets left out keep their stored values. */
export const channelUpdateSchema = z.discriminatedUnion('type', [
  z.strictObject({ name: z.string().trim().min(1).max(200), enabled: z.boolean().default(true), type: z.literal('pagerduty'), settings: channelSchemas.pagerduty.settings.optional(), secrets: channelSchemas.pagerduty.secrets.partial().optional() }),
  z.strictObject({ name: z.string().trim().min(1).max(200), enabled: z.boolean().default(true), type: z.literal('slack'), settings: channelSchemas.slack.settings.optional(), secrets: channelSchemas.slack.secrets.partial().optional() }),
  z.strictObject({ name: z.string().trim().min(1).max(200), enabled: z.boolean().default(true), type: z.literal('webhook'), settings: channelSchemas.webhook.settings.optional(), secrets: channelSchemas.webhook.secrets.partial().optional() }),
  z.strictObject({ name: z.string().trim().min(1).max(200), enabled: z.boolean().default(true), type: z.literal('email'), settings: channelSchemas.email.settings, secrets: channelSchemas.email.secrets.partial().optional() }),
]);

function queryOf<S extends z.ZodType>(c: Context<ConsoleEnv>, schema: S): z.output<S> {
  const parsed = schema.safeParse(c.req.query());
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({ path: jsonPath(['query', ...i.path]), message: i.message }));
  throw new ApiError(400, 'invalid_query', `The query is invalid: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
}

function invalid(code: string, what: string, issues: Issue[]): never {
  throw new ApiError(400, code, `${what} is invalid: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
}

function ruleView(stored: StoredDocument) {
  let rule: unknown = stored.document;
  try {
    rule = parseRule(stored.document);
  } catch {
    // a rule saved by an earlier release that no longer validates is shown as stored
  }
  return { id: stored.id, rule, version: stored.version, created_at: stored.created_at, updated_at: stored.updated_at };
}

function silenceView(s: StoredSilence, now: Date) {
  return { ...s, state: s.ends_at <= now ? 'expired' : s.starts_at > now ? 'pending' : 'active' };
}

/** A delivery without its payload: its status, and the fingerprints of the alerts it carried (to join them to the alerts list). */
function deliveryView(d: Delivery & { attempt_log: DeliveryAttempt[] }) {
  const { payload, ...rest } = d;
  const alerts = (payload as { alerts?: unknown }).alerts;
  const fingerprints = Array.isArray(alerts) ? alerts.map((a) => (a as { fingerprint?: unknown }).fingerprint).filter((f): f is string => typeof f === 'string') : [];
  return { ...rest, status_summary: (payload as { status?: string }).status ?? null, alert_fingerprints: fingerprints, attempts: d.attempt_log, attempt_log: undefined };
}

const encodeCursor = (startsAt: Date, id: string) => Buffer.from(JSON.stringify([startsAt.toISOString(), id])).toString('base64url');
function decodeCursor(cursor: string): { starts_at: Date; id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    const startsAt = new Date(at);
    if (typeof id !== 'string' || Number.isNaN(startsAt.getTime())) throw new Error('bad cursor');
    return { starts_at: startsAt, id };
  } catch {
    throw new ApiError(400, 'invalid_query', '$.query.cursor: not a cursor this API gave', { issues: [{ path: '$.query.cursor', message: 'not a cursor this API gave' }] });
  }
}

function checkPathId(what: string, id: string): void {
  if (!idSchema.safeParse(id).success) throw new ApiError(404, 'not_found', `No ${what} with id '${id.slice(0, 200)}'.`);
}

export function createAlertRoutes(options: AlertRoutesOptions): Hono<ConsoleEnv> {
  const routes = new Hono<ConsoleEnv>();
  const limit = jsonBodyLimit(MAX_BODY_BYTES);
  const changed = (orgId: string) => options.onChanged?.(orgId);

  function box(): SecretBox {
    if (options.secrets === undefined) {
      throw new ApiError(503, 'secrets_unavailable', 'Channels keep their secrets encrypted and this server has no key: set METRONIS_SECRETS_KEY (32 bytes, base64 or hex) and restart.');
    }
    return options.secrets;
  }

  /**
   * 400 naming each destination (URL, SMTP host) the egress policy refuses (loopback, private,
   * link-local, metadata: see stores' egress.ts; METRONIS_EGRESS_ALLOW lets some through). The workers
   * check again when connecting, on the resolved address.
   */
  function checkDestinations(input: ChannelInput): void {
    const issues = options.adapters?.[input.type].refusedDestinations(input.settings, input.secrets) ?? [];
    if (issues.length > 0) throw new ApiError(400, 'destination_refused', `The channel's destination is refused: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
  }

  /** 400 naming each `channels` entry of a rule or route that names no channel of the organization. */
  async function checkChannels(c: Context<ConsoleEnv>, refs: { path: string; ids: string[] }[]): Promise<void> {
    const known = new Set((await c.get('tenant').alerts.listChannels()).map((ch) => ch.id));
    const issues: Issue[] = [];
    for (const ref of refs) ref.ids.forEach((id, i) => known.has(id) || issues.push({ path: `${ref.path}[${i}]`, message: `no channel with id '${id}'` }));
    if (issues.length > 0) invalid('invalid_body', 'The body', issues);
  }

  routes.get('/', async (c) => {
    requireScope(c, 'read', 'admin');
    const q = queryOf(c, alertsQuerySchema);
    const alerts = await c.get('tenant').alerts.listAlerts({
      status: q.status,
      rule_id: q.rule,
      since: q.since === undefined ? undefined : new Date(q.since),
      until: q.until === undefined ? undefined : new Date(q.until),
      before: q.cursor === undefined ? undefined : decodeCursor(q.cursor),
      limit: q.limit,
    });
    const last = alerts.at(-1);
    return c.json({ alerts, next_cursor: alerts.length === q.limit && last !== undefined ? encodeCursor(last.starts_at, last.id) : null });
  });

  routes.get('/deliveries', async (c) => {
    requireScope(c, 'read', 'admin');
    const q = queryOf(c, deliveriesQuerySchema);
    const deliveries = await c.get('tenant').alerts.listDeliveries({
      channel_id: q.channel,
      status: q.status,
      since: q.since === undefined ? undefined : new Date(q.since),
      until: q.until === undefined ? undefined : new Date(q.until),
      before_id: q.cursor,
      limit: q.limit,
    });
    const last = deliveries.at(-1);
    return c.json({ deliveries: deliveries.map(deliveryView), next_cursor: deliveries.length === q.limit && last !== undefined ? String(last.id) : null });
  });

  // Rules
  routes.get('/rules', async (c) => {
    requireScope(c, 'read', 'admin');
    return c.json({ rules: (await c.get('tenant').alerts.listRules()).map(ruleView) });
  });

  routes.post('/rules', limit, async (c) => {
    requireScope(c, 'admin');
    const { id, ...rule } = await readJson(c, ruleInputSchema);
    await checkChannels(c, [{ path: '$.channels', ids: rule.channels }]);
    const { alerts, actor, principal } = c.get('tenant');
    const ruleId = id ?? `rule_${randomUUID().slice(0, 8)}`;
    const saved = await alerts.createRule(ruleId, rule, actor);
    if (saved === null) throw new ApiError(409, 'conflict', `A rule with id '${ruleId}' exists.`);
    changed(principal.orgId);
    return c.json(ruleView(saved), 201);
  });

  routes.get('/rules/:id', async (c) => {
    requireScope(c, 'read', 'admin');
    const id = c.req.param('id');
    checkPathId('rule', id);
    const stored = await c.get('tenant').alerts.getRule(id);
    if (stored === null) throw new ApiError(404, 'not_found', `No rule with id '${id}'.`);
    return c.json(ruleView(stored));
  });

  routes.put('/rules/:id', limit, async (c) => {
    requireScope(c, 'admin');
    const id = c.req.param('id');
    checkPathId('rule', id);
    const { id: bodyId, ...rule } = await readJson(c, ruleInputSchema);
    if (bodyId !== undefined && bodyId !== id) invalid('invalid_body', 'The body', [{ path: '$.id', message: `must be the rule's id '${id}' (or left out)` }]);
    await checkChannels(c, [{ path: '$.channels', ids: rule.channels }]);
    const { alerts, actor, principal } = c.get('tenant');
    const saved = await alerts.updateRule(id, rule, actor);
    if (saved === null) throw new ApiError(404, 'not_found', `No rule with id '${id}'.`);
    changed(principal.orgId);
    return c.json(ruleView(saved));
  });

  routes.delete('/rules/:id', async (c) => {
    requireScope(c, 'admin');
    const id = c.req.param('id');
    checkPathId('rule', id);
    const { alerts, actor, principal } = c.get('tenant');
    if (!(await alerts.deleteRule(id, actor))) throw new ApiError(404, 'not_found', `No rule with id '${id}'.`);
    changed(principal.orgId);
    return c.json({ id, deleted: true });
  });

  // Channels
  routes.get('/channels', async (c) => {
    requireScope(c, 'read', 'admin');
    return c.json({ channels: (await c.get('tenant').alerts.listChannels()).map(channelView) });
  });

  routes.post('/channels', limit, async (c) => {
    requireScope(c, 'admin');
    const input = await readJson(c, channelInputSchema);
    const { alerts, actor, principal } = c.get('tenant');
    checkDestinations(input);
    const id = input.id ?? `ch_${randomUUID().slice(0, 8)}`;
    const sealed = sealChannel(box(), principal.orgId, id, input);
    const saved = await alerts.createChannel(sealed.channel, actor);
    if (saved === null) throw new ApiError(409, 'conflict', `A channel with id '${id}' exists.`);
    if (!input.enabled) await alerts.updateChannel(sealed.channel, actor);
    changed(principal.orgId);
    const view = channelView((await alerts.getChannel(id)) ?? saved);
    return c.json(Object.keys(sealed.generated).length === 0 ? view : { ...view, generated_secrets: sealed.generated }, 201);
  });

  routes.get('/channels/:id', async (c) => {
    requireScope(c, 'read', 'admin');
    const id = c.req.param('id');
    checkPathId('channel', id);
    const stored = await c.get('tenant').alerts.getChannel(id);
    if (stored === null) throw new ApiError(404, 'not_found', `No channel with id '${id}'.`);
    return c.json(channelView(stored));
  });

  routes.put('/channels/:id', limit, async (c) => {
    requireScope(c, 'admin');
    const id = c.req.param('id');
    checkPathId('channel', id);
    const update = await readJson(c, channelUpdateSchema);
    const { alerts, actor, principal } = c.get('tenant');
    const current = await alerts.getChannel(id);
    if (current === null) throw new ApiError(404, 'not_found', `No channel with id '${id}'.`);
    const keep = current.type === update.type ? openChannel(box(), principal.orgId, current).secrets : {};
    const merged = channelInputSchema.safeParse({ name: update.name, enabled: update.enabled, type: update.type, settings: update.settings ?? (current.type === update.type ? current.settings : undefined), secrets: { ...keep, ...update.secrets } });
    if (!merged.success) invalid('invalid_body', 'The body', merged.error.issues.map((i) => ({ path: jsonPath(i.path), message: i.message })));
    checkDestinations(merged.data);
    const sealed = sealChannel(box(), principal.orgId, id, merged.data);
    const saved = await alerts.updateChannel(sealed.channel, actor);
    if (saved === null) throw new ApiError(404, 'not_found', `No channel with id '${id}'.`);
    changed(principal.orgId);
    return c.json(Object.keys(sealed.generated).length === 0 ? channelView(saved) : { ...channelView(saved), generated_secrets: sealed.generated });
  });

  routes.delete('/channels/:id', async (c) => {
    requireScope(c, 'admin');
    const id = c.req.param('id');
    checkPathId('channel', id);
    const { alerts, actor, principal } = c.get('tenant');
    if (!(await alerts.deleteChannel(id, actor))) throw new ApiError(404, 'not_found', `No channel with id '${id}'.`);
    changed(principal.orgId);
    return c.json({ id, deleted: true });
  });

  routes.post('/channels/:id/test', async (c) => {
    requireScope(c, 'admin');
    const id = c.req.param('id');
    checkPathId('channel', id);
    const { alerts, principal } = c.get('tenant');
    const channel: StoredChannel | null = await alerts.getChannel(id);
    if (channel === null) throw new ApiError(404, 'not_found', `No channel with id '${id}'.`);
    if (options.adapters === undefined || options.store === undefined) throw new ApiError(501, 'not_implemented', 'This server was started without channel adapters; channel tests are not available here.');
    // Calls through the logger, not copies of its methods: pino's methods need their logger as `this`
    // (spread into an object they threw, and every test of a channel that failed answered 500).
    const log = options.logger;
    const logger = {
      info: (obj: object, msg?: string) => log?.info(obj, msg),
      warn: (obj: object, msg?: string) => log?.warn?.(obj, msg),
      error: (obj: object, msg?: string) => log?.error(obj, msg),
    };
    const result = await testChannel({ store: options.store, secrets: box(), adapters: options.adapters, logger, ...(options.pacer === undefined ? {} : { pacer: options.pacer }) }, principal.orgId, channel);
    return c.json({ channel_id: id, channel_type: channel.type as ChannelType, delivered: result.outcome === 'delivered', outcome: result.outcome, status_code: result.status_code, response: result.response, error: result.error, latency_ms: result.latency_ms, delivery_id: result.delivery_id });
  });

  // Silences
  routes.get('/silences', async (c) => {
    requireScope(c, 'read', 'admin');
    const q = queryOf(c, silencesQuerySchema);
    const now = new Date();
    const silences = await c.get('tenant').alerts.listSilences({ includeExpired: q.include_expired === 'true', now });
    return c.json({ silences: silences.map((s) => silenceView(s, now)) });
  });

  routes.post('/silences', limit, async (c) => {
    requireScope(c, 'admin');
    const body = await readJson(c, silenceInputSchema);
    const now = new Date();
    const startsAt = body.starts_at === undefined ? now : new Date(body.starts_at);
    const endsAt = body.ends_at !== undefined ? new Date(body.ends_at) : new Date(startsAt.getTime() + durationMs(body.duration!));
    if (endsAt <= startsAt || endsAt <= now) invalid('invalid_body', 'The body', [{ path: '$.ends_at', message: 'must be after starts_at and in the future' }]);
    if (endsAt.getTime() - startsAt.getTime() > 366 * 86_400_000) invalid('invalid_body', 'The body', [{ path: '$.ends_at', message: 'a silence lasts at most 366 days' }]);
    const { alerts, actor } = c.get('tenant');
    const saved = await alerts.createSilence({ id: `sil_${randomUUID().slice(0, 12)}`, matchers: body.matchers, starts_at: startsAt, ends_at: endsAt, comment: body.comment }, actor);
    return c.json(silenceView(saved, now), 201);
  });

  routes.delete('/silences/:id', async (c) => {
    requireScope(c, 'admin');
    const id = c.req.param('id');
    checkPathId('silence', id);
    const { alerts, actor } = c.get('tenant');
    const now = new Date();
    const expired = await alerts.expireSilence(id, now, actor);
    if (expired === null) throw new ApiError(404, 'not_found', `No silence with id '${id}'.`);
    return c.json(silenceView(expired, now));
  });

  // Routing
  routes.get('/routing', async (c) => {
    requireScope(c, 'read', 'admin');
    const stored = await c.get('tenant').alerts.getRouting();
    if (stored === null) return c.json({ routing: DEFAULT_ROUTING, version: 0, updated_at: null });
    let routing: unknown = stored.document;
    try {
      routing = parseRouting(stored.document);
    } catch {
      // shown as stored when an earlier release saved what this one no longer reads
    }
    return c.json({ routing, version: stored.version, updated_at: stored.updated_at });
  });

  routes.put('/routing', limit, async (c) => {
    requireScope(c, 'admin');
    const routing = await readJson(c, routingSchema);
    await checkChannels(c, routing.routes.map((r, i) => ({ path: `$.routes[${i}].channels`, ids: r.channels })));
    const { alerts, actor, principal } = c.get('tenant');
    const saved = await alerts.putRouting(routing, actor);
    changed(principal.orgId);
    return c.json({ routing, version: saved.version, updated_at: saved.updated_at });
  });

  return routes;
}
