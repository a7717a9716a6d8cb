/**
 * The console's HTTP API: reads, the policy, the admin API (admin.ts), deletion and the compliance
 * report (data.ts). Every /v1 request is authenticated here, once, and gets its tenant (tenant.ts):
 * the stores bound to the key's organization. Handlers read only the tenant, so another
 * organization's trace, key or data answers 404, exactly like an id that does not exist, and a route
 * added later cannot forget the filter. Scopes are checked per route (`requireScope`).
 *
 * - `GET /v1/traces/:id`: `{ trace, verdict, evaluations }` (read); `DELETE /v1/traces/:id` (admin).
 * - `GET /v1/traces`, `GET /v1/sessions/:id`, `GET /v1/users/:id/traces`: finding traces (search.ts).
 * - `GET /v1/analytics/{traces,modules,finding-kinds,models}`, `POST /v1/analytics/sql` (analytics.ts).
 * - `GET /v1/policy`, `PUT /v1/policy`: the organization's evaluation policy (see `policy.ts`).
 * - `/v1/alerts/...`: alert rules, channels, silences, routing and history (see `alerts.ts`).
 * - `GET /openapi.json`: the OpenAPI document of these routes (openapi.ts).
 *
 * @example
 *   const app = createConsoleApp({ store, facts, authenticate, ready: async () => ({ postgres: true }) });
 *   serve({ fetch: app.fetch, port: 7071 });
 */
import { randomUUID } from 'node:crypto';
import { toPublicView } from '@metronis/schemas';
import {
  AUTH_CHALLENGES,
  CONSOLE_CSP,
  corsAllowList,
  createOrgRateLimit,
  credentialHeader,
  isRejection,
  presentedKey,
  REJECTION_CODES,
  REJECTION_MESSAGES,
  securityHeaders,
  type Authenticate,
  type AuthResult,
  type OrgLimitsSource,
  type RateLimiter,
} from '@metronis/ingest-gateway';
import type { RelationalStore, UserStore } from '@metronis/stores';
import { createAuthRoutes } from './auth/routes.js';
import type { PasswordCost } from './auth/password.js';
import { csrfMatches, CSRF_HEADER, isUnsafeMethod, ROLE_SCOPES, sameOrigin, sessionTokenOf, clearSessionCookie, type Sessions } from './auth/session.js';
import { createMemberRoutes, type MemberRoutesOptions } from './members.js';
import { serveWebAssets, type WebAssets } from './web.js';
import { isRetriable } from '@metronis/streams';
import { Hono } from 'hono';
import { createAdminRoutes, type AdminHooks } from './admin.js';
import { createAlertRoutes, type AlertRoutesOptions } from './alerts.js';
import { createDataRoutes } from './data.js';
import { ApiError, errorBody, requireScope, type ConsoleEnv } from './http.js';
import { tenantOf, type TenantStores } from './tenant.js';
import { buildConsoleOpenApiDocument } from './openapi.js';
import { createPolicyRoutes, type TierAvailability } from './policy.js';
import { createJudgeRoutes, judgeMissing, type JudgeRoutesOptions } from './judge.js';
import { createSearchRoutes } from './search.js';
import { createAnalyticsRoutes } from './analytics.js';

export type { Principal } from './http.js';

