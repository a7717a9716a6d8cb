/**
 * The console's OpenAPI 3.1 document: every route `createConsoleApp` serves, served by it at
 * `GET /openapi.json`. In embedded mode one server answers for the gateway and the console, and its
 * `/openapi.json` is both documents merged (`mergeOpenApiDocuments`), so a client — or the HTTP fuzz
 * suite, which fails when a served route is missing here — sees one API.
 *
 * Component names start with `Console` so they never collide with the gateway's.
 *
 * @example
 *   const doc = buildConsoleOpenApiDocument();
 *   const embedded = mergeOpenApiDocuments(gatewayDoc, doc);
 */
import { policySchema } from '@metronis/evaluators';
import { orgRateLimitsSchema } from '@metronis/ingest-gateway';
import { AUDIT_ACTIONS } from '@metronis/stores';
import { z } from 'zod';
import { createKeySchema, createOrgSchema, retentionSchema } from './admin.js';
import { alertComponents, alertPaths } from './openapi-alerts.js';

type Json = Record<string, unknown>;

const issue = z.strictObject({ path: z.string().describe('JSON path of the problem, e.g. $.modules.quality.config.max_chars'), message: z.string() });

/** Zod schemas of what the console answers, by component name. */
export const consoleResponseSchemas = {
  ConsoleError: z
    .strictObject({
      error: z.strictObject({ code: z.string(), message: z.string(), issues: z.array(issue).optional(), request_id: z.string() }),
    })
    .describe('Every error answer of the console.'),
  ConsoleTraceView: z
    .strictObject({
      trace: z.record(z.string(), z.unknown()).describe('The trace as sent (public JSON view), with received_at.'),
      verdict: z.record(z.string(), z.unknown()).nullable().describe('Null until a verdict is stored.'),
      evaluations: z.array(z.record(z.string(), z.unknown())).describe('Tier results, by tier; empty until evaluated.'),
    })
    .describe('A trace with its verdict and evaluations.'),
  ConsolePolicyView: z
    .strictObject({
      policy: z.record(z.string(), z.unknown()).describe('The policy in effect, every default filled in.'),
      version: z.number().int().nonnegative().describe('0 while the organization never saved one.'),
      updated_at: z.string().nullable(),
    })
    .describe('The organization policy in effect.'),
  ConsoleOrganization: z
    .strictObject({
      id: z.string(),
      name: z.string(),
      created_at: z.string(),
      retention_days: z.number().int(),
      rate_limits: z.record(z.string(), z.number()).nullable().describe("The org's own limits; null for the deployment's defaults."),
      operator: z.boolean().describe('Admin keys of an operator organization may create organizations.'),
    })
    .describe('An organization.'),
  ConsoleApiKey: z
    .strictObject({
      id: z.string(),
      name: z.string(),
      prefix: z.string().describe('The first 12 characters of the key, to recognise it.'),
      scopes: z.array(z.enum(['ingest', 'read', 'admin'])),
      created_at: z.string(),
      created_by: z.string().nullable(),
      expires_at: z.string().nullable(),
      revoked_at: z.string().nullable(),
    })
    .describe('An API key as listed: never the key itself.'),
  ConsoleAuditPage: z
    .strictObject({
      entries: z.array(
        z.strictObject({
          id: z.number().int(),
          org_id: z.string(),
          at: z.string(),
          actor: z.string().describe('The key id that acted, or cli.'),
          action: z.enum(AUDIT_ACTIONS),
          target: z.string(),
          request_id: z.string().nullable(),
          details: z.record(z.string(), z.unknown()),
        }),
      ),
      next_cursor: z.string().nullable().describe('Pass as cursor for the next (older) page; null on the last page.'),
    })
    .describe('Audit entries, newest first.'),
  ConsoleDeletion: z
    .looseObject({
      deleted: z.strictObject({
        postgres: z.strictObject({ traces: z.number().int(), verdicts: z.number().int(), evaluations: z.number().int() }),
        clickhouse: z.strictObject({ trace_facts: z.number().int(), evaluation_facts: z.number().int(), module_result_facts: z.number().int() }).nullable(),
      }),
    })
    .describe('What a deletion removed, by store.'),
  ConsoleComplianceReport: z.looseObject({ organization: z.looseObject({}), generated_at: z.string(), retention: z.looseObject({}), stored: z.looseObject({}), deletions: z.looseObject({}) }),
  ConsoleHealth: z.strictObject({ status: z.literal('ok') }),
  ConsoleReady: z.strictObject({ status: z.enum(['ready', 'unavailable']), checks: z.record(z.string(), z.boolean()) }),
} as const;

