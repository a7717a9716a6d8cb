/**
 * The alerts routes (alerts.ts) in the console's OpenAPI document: their request schemas come from
 * the topology's zod documents, the answers are described here. openapi.ts registers the components
 * and merges the paths.
 */
import { channelInputSchema, routingSchema, ruleInputSchema, silenceInputSchema } from '@metronis/topology-alerts';
import { z } from 'zod';
import { channelUpdateSchema } from './alerts.js';

type Json = Record<string, unknown>;

const anyObject = z.record(z.string(), z.unknown());
const attempt = z.strictObject({
  attempt: z.number().int(),
  at: z.string(),
  outcome: z.enum(['delivered', 'retry', 'failed', 'abandoned']),
  status_code: z.number().int().nullable().describe('HTTP status, or SMTP reply code'),
  response: z.string().nullable().describe("The far end's answer, trimmed."),
  error: z.string().nullable(),
  latency_ms: z.number(),
});

/** Components of the alerts API, by name. */
export const alertComponents = {
  ConsoleAlertRuleInput: ruleInputSchema,
  ConsoleAlertChannelInput: channelInputSchema,
  ConsoleAlertChannelUpdate: channelUpdateSchema,
  ConsoleAlertSilenceInput: silenceInputSchema,
  ConsoleAlertRouting: routingSchema,
  ConsoleAlertRule: z.strictObject({ id: z.string(), rule: anyObject, version: z.number().int(), created_at: z.string(), updated_at: z.string() }).describe('A rule as saved, with its version.'),
  ConsoleAlertChannel: z
    .strictObject({
      id: z.string(),
      name: z.string(),
      type: z.enum(['pagerduty', 'slack', 'webhook', 'email']),
      settings: anyObject,
      secrets_set: z.array(z.string()).describe('Names of the secrets that are set; secrets are never returned.'),
      enabled: z.boolean(),
      disabled_at: z.string().nullable(),
      disabled_reason: z.string().nullable().describe('Why it is disabled, e.g. the webhook endpoint answered 410 Gone.'),
      version: z.number().int(),
      created_at: z.string(),
      updated_at: z.string(),
      generated_secrets: z.record(z.string(), z.string()).optional().describe('Secrets generated for the channel (a webhook signing secret), in the answer that created them only.'),
    })
    .describe('A notification channel, without its secrets.'),
  ConsoleAlertSilence: z
    .strictObject({ id: z.string(), matchers: z.array(anyObject), starts_at: z.string(), ends_at: z.string(), comment: z.string(), created_by: z.string(), created_at: z.string(), state: z.enum(['active', 'pending', 'expired']) })
    .describe('A silence.'),
  ConsoleAlertPage: z
    .strictObject({
      alerts: z.array(
        z.strictObject({
          id: z.string(),
          org_id: z.string(),
          fingerprint: z.string(),
          rule_id: z.string(),
          kind: z.string(),
          severity: z.string(),
          labels: z.record(z.string(), z.string()),
          annotations: z.record(z.string(), z.string()),
          status: z.enum(['firing', 'resolved']),
          starts_at: z.string(),
          ends_at: z.string(),
          last_seen_at: z.string(),
          resolved_at: z.string().nullable(),
          occurrences: z.number().int(),
          trace_ids: z.array(z.string()).describe('The latest matched traces (up to 20).'),
          value: z.number().nullable(),
          threshold: z.number().nullable(),
          volume: z.number().nullable(),
        }),
      ),
      next_cursor: z.string().nullable(),
    })
    .describe('Alerts, newest first.'),
  ConsoleDeliveryPage: z
    .strictObject({
      deliveries: z.array(
        z.looseObject({
          id: z.number().int(),
          notification_id: z.string(),
          group_key: z.string().nullable(),
          channel_id: z.string(),
          channel_type: z.string(),
          kind: z.enum(['trigger', 'resolve', 'test']),
          dedup_key: z.string(),
          status: z.enum(['pending', 'sending', 'retrying', 'delivered', 'failed', 'abandoned']),
          attempts: z.array(attempt),
          alert_fingerprints: z.array(z.string()).describe('The fingerprints of the alerts this notification carried (as in GET /v1/alerts); empty for a channel test.'),
          created_at: z.string(),
          delivered_at: z.string().nullable(),
          last_error: z.string().nullable(),
        }),
      ),
      next_cursor: z.string().nullable(),
    })
    .describe('Deliveries, newest first, each with its attempts.'),
  ConsoleChannelTest: z
    .strictObject({
      channel_id: z.string(),
      channel_type: z.string(),
      delivered: z.boolean(),
      outcome: z.enum(['delivered', 'retry', 'failed', 'abandoned']),
      status_code: z.number().int().nullable(),
      response: z.string().nullable(),
      error: z.string().nullable(),
      latency_ms: z.number(),
      delivery_id: z.number().int(),
    })
    .describe('What the far end answered to a test notification.'),
} as const;