export interface ConsoleLogger {
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ConsoleDeps {
  /** The relational store; handlers only ever see it scoped to the caller's organization (tenant.ts). */
  store: Pick<RelationalStore, 'forOrg' | 'createOrganization' | 'alerts'>;
  /** The facts store, for deletion, retention and the compliance report; without it those cover Postgres only. */
  facts?: TenantStores['facts'];
  authenticate: Authenticate;
  /** Called after admin changes, to drop caches of this process (keys, rate limits, retention). */
  hooks?: AdminHooks;
  /** How the retention job runs, for the compliance report (e.g. "every 1 h, in batches of 1000"). */
  retentionSchedule?: string;
  /** Origins allowed to call from a browser (exact match); none by default. */
  corsOrigins?: readonly string[];
  /** Named readiness checks; /readyz is 200 when all are true. */
  ready(): Promise<Record<string, boolean>>;
  logger?: ConsoleLogger;
  /** Largest accepted policy document in bytes. Default 64 KiB. */
  maxPolicyBytes?: number;
  /** Called after `PUT /v1/policy` saved an org's policy (to invalidate policy caches in this process). */
  onPolicyChanged?: (orgId: string) => void;
  /** What the later tiers can take here (policy.ts); without it, escalation to tier 2 or 3 is refused. */
  tiers?: TierAvailability;
  /** What `GET /openapi.json` serves. Default the console's own document (openapi.ts); embedded mode passes the merged one. */
  openApiDocument?: object;
  /**
   * Per-organization rate limits (the gateway's rate-limit module): each /v1 request takes 1 from the
   * organization's requests limit, the same bucket as its ingest requests. Both or neither.
   */
  rateLimiter?: RateLimiter;
  rateLimits?: OrgLimitsSource;
  /** The alerts API's secrets key, channel adapters and cache hook (alerts.ts); without a key, channels cannot be written. */
  alerts?: Omit<AlertRoutesOptions, 'store' | 'logger'>;
  /** The LLM judge's API (judge.ts): its store, secrets key and cache hook; without it `/v1/judge` answers 501 and tier 3 cannot be enabled. */
  judge?: Omit<JudgeRoutesOptions, 'logger' | 'now'>;
  /** The clock of the analytics API's default time range (tests pin it). Default Date.now. */
  now?: () => number;
  /**
   * People signing in to the console (auth/): sessions over `store.users`, and the limiter of sign-in
   * attempts (the rate limiter's buckets). Without it only API keys work and `/auth/*` answers 404.
   */
  people?: {
    users: UserStore;
    sessions: Sessions;
    signInLimiter: RateLimiter;
    passwordCost?: PasswordCost;
    sendInvitation?: MemberRoutesOptions['sendInvitation'];
  };
  /** The built UI (apps/console-web), served at `/` and for every page path; without it `/` answers 501. */
  web?: WebAssets;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const INVALID_TOKEN = AUTH_CHALLENGES.invalidToken;

/** The API key of `Authorization: Bearer <key>`, or the 401 saying what is wrong with the header. */
function credentialsOf(header: readonly string[] | undefined): string {
  const presented = presentedKey(header);
  if ('key' in presented) return presented.key;
  if (presented.problem === 'missing') {
    throw new ApiError(401, 'missing_api_key', 'An API key is required: send Authorization: Bearer <key>.', { headers: { 'WWW-Authenticate': AUTH_CHALLENGES.missing } });
  }
  if (presented.problem === 'repeated') {
    throw new ApiError(401, 'malformed_api_key', 'Send the API key once: the request has more than one Authorization header.', { headers: { 'WWW-Authenticate': AUTH_CHALLENGES.invalidRequest } });
  }
  throw new ApiError(401, 'malformed_api_key', 'Malformed Authorization header: expected Bearer <key>, the key 1 to 256 printable ASCII characters.', {
    headers: { 'WWW-Authenticate': INVALID_TOKEN },
  });
}

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
  app.use('*', securityHeaders({ csp: CONSOLE_CSP }));
  app.use('*', corsAllowList(deps.corsOrigins ?? []));

  const openApiJson = JSON.stringify(deps.openApiDocument ?? buildConsoleOpenApiDocument());
  app.get('/openapi.json', (c) => c.body(openApiJson, 200, { 'Content-Type': 'application/json; charset=utf-8' }));
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const checks = await deps.ready();
    const ok = Object.values(checks).every(Boolean);
    return c.json({ status: ok ? 'ready' : 'unavailable', checks }, ok ? 200 : 503);
  });

  const people = deps.people;
  if (people !== undefined) {
    app.route('/auth', createAuthRoutes({ users: people.users, sessions: people.sessions, limiter: people.signInLimiter, passwordCost: people.passwordCost, allowedOrigins: deps.corsOrigins ?? [] }));
  }

  app.use('/v1/*', async function authenticate(c, next) {
    const authorization = credentialHeader(c.env?.incoming, c.req.raw.headers, 'authorization');
    const cookie = people === undefined || authorization !== undefined ? undefined : sessionTokenOf(c);
    if (cookie !== undefined && people !== undefined) {
      // A person in the console: the session's organization and the scopes of their role there.
      const session = await people.sessions.resolve(cookie);
      if (session === null) {
        clearSessionCookie(c);
        throw new ApiError(401, 'session_expired', 'Your session has ended; sign in again.');
      }
      if (isUnsafeMethod(c.req.method) && (!csrfMatches(c.req.header(CSRF_HEADER), session.csrf_token) || !sameOrigin(c, deps.corsOrigins))) {
        throw new ApiError(403, 'csrf_failed', `A change made with the session cookie needs the session's ${CSRF_HEADER} header, from this server's own pages.`);
      }
      const principal = { orgId: session.org_id, keyId: session.user.id, scopes: ROLE_SCOPES[session.role], userId: session.user.id, role: session.role };
      c.set('principal', principal);
      c.set('tenant', tenantOf({ store: deps.store, facts: deps.facts }, principal, c.get('requestId')));
      await next();
      return;
    }
    const token = credentialsOf(authorization);
    let result: AuthResult;
    try {
      result = await deps.authenticate(token);
    } catch (cause) {
      throw new ApiError(503, 'auth_unavailable', 'API keys cannot be checked right now; retry later.', { cause, headers: { 'Retry-After': '1' } });
    }
    if (isRejection(result)) {
      throw new ApiError(401, REJECTION_CODES[result.rejected], `${REJECTION_MESSAGES[result.rejected]}.`, { headers: { 'WWW-Authenticate': INVALID_TOKEN } });
    }
    c.set('principal', result);
    c.set('tenant', tenantOf({ store: deps.store, facts: deps.facts }, result, c.get('requestId')));
    await next();
  });

  if (deps.rateLimiter !== undefined && deps.rateLimits !== undefined) {
    const logger = deps.logger ?? { error: () => undefined };
    app.use('/v1/*', createOrgRateLimit<ConsoleEnv>({ limiter: deps.rateLimiter, limits: deps.rateLimits, logger: { error: (obj, msg) => logger.error(obj, msg) } }).requests);
  }

  app.route('/v1', createSearchRoutes());
  app.route('/v1/analytics', createAnalyticsRoutes(deps.now === undefined ? {} : { now: deps.now }));

  app.get('/v1/traces/:id', async (c) => {
    requireScope(c, 'read', 'admin');
    const { db } = c.get('tenant');
    const id = c.req.param('id');
    const [trace, verdict, evaluations] = await Promise.all([db.getTrace(id), db.getVerdict(id), db.getEvaluations(id)]);
    if (trace === null) throw new ApiError(404, 'not_found', `No trace with id '${id.slice(0, 200)}'.`);
    return c.json({ trace: toPublicView(trace), verdict, evaluations });
  });

  app.route('/v1', createAdminRoutes({ store: deps.store, ...deps.hooks }));
  app.route('/v1', createDataRoutes({ retentionSchedule: deps.retentionSchedule ?? 'by the retention job' }));
  app.route('/v1/alerts', createAlertRoutes({ ...deps.alerts, store: deps.store.alerts, logger: deps.logger }));
  if (people !== undefined) app.route('/v1', createMemberRoutes({ users: people.users, sendInvitation: people.sendInvitation }));
  const judge = deps.judge;
  if (judge !== undefined) app.route('/v1/judge', createJudgeRoutes({ ...judge, logger: deps.logger, ...(deps.now === undefined ? {} : { now: deps.now }) }));
  else {
    app.all('/v1/judge', () => {
      throw new ApiError(501, 'not_implemented', 'The LLM judge (tier 3) is not configured in this deployment.');
    });
  }
  app.route(
    '/v1/policy',
    createPolicyRoutes({
      logger: deps.logger,
      maxBodyBytes: deps.maxPolicyBytes,
      onPolicyChanged: deps.onPolicyChanged,
      // Without the judge's API no org can configure a judge, so tier 3 cannot be enabled here.
      tiers: judge === undefined && deps.tiers !== undefined && 'models' in deps.tiers.tier3 ? { ...deps.tiers, tier3: { unavailable: 'the LLM judge (tier 3) is not configured in this deployment' } } : deps.tiers,
      ...(judge === undefined ? {} : { tier3Missing: (orgId: string) => judgeMissing(judge.store, orgId) }),
    }),
  );

  if (deps.web !== undefined) {
    serveWebAssets(app, deps.web);
  } else {
    app.get('/', () => {
      throw new ApiError(501, 'not_implemented', 'The console UI is not built: run `npm run build` (apps/console-web); the read API is served under /v1.');
    });
  }

  app.notFound((c) => c.json(errorBody(c, 'not_found', `No route for ${c.req.method} ${c.req.path}.`), 404));

  app.onError((err, c) => {
    if (err instanceof ApiError) {
      for (const [name, value] of Object.entries(err.options.headers ?? {})) c.header(name, value);
      if (err.status >= 500) deps.logger?.error({ err, request_id: c.get('requestId'), path: c.req.path }, err.message);
      return c.json(errorBody(c, err.code, err.message, err.options.issues), err.status);
    }
    deps.logger?.error({ err, request_id: c.get('requestId'), path: c.req.path }, 'read API request failed');
    // The database unreachable (a connection error in the cause chain) is an outage to retry, not a bug.
    if (isRetriable(err)) {
      c.header('Retry-After', '1');
      return c.json(errorBody(c, 'store_unavailable', 'The database cannot be reached right now; retry later.'), 503);
    }
    return c.json(errorBody(c, 'internal', 'Internal error; the request id identifies it in the logs.'), 500);
  });

  return app;
}