function components(): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(consoleResponseSchemas)) registry.add(schema, { id });
  registry.add(policySchema, { id: 'ConsolePolicy' });
  registry.add(createKeySchema, { id: 'ConsoleCreateKey' });
  registry.add(createOrgSchema, { id: 'ConsoleCreateOrganization' });
  registry.add(retentionSchema, { id: 'ConsoleRetention' });
  registry.add(orgRateLimitsSchema, { id: 'ConsoleRateLimits' });
  for (const [id, schema] of Object.entries(alertComponents)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, { uri: (id) => `#/components/schemas/${id}`, io: 'input', unrepresentable: 'any' });
  const out: Record<string, Json> = {};
  for (const [id, schema] of Object.entries(schemas)) {
    const { $schema: _dialect, $id: _id, ...rest } = schema as Json;
    out[id] = rest;
  }
  return out;
}

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const requestIdHeader = { 'X-Request-Id': { $ref: '#/components/headers/X-Request-Id' } };
const json = (name: string, description: string): Json => ({ description, headers: requestIdHeader, content: { 'application/json': { schema: ref(name) } } });
const error = (description: string): Json => json('ConsoleError', description);
const authErrors = {
  '401': error('No key (missing_api_key), a malformed header (malformed_api_key), an unknown (invalid_api_key), expired (expired_api_key) or revoked (revoked_api_key) key.'),
  '403': error('The key lacks the scope the route needs (insufficient_scope).'),
  '429': error('Over the organization rate limit (rate_limited); Retry-After says when to try again.'),
};
const body = (name: string): Json => ({ required: true, content: { 'application/json': { schema: ref(name) } } });
const bodyErrors = {
  '400': error('Malformed JSON (invalid_json) or an invalid body (invalid_body, with issues naming each path).'),
  '413': error('The body is over the size limit (body_too_large).'),
  '415': error('Content-Type is not application/json (unsupported_media_type).'),
};
const idParam = (name: string, description: string): Json => ({ name, in: 'path', required: true, schema: { type: 'string', minLength: 1, maxLength: 1000 }, description });
const keyCreated: Json = {
  description: 'Created. `key` is the API key itself, shown in this answer only.',
  headers: requestIdHeader,
  content: { 'application/json': { schema: { allOf: [ref('ConsoleApiKey')], type: 'object', properties: { key: { type: 'string' } }, required: ['key'] } } },
};

