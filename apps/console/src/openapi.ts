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
import { judgeComponents, judgePaths } from './openapi-judge.js';
import { analyticsSqlBodySchema, BUCKETS, GROUP_BY } from './analytics.js';
import { peoplePaths } from './openapi-people.js';

type Json = Record<string, unknown>;

const issue = z.strictObject({ path: z.string().describe('JSON path of the problem, e.g. $.modules.quality.config.max_chars'), message: z.string() });

const severity = z.enum(['none', 'low', 'medium', 'high', 'critical']);
const traceSummarySchema = z
  .strictObject({
    trace_id: z.string(),
    timestamp: z.string().describe('ISO 8601, when the call happened (as sent, or when received).'),
    received_at: z.string(),
    application: z.string().nullable(),
    environment: z.string().nullable(),
    model: z.strictObject({ provider: z.string().nullable(), name: z.string().nullable() }).nullable(),
    user_id: z.string().nullable(),
    session_id: z.string().nullable(),
    severity: severity.nullable().describe('Null (like passed, score and decided_by_tier) while the verdict has not arrived.'),
    passed: z.boolean().nullable(),
    score: z.number().nullable(),
    finding_kinds: z.array(z.string()),
    failed_modules: z.array(z.string()),
    decided_by_tier: z.number().int().nullable(),
    preview: z.strictObject({ input: z.string().describe('At most 200 characters.'), output: z.string().describe('At most 200 characters.') }),
  })
  .describe('A trace in a list: ids, time, app, model, verdict summary and a short preview; GET /v1/traces/{id} has the whole trace.');

const severityMixSchema = z.strictObject({ none: z.number().int(), low: z.number().int(), medium: z.number().int(), high: z.number().int(), critical: z.number().int() });
const percentilesSchema = z.strictObject({ p50: z.number().nullable(), p95: z.number().nullable(), total: z.number() });

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
  ConsoleTraceSummary: traceSummarySchema,
  ConsoleTracePage: z
    .strictObject({ items: z.array(traceSummarySchema), next_cursor: z.string().nullable().describe('Pass as cursor for the next page (same filters and order); null on the last page.') })
    .describe('One page of trace summaries.'),
  ConsoleSessionPage: z
    .strictObject({
      session_id: z.string(),
      items: z.array(traceSummarySchema).describe("The session's traces, oldest first."),
      next_cursor: z.string().nullable().describe('Pass as cursor for the next page; null on the last page.'),
    })
    .describe("One page of a session's traces."),
  ConsoleSessionList: z
    .strictObject({
      items: z.array(
        z.strictObject({
          session_id: z.string(),
          first_at: z.string().describe('ISO 8601: the time of its first trace (among those the filters keep).'),
          last_at: z.string().describe('ISO 8601: the time of its last trace.'),
          traces: z.number().int(),
          failed: z.number().int().describe('Traces whose verdict failed.'),
          pending: z.number().int().describe('Traces without a verdict yet.'),
          worst_severity: severity.nullable().describe('The worst severity of its verdicts; null before any verdict.'),
          applications: z.array(z.string()),
          user_ids: z.array(z.string()),
        }),
      ),
      next_cursor: z.string().nullable().describe('Pass as cursor for the next page (same filters); null on the last page.'),
    })
    .describe('One page of sessions, the most recently active first.'),
  ConsoleAnalyticsTraces: z
    .strictObject({
      from: z.string(),
      to: z.string(),
      bucket: z.enum(BUCKETS),
      group_by: z.enum(GROUP_BY).nullable(),
      items: z.array(
        z.strictObject({
          time: z.string().nullable().describe('Start of the bucket; null for bucket=none.'),
          group: z.record(z.string(), z.unknown()).nullable().describe('{ application } / { environment } / { model: { provider, name } }; null without group_by.'),
          traces: z.number().int(),
          evaluated: z.number().int().describe('Traces with an evaluation fact.'),
          failed: z.number().int().describe('Evaluated traces whose last tier failed them.'),
          failure_rate: z.number().nullable().describe('failed / evaluated; null when nothing was evaluated.'),
          severity: severityMixSchema,
        }),
      ),
    })
    .describe('Volume, failure rate and severity mix over time.'),
  ConsoleAnalyticsModules: z
    .strictObject({
      from: z.string(),
      to: z.string(),
      bucket: z.enum(BUCKETS),
      source: z.enum(['rollup', 'facts']).describe('rollup: the per-minute rollup (no trace filter given); facts: module result facts FINAL.'),
      items: z.array(
        z.strictObject({
          time: z.string().nullable(),
          module: z.string(),
          evaluations: z.number().int(),
          failed: z.number().int(),
          failure_rate: z.number().nullable(),
          severity: severityMixSchema.describe("The module's own severity."),
          latency_us: z.strictObject({ avg: z.number().nullable(), p50: z.number().nullable(), p90: z.number().nullable(), p99: z.number().nullable() }),
        }),
      ),
    })
    .describe('Per module over time.'),
  ConsoleAnalyticsFindingKinds: z
    .strictObject({
      from: z.string(),
      to: z.string(),
      bucket: z.enum(BUCKETS),
      items: z.array(z.strictObject({ time: z.string().nullable(), finding_kind: z.string(), traces: z.number().int(), results: z.number().int(), modules: z.array(z.string()) })),
    })
    .describe('The most frequent finding kinds, over the range or per bucket.'),
  ConsoleAnalyticsModels: z
    .strictObject({
      from: z.string(),
      to: z.string(),
      items: z.array(
        z.strictObject({
          model: z.strictObject({ provider: z.string().nullable(), name: z.string().nullable() }),
          traces: z.number().int(),
          latency_ms: z.strictObject({ p50: z.number().nullable(), p95: z.number().nullable(), p99: z.number().nullable() }),
          input_tokens: percentilesSchema,
          output_tokens: percentilesSchema,
          cost_usd: percentilesSchema,
        }),
      ),
    })
    .describe('Latency, tokens and cost by model.'),
  ConsoleAnalyticsSqlResult: z
    .strictObject({
      columns: z.array(z.strictObject({ name: z.string(), type: z.string().describe('The ClickHouse type.') })),
      rows: z.array(z.record(z.string(), z.unknown())).describe('ClickHouse JSON: 64-bit integers as numbers.'),
      statistics: z.strictObject({ elapsed_seconds: z.number(), rows_read: z.number(), bytes_read: z.number() }),
    })
    .describe('The answer to an analytics SQL query.'),
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
  for (const [id, schema] of Object.entries(judgeComponents)) registry.add(schema, { id });
  registry.add(analyticsSqlBodySchema, { id: 'ConsoleAnalyticsSql' });
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

