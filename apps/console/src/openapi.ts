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
import { z } from 'zod';

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
  ConsoleHealth: z.strictObject({ status: z.literal('ok') }),
  ConsoleReady: z.strictObject({ status: z.enum(['ready', 'unavailable']), checks: z.record(z.string(), z.boolean()) }),
} as const;

function components(): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(consoleResponseSchemas)) registry.add(schema, { id });
  registry.add(policySchema, { id: 'ConsolePolicy' });
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
  '401': error('No key, a malformed Authorization header, or an unknown, revoked or expired key (unauthorized).'),
  '403': error('The key lacks the scope the route needs (forbidden).'),
};

/** The OpenAPI 3.1 document of every route `createConsoleApp` serves. */
export function buildConsoleOpenApiDocument(options: { version?: string } = {}): Json {
  const security = [{ bearer: [] }];
  return {
    openapi: '3.1.0',
    info: { title: 'Metronis console API', version: options.version ?? '0.1.0', description: 'Read traces, verdicts and evaluations; read and change the organization policy. Every read is scoped by the organization of the API key.' },
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
      },
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
