/**
 * The console's read API. Every read is scoped by the organization of the presented API key: a trace
 * id of another organization answers 404, exactly like an id that does not exist.
 *
 * - `GET /v1/traces/:id`: `{ trace, verdict, evaluations }`: the trace (public view), its verdict
 *   (null until one is stored) and its tier results (TierResult JSON, by tier; empty until evaluated).
 * - `GET /v1/policy`, `PUT /v1/policy`: the organization's evaluation policy (see `policy.ts`).
 * - `GET /openapi.json`: the OpenAPI document of these routes (openapi.ts).
 *
 * Every /v1 route needs a key with the `read` or `admin` scope; changing the policy needs `admin`.
 *
 * @example
 *   const app = createConsoleApp({ store, authenticate, ready: async () => ({ postgres: true }) });
 *   serve({ fetch: app.fetch, port: 7071 });
 */
import { randomUUID } from 'node:crypto';
import { toPublicView } from '@metronis/schemas';
import type { RelationalStore } from '@metronis/stores';
import { Hono } from 'hono';
import { ApiError, errorBody, type ConsoleEnv, type Principal } from './http.js';
import { buildConsoleOpenApiDocument } from './openapi.js';
import { createPolicyRoutes } from './policy.js';

export type { Principal } from './http.js';

export interface ConsoleLogger {
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ConsoleDeps {
  store: Pick<RelationalStore, 'getTrace' | 'getVerdict' | 'getEvaluations' | 'getPolicy' | 'putPolicy'>;
  authenticate(token: string): Promise<Principal | null>;
  /** Named readiness checks; /readyz is 200 when all are true. */
  ready(): Promise<Record<string, boolean>>;
  logger?: ConsoleLogger;
  /** Largest accepted policy document in bytes. Default 64 KiB. */
  maxPolicyBytes?: number;
  /** Called after `PUT /v1/policy` saved an org's policy (to invalidate policy caches in this process). */
  onPolicyChanged?: (orgId: string) => void;
  /** What `GET /openapi.json` serves. Default the console's own document (openapi.ts); embedded mode passes the merged one. */
  openApiDocument?: object;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function createConsoleApp(deps: ConsoleDeps): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>();

  app.use(async function requestId(c, next) {
    const incoming = c.req.header('x-request-id');
    const id = incoming !== undefined && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    c.set('requestId', id);
    c.header('X-Request-Id', id);
    const started = performance.now();
    await next();
    // One line per request, as the gateway writes, so an error answer's request id is in the log too
    // (a 5xx from a thrown error is logged with the error by onError).
    if (c.res.status < 500 || c.error === undefined) {
      const line = { request_id: id, method: c.req.method, path: c.req.path, status: c.res.status, latency_ms: Math.round((performance.now() - started) * 1000) / 1000, org_id: c.get('principal')?.orgId };
      deps.logger?.info(line, 'request');
    }
  });

  const openApiJson = JSON.stringify(deps.openApiDocument ?? buildConsoleOpenApiDocument());
  app.get('/openapi.json', (c) => c.body(openApiJson, 200, { 'Content-Type': 'application/json; charset=utf-8' }));
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const checks = await deps.ready();
    const ok = Object.values(checks).every(Boolean);
    return c.json({ status: ok ? 'ready' : 'unavailable', checks }, ok ? 200 : 503);
  });

  app.use('/v1/*', async function authenticate(c, next) {
    const header = c.req.header('authorization');
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match === null) {
      throw new ApiError(401, 'unauthorized', header === undefined ? 'Missing API key: send Authorization: Bearer <key>.' : 'Malformed Authorization header: expected Bearer <key>.', { headers: { 'WWW-Authenticate': 'Bearer' } });
    }
    const principal = await deps.authenticate(match[1]!);
    if (principal === null) throw new ApiError(401, 'unauthorized', 'Unknown, expired or revoked API key.', { headers: { 'WWW-Authenticate': 'Bearer' } });
    if (!principal.scopes.includes('read') && !principal.scopes.includes('admin')) {
      throw new ApiError(403, 'forbidden', "This API key lacks the 'read' scope.");
    }
    c.set('principal', principal);
    await next();
  });

  app.get('/v1/traces/:id', async (c) => {
    const { orgId } = c.get('principal');
    const id = c.req.param('id');
    const [trace, verdict, evaluations] = await Promise.all([
      deps.store.getTrace(orgId, id),
      deps.store.getVerdict(orgId, id),
      deps.store.getEvaluations(orgId, id),
    ]);
    if (trace === null) throw new ApiError(404, 'not_found', `No trace with id '${id}'.`);
    return c.json({ trace: toPublicView(trace), verdict, evaluations });
  });

  app.route('/v1/policy', createPolicyRoutes({ store: deps.store, logger: deps.logger, maxBodyBytes: deps.maxPolicyBytes, onPolicyChanged: deps.onPolicyChanged }));

  app.get('/', () => {
    throw new ApiError(501, 'not_implemented', 'The console UI is not built yet; the read API is served under /v1.');
  });

  app.notFound((c) => c.json(errorBody(c, 'not_found', `No route for ${c.req.method} ${c.req.path}.`), 404));

  app.onError((err, c) => {
    if (err instanceof ApiError) {
      for (const [name, value] of Object.entries(err.options.headers ?? {})) c.header(name, value);
      if (err.status >= 500) deps.logger?.error({ err, request_id: c.get('requestId'), path: c.req.path }, err.message);
      return c.json(errorBody(c, err.code, err.message, err.options.issues), err.status);
    }
    deps.logger?.error({ err, request_id: c.get('requestId'), path: c.req.path }, 'read API request failed');
    return c.json(errorBody(c, 'internal', 'Internal error; the request id identifies it in the logs.'), 500);
  });

  return app;
}