export interface OpenApiHelpers {
  security: Json[];
  json(name: string, description: string): Json;
  error(description: string): Json;
  body(name: string): Json;
  bodyErrors: Json;
  authErrors: Json;
}

export function alertPaths(h: OpenApiHelpers): Json {
  const { security, json, error, body, bodyErrors, authErrors } = h;
  const id = (what: string): Json => ({ name: 'id', in: 'path', required: true, schema: { type: 'string', minLength: 1, maxLength: 100 }, description: `The ${what} id.` });
  const notFound = (what: string) => ({ '404': error(`No ${what} with this id in the organization (not_found).`) });
  const deleted = (what: string): Json => ({ description: `Deleted (${what}).`, content: { 'application/json': { schema: { type: 'object', properties: { id: { type: 'string' }, deleted: { const: true } }, required: ['id', 'deleted'] } } } });
  const list = (key: string, item: string): Json => ({ description: 'The list.', content: { 'application/json': { schema: { type: 'object', properties: { [key]: { type: 'array', items: { $ref: `#/components/schemas/${item}` } } }, required: [key] } } } });
  const query = (name: string, schema: Json, description?: string): Json => ({ name, in: 'query', schema, ...(description ? { description } : {}) });
  const timeRange = [query('since', { type: 'string', format: 'date-time' }), query('until', { type: 'string', format: 'date-time' }), query('limit', { type: 'integer', minimum: 1, maximum: 1000, default: 100 })];
  const secretsMissing = { '503': error('No secrets key on this server (secrets_unavailable): set METRONIS_SECRETS_KEY.') };
  const destinationErrors = {
    '400': error(
      'Malformed JSON (invalid_json), an invalid body (invalid_body), or a destination inside the deployment\'s network (destination_refused: a URL or SMTP host on a loopback, private, link-local or metadata address; the operator allows some with METRONIS_EGRESS_ALLOW). Issues name each path.',
    ),
  };
  return {
    '/v1/alerts': {
      get: {
        operationId: 'listAlerts',
        summary: 'Alerts, newest first: were we paged, and when (scope read or admin)',
        security,
        parameters: [query('status', { type: 'string', enum: ['firing', 'resolved'] }), query('rule', { type: 'string', minLength: 1, maxLength: 200 }, 'A rule id.'), ...timeRange, query('cursor', { type: 'string', minLength: 1, maxLength: 200 }, 'next_cursor of the previous page.')],
        responses: { '200': json('ConsoleAlertPage', 'Alerts.'), '400': error('A bad filter (invalid_query).'), ...authErrors },
      },
    },
    '/v1/alerts/deliveries': {
      get: {
        operationId: 'listAlertDeliveries',
        summary: 'Notifications sent or being sent, with every attempt: channel, status, far-end answer, latency (scope read or admin)',
        security,
        parameters: [
          query('channel', { type: 'string', minLength: 1, maxLength: 200 }),
          query('status', { type: 'string', enum: ['pending', 'sending', 'retrying', 'delivered', 'failed', 'abandoned'] }),
          ...timeRange,
          query('cursor', { type: 'integer', minimum: 1 }, 'next_cursor of the previous page.'),
        ],
        responses: { '200': json('ConsoleDeliveryPage', 'Deliveries.'), '400': error('A bad filter (invalid_query).'), ...authErrors },
      },
    },
    '/v1/alerts/rules': {
      get: { operationId: 'listAlertRules', summary: 'Alert rules (scope read or admin)', security, responses: { '200': list('rules', 'ConsoleAlertRule'), ...authErrors } },
      post: {
        operationId: 'createAlertRule',
        summary: 'Create a per-event or aggregate rule (scope admin)',
        security,
        requestBody: body('ConsoleAlertRuleInput'),
        responses: { '201': json('ConsoleAlertRule', 'Created.'), ...bodyErrors, ...authErrors, '409': error('The id is taken (conflict).') },
      },
    },
    '/v1/alerts/rules/{id}': {
      get: { operationId: 'getAlertRule', summary: 'An alert rule (scope read or admin)', security, parameters: [id('rule')], responses: { '200': json('ConsoleAlertRule', 'The rule.'), ...authErrors, ...notFound('rule') } },
      put: { operationId: 'replaceAlertRule', summary: 'Replace a rule; applied within seconds (scope admin)', security, parameters: [id('rule')], requestBody: body('ConsoleAlertRuleInput'), responses: { '200': json('ConsoleAlertRule', 'Saved, with its new version.'), ...bodyErrors, ...authErrors, ...notFound('rule') } },
      delete: { operationId: 'deleteAlertRule', summary: 'Delete a rule and its aggregate state (scope admin)', security, parameters: [id('rule')], responses: { '200': deleted('rule'), ...authErrors, ...notFound('rule') } },
    },
    '/v1/alerts/channels': {
      get: { operationId: 'listAlertChannels', summary: 'Notification channels, without secrets (scope read or admin)', security, responses: { '200': list('channels', 'ConsoleAlertChannel'), ...authErrors } },
      post: {
        operationId: 'createAlertChannel',
        summary: 'Create a PagerDuty, Slack, email or webhook channel; secrets are encrypted and never returned (scope admin)',
        security,
        requestBody: body('ConsoleAlertChannelInput'),
        responses: { '201': json('ConsoleAlertChannel', 'Created.'), ...bodyErrors, ...destinationErrors, ...authErrors, '409': error('The id is taken (conflict).'), ...secretsMissing },
      },
    },
    '/v1/alerts/channels/{id}': {
      get: { operationId: 'getAlertChannel', summary: 'A channel, without secrets (scope read or admin)', security, parameters: [id('channel')], responses: { '200': json('ConsoleAlertChannel', 'The channel.'), ...authErrors, ...notFound('channel') } },
      put: {
        operationId: 'replaceAlertChannel',
        summary: 'Replace a channel; secrets left out keep their values (scope admin)',
        security,
        parameters: [id('channel')],
        requestBody: body('ConsoleAlertChannelUpdate'),
        responses: { '200': json('ConsoleAlertChannel', 'Saved.'), ...bodyErrors, ...destinationErrors, ...authErrors, ...notFound('channel'), ...secretsMissing },
      },
      delete: { operationId: 'deleteAlertChannel', summary: 'Delete a channel; its pending deliveries are abandoned (scope admin)', security, parameters: [id('channel')], responses: { '200': deleted('channel'), ...authErrors, ...notFound('channel') } },
    },
    '/v1/alerts/channels/{id}/test': {
      post: {
        operationId: 'testAlertChannel',
        summary: 'Send a test notification now and answer what the far end said (scope admin)',
        security,
        parameters: [id('channel')],
        responses: { '200': json('ConsoleChannelTest', 'Sent (or not): the far end answer.'), ...authErrors, ...notFound('channel'), '501': error('No channel adapters on this server (not_implemented).'), ...secretsMissing },
      },
    },
    '/v1/alerts/silences': {
      get: {
        operationId: 'listAlertSilences',
        summary: 'Silences, active and pending (and expired with include_expired=true) (scope read or admin)',
        security,
        parameters: [query('include_expired', { type: 'string', enum: ['true', 'false'] })],
        responses: { '200': list('silences', 'ConsoleAlertSilence'), '400': error('A bad filter (invalid_query).'), ...authErrors },
      },
      post: { operationId: 'createAlertSilence', summary: 'Silence alerts matching every matcher until ends_at (scope admin)', security, requestBody: body('ConsoleAlertSilenceInput'), responses: { '201': json('ConsoleAlertSilence', 'Created.'), ...bodyErrors, ...authErrors } },
    },
    '/v1/alerts/silences/{id}': {
      delete: { operationId: 'expireAlertSilence', summary: 'Expire a silence now (kept in the history) (scope admin)', security, parameters: [id('silence')], responses: { '200': json('ConsoleAlertSilence', 'Expired.'), ...authErrors, ...notFound('silence') } },
    },
    '/v1/alerts/routing': {
      get: {
        operationId: 'getAlertRouting',
        summary: 'Routes, grouping defaults and inhibition rules (scope read or admin)',
        security,
        responses: { '200': { description: 'The routing in effect (version 0: the default).', content: { 'application/json': { schema: { type: 'object', properties: { routing: { $ref: '#/components/schemas/ConsoleAlertRouting' }, version: { type: 'integer' }, updated_at: { type: ['string', 'null'] } } } } } }, ...authErrors },
      },
      put: {
        operationId: 'putAlertRouting',
        summary: 'Save the routing document (scope admin)',
        security,
        requestBody: body('ConsoleAlertRouting'),
        responses: { '200': { description: 'Saved, with its version.', content: { 'application/json': { schema: { type: 'object' } } } }, ...bodyErrors, ...authErrors },
      },
    },
  };
}