/** The query parameters of GET /v1/traces (search.ts), every one optional. */
function traceFilterParams(options: { userId: boolean }): Json[] {
  const text = (name: string, description: string): Json => ({ name, in: 'query', schema: { type: 'string', minLength: 1, maxLength: 1000 }, description });
  const severities = ['none', 'low', 'medium', 'high', 'critical'];
  return [
    { name: 'from', in: 'query', schema: { type: 'string', format: 'date-time' }, description: 'Traces at or after this time (ISO 8601 with a zone).' },
    { name: 'to', in: 'query', schema: { type: 'string', format: 'date-time' }, description: 'Traces before this time; must be after from.' },
    text('application', 'Exactly this application.'),
    text('environment', 'Exactly this environment.'),
    text('model_provider', 'Exactly this model provider.'),
    text('model_name', 'Exactly this model name.'),
    ...(options.userId ? [text('user_id', 'Exactly this user_id.')] : []),
    text('session_id', 'Exactly this session_id.'),
    { name: 'tag', in: 'query', schema: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 1000 } }, style: 'form', explode: true, description: 'Repeatable: the trace has every tag given.' },
    { name: 'severity', in: 'query', schema: { type: 'string', enum: severities }, description: 'Exactly this verdict severity.' },
    { name: 'severity_at_least', in: 'query', schema: { type: 'string', enum: severities }, description: 'This verdict severity or worse.' },
    { name: 'passed', in: 'query', schema: { type: 'string', enum: ['true', 'false'] }, description: 'Whether the verdict passed the trace.' },
    text('failed_module', 'A module that failed the trace (e.g. pii).'),
    text('finding_kind', 'A finding kind of the verdict (e.g. pii.email).'),
    { name: 'decided_by_tier', in: 'query', schema: { type: 'integer', minimum: 0, maximum: 32767 }, description: 'The tier whose verdict stands.' },
    { name: 'q', in: 'query', schema: { type: 'string', minLength: 1, maxLength: 500 }, description: 'Full-text search over input and output: words (all must occur), "a phrase", -excluded, or.' },
    { name: 'sort', in: 'query', schema: { type: 'string', enum: ['time', 'severity'], default: 'time' } },
    { name: 'order', in: 'query', schema: { type: 'string', enum: ['desc', 'asc'], default: 'desc' } },
    ...pagingParams,
  ];
}
const pagingParams: Json[] = [
  { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } },
  { name: 'cursor', in: 'query', schema: { type: 'string', maxLength: 2048 }, description: 'next_cursor of the previous page, with the same filters and order.' },
];
const METADATA_FILTER = ' Also `metadata.<key>=<value>` (repeatable): the trace metadata holds each key with exactly that value.';
const queryErrors = { '400': error('A bad parameter: unknown, wrong type, given twice, a reversed time range, or a cursor of another query or organization (invalid_query, with issues naming $.query.<parameter>).') };

