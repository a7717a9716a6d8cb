/**
 * Builds the HTTP apps from opened components. In embedded mode one server answers for both: ingest
 * routes go to the gateway app, everything else to the console app, each with its own middleware.
 */
import { buildConsoleOpenApiDocument, createConsoleApp, mergeOpenApiDocuments, type ConsoleDeps } from '@metronis/console';
import { createApiKeyAuthenticator, createGatewayApp, type GatewayDeps, type OrgLimitsSource, type RateLimiter } from '@metronis/ingest-gateway';
import type { FactsStore, RelationalStore } from '@metronis/stores';
import { TOPICS } from '@metronis/streams';
import type { Backbone } from './runtime.js';
import type { Logger } from './logger.js';
import type { OrgSettingsCache } from './org-settings.js';

export type ReadyChecks = () => Promise<Record<string, boolean>>;

/**
 * Runs each check with a time limit; a check that throws or hangs is `false`. The limit sits below the
 * gateway's own 2 s limit on the whole readiness call, so a hung check is reported by name.
 */
export function readiness(checks: Record<string, () => Promise<unknown>>, timeoutMs = 1_500): ReadyChecks {
  return async () => {
    const entries = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
        const ok = await Promise.race([check().then(() => true, () => false), timeout]);
        clearTimeout(timer);
        return [name, ok] as const;
      }),
    );
    return Object.fromEntries(entries);
  };
}

/** The rate limiter and per-org limits of a process (limits.ts); without them nothing is rate limited. */
export interface RateLimiting {
  rateLimiter?: RateLimiter;
  rateLimits?: OrgLimitsSource;
}

function rateLimitingOf(deps: RateLimiting): RateLimiting {
  return deps.rateLimiter === undefined || deps.rateLimits === undefined ? {} : { rateLimiter: deps.rateLimiter, rateLimits: deps.rateLimits };
}

export async function buildGateway(deps: { backbone: Backbone; store: RelationalStore; logger: Logger; ready: ReadyChecks; policies: GatewayDeps['policies']; corsOrigins?: readonly string[] } & RateLimiting) {
  const traces = await deps.backbone.serde.forTopic(TOPICS.traces);
  const producer = deps.backbone.log.producer();
  const authenticate = createApiKeyAuthenticator({ store: deps.store });
  const app = createGatewayApp({ producer, encodeTrace: (trace) => traces.encode(trace), authenticate, ready: deps.ready, logger: deps.logger, policies: deps.policies, corsOrigins: deps.corsOrigins ?? [], ...rateLimitingOf(deps) });
  return { app, producer, authenticate };
}

export function buildConsole(deps: {
  store: RelationalStore;
  /** deletion, retention and the compliance report reach the facts too when given */
  facts?: FactsStore;
  /** per-org settings cached in this process: admin changes invalidate them here at once */
  settings?: OrgSettingsCache;
  logger: Logger;
  ready: ReadyChecks;
  retentionSchedule?: string;
  corsOrigins?: readonly string[];
  authenticate?: ConsoleDeps['authenticate'];
  onPolicyChanged?: ConsoleDeps['onPolicyChanged'];
  openApiDocument?: ConsoleDeps['openApiDocument'];
  /** the alerts API's secrets key, adapters and cache hook */
  alerts?: ConsoleDeps['alerts'];
  /** people signing in to the console (sessions, sign-in limiter); without it only API keys work */
  people?: ConsoleDeps['people'];
  /** the built UI; without it GET / answers 501 */
  web?: ConsoleDeps['web'];
  tiers?: ConsoleDeps['tiers'];
  /** the LLM judge's API (store, secrets key, cache hook); without it /v1/judge answers 501 and tier 3 cannot be enabled */
  judge?: ConsoleDeps['judge'];
} & RateLimiting) {
  const authenticate = deps.authenticate ?? createApiKeyAuthenticator({ store: deps.store });
  const settingsChanged = (orgId: string) => deps.settings?.invalidate(orgId);
  return createConsoleApp({
    store: deps.store,
    ...(deps.facts === undefined ? {} : { facts: deps.facts }),
    hooks: { onKeyRevoked: () => authenticate.forget?.(), onRateLimitsChanged: settingsChanged, onRetentionChanged: settingsChanged },
    ...(deps.retentionSchedule === undefined ? {} : { retentionSchedule: deps.retentionSchedule }),
    corsOrigins: deps.corsOrigins ?? [],
    authenticate,
    ready: deps.ready,
    logger: deps.logger,
    ...(deps.onPolicyChanged === undefined ? {} : { onPolicyChanged: deps.onPolicyChanged }),
    ...(deps.openApiDocument === undefined ? {} : { openApiDocument: deps.openApiDocument }),
    ...(deps.alerts === undefined ? {} : { alerts: deps.alerts }),
    ...(deps.people === undefined ? {} : { people: deps.people }),
    ...(deps.web === undefined ? {} : { web: deps.web }),
    ...(deps.tiers === undefined ? {} : { tiers: deps.tiers }),
    ...(deps.judge === undefined ? {} : { judge: deps.judge }),
    ...rateLimitingOf(deps),
  });
}