/** The admin, deletion and compliance routes (admin.ts, data.ts). */
function tenancyPaths(security: Json[]): Json {
  const org = (summary: string, operationId: string, request?: string): Json => ({
    operationId,
    summary,
    security,
    ...(request === undefined ? {} : { requestBody: body(request) }),
    responses: { '200': json('ConsoleOrganization', 'The organization.'), ...(request === undefined ? {} : bodyErrors), ...authErrors, '404': error('The organization has no record (not_found).') },
  });
  return {
    '/v1/orgs': {
      post: {
        operationId: 'createOrganization',
        summary: 'Create an organization and its first admin key (admin key of an operator organization)',
        security,
        requestBody: body('ConsoleCreateOrganization'),
        responses: {
          '201': {
            description: 'Created, with the first admin key (shown in this answer only).',
            headers: requestIdHeader,
            content: { 'application/json': { schema: { type: 'object', properties: { organization: ref('ConsoleOrganization'), api_key: { type: 'object' } }, required: ['organization', 'api_key'] } } },
          },
          ...bodyErrors,
          ...authErrors,
          '409': error('The id is taken (conflict).'),
        },
      },
    },
    '/v1/org': { get: org('This organization: retention and rate limits (scope read or admin)', 'getOrganization') },
    '/v1/org/retention': { put: org('Set the retention in days, applied to stored facts at once (scope admin)', 'setRetention', 'ConsoleRetention') },
    '/v1/org/rate-limits': {
      put: org('Set the organization rate limits (scope admin)', 'setRateLimits', 'ConsoleRateLimits'),
      delete: org("Back to the deployment's default rate limits (scope admin)", 'resetRateLimits'),
    },
    '/v1/keys': {
      get: {
        operationId: 'listKeys',
        summary: 'The API keys of the organization (scope admin)',
        security,
        responses: {
          '200': { description: 'The keys.', headers: requestIdHeader, content: { 'application/json': { schema: { type: 'object', properties: { keys: { type: 'array', items: ref('ConsoleApiKey') } } } } } },
          ...authErrors,
        },
      },
      post: { operationId: 'createKey', summary: 'Create an API key (scope admin)', security, requestBody: body('ConsoleCreateKey'), responses: { '201': keyCreated, ...bodyErrors, ...authErrors } },
    },
    '/v1/keys/{id}': {
      delete: {
        operationId: 'revokeKey',
        summary: 'Revoke an API key: refused here at once, everywhere within seconds (scope admin)',
        security,
        parameters: [idParam('id', 'The key id.')],
        responses: { '200': json('ConsoleApiKey', 'Revoked (or already revoked).'), ...authErrors, '404': error('No key with this id in the organization (not_found).') },
      },
    },
    '/v1/audit': {
      get: {
        operationId: 'listAudit',
        summary: 'The audit log of admin actions, newest first (scope admin)',
        security,
        parameters: [
          { name: 'action', in: 'query', schema: { type: 'string', enum: [...AUDIT_ACTIONS] } },
          { name: 'actor', in: 'query', schema: { type: 'string', minLength: 1, maxLength: 200 } },
          { name: 'target', in: 'query', schema: { type: 'string', minLength: 1, maxLength: 1000 } },
          { name: 'since', in: 'query', schema: { type: 'string', format: 'date-time' } },
          { name: 'until', in: 'query', schema: { type: 'string', format: 'date-time' } },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
          { name: 'cursor', in: 'query', schema: { type: 'integer', minimum: 1 }, description: 'next_cursor of the previous page.' },
        ],
        responses: { '200': json('ConsoleAuditPage', 'Entries.'), '400': error('A bad filter (invalid_query, with issues).'), ...authErrors },
      },
    },
    '/v1/users/{user_id}/data': {
      delete: {
        operationId: 'deleteUserData',
        summary: "Delete everything of a user_id from Postgres and ClickHouse: a data-subject request (scope admin)",
        description: 'Leaves a tombstone of the user id: traces of this user received before the deletion, and their verdicts and evaluations, never appear, even those still on their way. Traces the user sends afterwards are new data.',
        security,
        parameters: [idParam('user_id', 'The user_id the traces were sent with.')],
        responses: {
          '200': json('ConsoleDeletion', 'Deleted (counts may be zero); recorded and audited.'),
          '400': error('An id the stores cannot hold (invalid_id).'),
          ...authErrors,
          '503': error('Postgres was done but the facts store failed (facts_unavailable); send the same request again.'),
        },
      },
    },
    '/v1/compliance/report': {
      get: {
        operationId: 'complianceReport',
        summary: 'What is stored for the organization and where, its retention, PII masking and the deletions done (scope admin)',
        security,
        responses: { '200': json('ConsoleComplianceReport', 'The report.'), ...authErrors },
      },
    },
  };
}