/** The analytics API and analytics SQL (analytics.ts). */
function analyticsPaths(security: Json[]): Json {
  const range: Json[] = [
    { name: 'from', in: 'query', schema: { type: 'string', format: 'date-time' }, description: 'Start (inclusive); default 24 hours before to.' },
    { name: 'to', in: 'query', schema: { type: 'string', format: 'date-time' }, description: 'End (exclusive); default now.' },
    ...['application', 'environment', 'model_provider', 'model_name'].map((name) => ({ name, in: 'query', schema: { type: 'string', minLength: 1, maxLength: 1000 }, description: `Only traces with this ${name}.` })),
  ];
  const bucket: Json = { name: 'bucket', in: 'query', schema: { type: 'string', enum: [...BUCKETS], default: 'hour' }, description: 'Time bucket; none for the whole range. At most 10,000 buckets.' };
  const module: Json = { name: 'module', in: 'query', schema: { type: 'string', minLength: 1, maxLength: 1000 } };
  const read = (operationId: string, summary: string, parameters: Json[], schema: string): Json => ({
    get: { operationId, summary: `${summary} (scope read or admin)`, security, parameters, responses: { '200': json(schema, 'The figures.'), ...queryErrors, ...authErrors, '501': error('The console runs without a facts store (not_implemented).') } },
  });
  return {
    '/v1/analytics/traces': read('analyticsTraces', 'Volume, failure rate and severity mix over time, by application, environment or model', [...range, bucket, { name: 'group_by', in: 'query', schema: { type: 'string', enum: [...GROUP_BY] } }], 'ConsoleAnalyticsTraces'),
    '/v1/analytics/modules': read('analyticsModules', 'Evaluations, failures, severity mix and latency per module over time', [...range, bucket, module], 'ConsoleAnalyticsModules'),
    '/v1/analytics/finding-kinds': read('analyticsFindingKinds', 'The most frequent finding kinds, over the range or per bucket', [...range, { ...bucket, schema: { type: 'string', enum: [...BUCKETS], default: 'none' } }, module, { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 20 }, description: 'Kinds per bucket.' }], 'ConsoleAnalyticsFindingKinds'),
    '/v1/analytics/models': read('analyticsModels', 'Latency, token and cost percentiles by model', range, 'ConsoleAnalyticsModels'),
    '/v1/analytics/sql': {
      post: {
        operationId: 'analyticsSql',
        summary: "Run the organization's own read-only SQL over its facts (scope read or admin); docs/analytics-sql.md lists the tables",
        security,
        requestBody: body('ConsoleAnalyticsSql'),
        responses: {
          '200': json('ConsoleAnalyticsSqlResult', 'The answer.'),
          '400': error('Malformed JSON or body (invalid_json, invalid_body), or SQL that does not parse, names something unknown, holds several statements, is not a query (a write, DDL, SET, KILL…) or has FORMAT / INTO OUTFILE (invalid_sql).'),
          '403': error('SETTINGS, a table function reaching files or servers, or anything else the read-only session refuses (sql_not_allowed); or a missing scope.'),
          '401': authErrors['401'],
          '413': error('The body is over 128 KiB (body_too_large).'),
          '415': error('Content-Type is not application/json (unsupported_media_type).'),
          '422': error('The query ran into a limit: rows or bytes read, result size, memory or time (query_limit_exceeded).'),
          '429': authErrors['429'],
          '501': error('No facts store, or analytics SQL not configured for the ClickHouse server (not_implemented).'),
        },
      },
    },
  };
}