/**
 * The one HTTP handler of embedded mode (what `metronis dev` serves): the gateway and the console on
 * the same store, log and policy caches, sharing one key authenticator; saving a policy invalidates
 * both caches at once. `policies` is the tier's cache, `gatewayPolicies` the gateway's fail-closed one.
 * Whatever embedded mode serves is composed here, so the HTTP fuzz suite exercises exactly it.
 */
export async function buildEmbeddedHttp(deps: {
  backbone: Backbone;
  store: RelationalStore;
  facts?: FactsStore;
  settings?: OrgSettingsCache;
  retentionSchedule?: string;
  corsOrigins?: readonly string[];
  logger: Logger;
  ready: ReadyChecks;
  policies: { invalidate(orgId: string): void };
  gatewayPolicies: NonNullable<GatewayDeps['policies']> & { invalidate(orgId: string): void };
  alerts?: ConsoleDeps['alerts'];
  people?: ConsoleDeps['people'];
  web?: ConsoleDeps['web'];
  tiers?: ConsoleDeps['tiers'];
  /** the LLM judge's API (store, secrets key, cache hook); without it /v1/judge answers 501 and tier 3 cannot be enabled */
  judge?: ConsoleDeps['judge'];
} & RateLimiting) {
  const gateway = await buildGateway({ backbone: deps.backbone, store: deps.store, logger: deps.logger, ready: deps.ready, policies: deps.gatewayPolicies, corsOrigins: deps.corsOrigins ?? [], ...rateLimitingOf(deps) });
  const gatewayDocument = (await (await gateway.app.request('/openapi.json')).json()) as Record<string, unknown>;
  const consoleApp = buildConsole({
    openApiDocument: mergeOpenApiDocuments(gatewayDocument, buildConsoleOpenApiDocument(), { title: 'Metronis (embedded): ingest gateway and console' }),
    store: deps.store,
    ...(deps.facts === undefined ? {} : { facts: deps.facts }),
    ...(deps.settings === undefined ? {} : { settings: deps.settings }),
    ...(deps.retentionSchedule === undefined ? {} : { retentionSchedule: deps.retentionSchedule }),
    corsOrigins: deps.corsOrigins ?? [],
    logger: deps.logger,
    ready: deps.ready,
    authenticate: gateway.authenticate,
    ...(deps.alerts === undefined ? {} : { alerts: deps.alerts }),
    ...(deps.people === undefined ? {} : { people: deps.people }),
    ...(deps.web === undefined ? {} : { web: deps.web }),
    ...(deps.tiers === undefined ? {} : { tiers: deps.tiers }),
    ...(deps.judge === undefined ? {} : { judge: deps.judge }),
    ...rateLimitingOf(deps),
    onPolicyChanged: (orgId) => {
      deps.policies.invalidate(orgId);
      deps.gatewayPolicies.invalidate(orgId);
    },
  });
  return { fetch: routeEmbedded(gateway.app, consoleApp), gateway: gateway.app, console: consoleApp, producer: gateway.producer };
}

// `env` is whatever the server passes (for @hono/node-server: `{ incoming, outgoing }`).
type FetchHandler = (request: Request, env?: any) => Response | Promise<Response>;

/**
 * One fetch handler for both apps: ingest (POST /v1/traces…, POST /otlp/v1/traces) to the gateway, the rest to the console
 * (which serves the merged OpenAPI document at /openapi.json). The server's bindings (`env`: the Node request and response) are passed through,
 * so the gateway keeps its fast path of reading the body straight from the socket.
 */
export function routeEmbedded(gateway: { fetch: FetchHandler }, console: { fetch: FetchHandler }): FetchHandler {
  return (request, env) => {
    const url = request.url;
    const start = url.indexOf('/', url.indexOf('//') + 2);
    const end = url.indexOf('?', start);
    const path = end === -1 ? url.slice(start) : url.slice(start, end);
    const ingest = request.method === 'POST' && (path === '/v1/traces' || path === '/v1/traces/batch' || path === '/otlp/v1/traces');
    return ingest ? gateway.fetch(request, env) : console.fetch(request, env);
  };
}