/** The OpenAPI 3.1 document of every route `createConsoleApp` serves. */
export function buildConsoleOpenApiDocument(options: { version?: string } = {}): Json {
  const security = [{ bearer: [] }];
  return {
    openapi: '3.1.0',
    info: { title: 'Metronis console API', version: options.version ?? '0.1.0', description: 'Read traces, verdicts and evaluations; the organization policy, keys, retention, rate limits, audit log, deletion and compliance report. Everything is scoped by the organization of the API key.' },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths: {
      '/v1/traces/{id}': {
        get: {
          operationId: 'getTrace',
          summary: 'A trace with its verdict and evaluations (scope read or admin)',
          security,
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'The trace id.' }],
          responses: {
            '200': json('ConsoleTraceView', 'The trace.'),
            ...authErrors,
            '404': error('No trace with this id in the organization of the key (not_found).'),
          },
        },
        delete: {
          operationId: 'deleteTrace',
          summary: 'Delete a trace, its verdict, evaluations and facts from Postgres and ClickHouse (scope admin)',
          description:
            'Leaves a tombstone of the id: whatever this organization sent under it before the deletion never appears, even a trace still on its way (accepted, not yet stored). Another organization\'s trace with the same id is untouched.',
          security,
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'The trace id.' }],
          responses: {
            '200': json('ConsoleDeletion', 'Deleted; recorded and audited.'),
            '202': json('ConsoleDeletion', 'Nothing was stored under this id yet (counts are zero): the trace may still be on its way, and will not appear; recorded and audited.'),
            '400': error('An id the stores cannot hold (invalid_id).'),
            ...authErrors,
            '503': error('Postgres was done but the facts store failed (facts_unavailable); send the same request again.'),
          },
        },
      },
      ...tenancyPaths(security),
      ...alertPaths({ security, json, error, body, bodyErrors, authErrors }),
      '/v1/policy': {
        get: {
          operationId: 'getPolicy',
          summary: 'The organization policy in effect (scope read or admin)',
          security,
          responses: { '200': json('ConsolePolicyView', 'The policy.'), ...authErrors, '500': error('The stored policy no longer validates (stored_policy_invalid).') },
        },
        put: {
          operationId: 'putPolicy',
          summary: 'Save the organization policy (scope admin)',
          security,
          requestBody: { required: true, content: { 'application/json': { schema: ref('ConsolePolicy') } } },
          responses: {
            '200': json('ConsolePolicyView', 'Saved; the policy in effect with its new version.'),
            '400': error('Malformed JSON (invalid_json) or an invalid policy (invalid_policy, with issues naming each path).'),
            ...authErrors,
            '413': error('The document is over the size limit (body_too_large).'),
            '415': error('Content-Type is not application/json (unsupported_media_type).'),
          },
        },
      },
      '/': {
        get: { operationId: 'consoleUi', summary: 'The console UI (not built yet)', security: [], responses: { '501': error('Not built yet (not_implemented).') } },
      },
      '/healthz': {
        get: { operationId: 'health', summary: 'Liveness', security: [], responses: { '200': json('ConsoleHealth', 'Alive.') } },
      },
      '/readyz': {
        get: {
          operationId: 'ready',
          summary: 'Readiness: 200 when every dependency check passes',
          security: [],
          responses: { '200': json('ConsoleReady', 'Every check passed.'), '503': json('ConsoleReady', 'Some check failed; `checks` says which.') },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'openapi',
          summary: 'This document',
          security: [],
          responses: { '200': { description: 'The OpenAPI 3.1 document.', content: { 'application/json': { schema: { type: 'object' } } } } },
        },
      },
    },
    components: {
      schemas: components(),
      headers: {
        'X-Request-Id': {
          description: 'The request id: the one sent (1-128 of A-Z a-z 0-9 . _ : -) or a generated one. It names the request in the log.',
          schema: { type: 'string' },
        },
      },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <API key>' } },
    },
  };
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * One document of two APIs served together. Operations of `second` win on the same path and method
 * (in embedded mode the console answers /healthz and /readyz); components are united, and a name
 * both define differently is an error, so one API never silently changes the other's shapes.
 */
export function mergeOpenApiDocuments(first: Json, second: Json, info?: Json): Json {
  const paths: Json = {};
  for (const doc of [first, second]) {
    for (const [path, item] of Object.entries((doc.paths ?? {}) as Json)) paths[path] = { ...(isObject(paths[path]) ? paths[path] : {}), ...(item as Json) };
  }
  const components: Record<string, Json> = {};
  for (const doc of [first, second]) {
    for (const [kind, entries] of Object.entries((doc.components ?? {}) as Record<string, Json>)) {
      const into = (components[kind] ??= {});
      for (const [name, value] of Object.entries(entries)) {
        if (name in into && JSON.stringify(into[name]) !== JSON.stringify(value) && kind !== 'headers') {
          throw new Error(`mergeOpenApiDocuments: components.${kind}.${name} is defined differently by the two documents`);
        }
        into[name] = value;
      }
    }
  }
  return { ...first, ...(info === undefined ? {} : { info: { ...(first.info as Json), ...info } }), paths, components };
}