/** Finding traces (search.ts). */
function searchPaths(security: Json[]): Json {
  return {
    '/v1/traces': {
      get: {
        operationId: 'searchTraces',
        summary: 'Find traces by filters and full text, newest first or by severity, paged by cursor (scope read or admin)',
        description: `Every filter given must match.${METADATA_FILTER}`,
        security,
        parameters: traceFilterParams({ userId: true }),
        responses: { '200': json('ConsoleTracePage', 'A page of summaries.'), ...queryErrors, ...authErrors },
      },
    },
    '/v1/sessions': {
      get: {
        operationId: 'listSessions',
        summary: 'Sessions, the most recently active first, with trace, failure and pending counts, paged by cursor (scope read or admin)',
        description: 'The filters choose the traces a session is made of (a session whose traces all fall outside them is not listed); failed=true keeps sessions with a failed trace, failed=false those without.',
        security,
        parameters: [
          { name: 'from', in: 'query', schema: { type: 'string', format: 'date-time' }, description: 'Traces at or after (inclusive).' },
          { name: 'to', in: 'query', schema: { type: 'string', format: 'date-time' }, description: 'Traces before (exclusive).' },
          ...['application', 'environment', 'user_id'].map((name) => ({ name, in: 'query', schema: { type: 'string', minLength: 1, maxLength: 1000 }, description: `Only traces with this ${name}.` })),
          { name: 'failed', in: 'query', schema: { type: 'string', enum: ['true', 'false'] }, description: 'Sessions with (true) or without (false) a failed trace.' },
          ...pagingParams,
        ],
        responses: { '200': json('ConsoleSessionList', 'A page of sessions.'), ...queryErrors, ...authErrors },
      },
    },
    '/v1/sessions/{id}': {
      get: {
        operationId: 'getSession',
        summary: "A session's traces in time order, paged by cursor (scope read or admin)",
        security,
        parameters: [idParam('id', 'The session_id the traces were sent with.'), ...pagingParams],
        responses: { '200': json('ConsoleSessionPage', 'A page of the session (empty when the organization has no such session).'), ...queryErrors, ...authErrors },
      },
    },
    '/v1/users/{id}/traces': {
      get: {
        operationId: 'getUserTraces',
        summary: "A user's traces, with the filters of GET /v1/traces (scope read or admin)",
        description: `Every filter of GET /v1/traces except user_id.${METADATA_FILTER}`,
        security,
        parameters: [idParam('id', 'The user_id the traces were sent with.'), ...traceFilterParams({ userId: false })],
        responses: { '200': json('ConsoleTracePage', 'A page of summaries.'), ...queryErrors, ...authErrors },
      },
    },
  };
}

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
      ...searchPaths(security),
      ...analyticsPaths(security),
      ...tenancyPaths(security),
      ...alertPaths({ security, json, error, body, bodyErrors, authErrors }),
      ...judgePaths({ security, json, error, body, bodyErrors, authErrors }),
      ...peoplePaths(security),
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
        get: {
          operationId: 'consoleUi',
          summary: 'The console UI (its pages and files are served for every other GET path too)',
          security: [],
          responses: { '200': { description: 'The UI (text/html).', content: { 'text/html': { schema: { type: 'string' } } } }, '501': error('The UI was not built (not_implemented): run npm run build.') },
        },
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
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <API key>' },
        session: { type: 'apiKey', in: 'cookie', name: 'metronis_session', description: 'A console session (POST /auth/sign-in); every /v1 route accepts it, and changes made with it need X-CSRF-Token.' },
      },
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
