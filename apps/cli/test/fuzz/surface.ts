/**
 * The whole embedded HTTP surface in this process, on real parts: the embedded log in a temporary
 * folder, the in-process schema registry, PGlite with the repository's migrations, chDB, and the
 * handler `metronis dev` serves (`buildEmbeddedHttp`, with the rate limits, organization settings and
 * server limits of `dev`'s default configuration, parsed by its own env schema). Two organizations,
 * each with an ingest-only, a read-only, an admin and an all-scopes key, and an operator organization
 * with an admin key. Also served on a real loopback socket (listen, as dev), so that Node's own
 * header and body parsing is in the path of some requests.
 *
 * One topology runs: the Postgres traces sink (real runner, real log), so what the gateway accepts
 * becomes readable through the console, hostile content included. The traces topic is counted by its
 * end offsets; the rest of the relational store changes only through the HTTP writes under test.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashApiKey } from '@metronis/ingest-gateway';
import { createChdbFactsStore, createPgliteStore, createSecretBox, generateSecretsKey, parseSecretsKey, type ApiKeyScope, type FactsStore, type RelationalStore } from '@metronis/stores';
import { createChannelAdapters } from '@metronis/topology-alerts';
import { runTopology, TOPICS } from '@metronis/streams';
import { postgresTracesSink } from '@metronis/topology-sinks';
import { pino } from 'pino';
import { buildEmbeddedHttp, readiness, routeEmbedded } from '../../src/apps.js';
import { consolePeople } from '../../src/people.js';
import { devEnvSchema, parseEnv } from '../../src/env.js';
import { listen } from '../../src/http.js';
import { rateLimiting, serverLimitsOf } from '../../src/limits.js';
import { orgSettingsCache } from '../../src/org-settings.js';
import { policyCache } from '../../src/policies.js';
import { createLifecycle } from '../../src/shutdown.js';
import { openEmbeddedBackbone, prepareBackbone, type Backbone } from '../../src/runtime.js';

export const ORGS = ['org_fuzz_a', 'org_fuzz_b'] as const;
export type OrgId = (typeof ORGS)[number];
export type KeyRole = 'ingest' | 'read' | 'admin' | 'all';

const SCOPES: Record<KeyRole, ApiKeyScope[]> = { ingest: ['ingest'], read: ['read'], admin: ['admin'], all: ['ingest', 'read', 'admin'] };

/** An organization whose admin key may create organizations. */
export const OPERATOR_ORG = 'org_fuzz_operator';
export const OPERATOR_KEY = 'mtr_fuzz_operator_admin_0123456789abcdef';

/** The API key text of an org and role (long enough, printable, distinct). */
export function keyOf(org: OrgId, role: KeyRole): string {
  return `mtr_fuzz_${org.slice(-1)}_${role}_0123456789abcdef`;
}

export interface ServedRoute {
  method: string;
  /** OpenAPI form: `/v1/traces/{id}`. */
  path: string;
  /** Which app the embedded router sends it to. */
  app: 'gateway' | 'console';
}

export interface Surface {
  /** The embedded handler, called in-process. */
  fetch(request: Request): Promise<Response>;
  /** The same handler on a loopback socket, e.g. http://127.0.0.1:41234 */
  url: string;
  store: RelationalStore;
  facts: FactsStore;
  backbone: Backbone;
  /** Every (method, path) a route of either app answers and the embedded router sends to that app. */
  served: ServedRoute[];
  /**
   * Puts every fuzz organization back on the default rate limits (the fuzzer may have saved tiny
   * ones, after which most requests would only reach the limiter).
   */
  resetRateLimits(): Promise<void>;
  /** Stops the traces sink (before a test breaks the log under it). */
  stopTraceSink(): Promise<void>;
  /** Records on the traces topic (sum of its end offsets). */
  countOnLog(): Promise<number>;
  /** The log lines written so far (pino JSON). */
  logLines: string[];
  close(): Promise<void>;
}

/** Hono's `/v1/traces/:id` as OpenAPI's `/v1/traces/{id}`. */
function toTemplate(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, '{$1}');
}

function concrete(template: string): string {
  return template.replace(/\{[^}]+\}/g, 'x');
}

interface RoutedApp {
  routes: readonly { method: string; path: string }[];
}

/** The routes each app registered (middleware excluded) that the embedded router actually sends to it. */
async function servedRoutes(gateway: RoutedApp, console: RoutedApp): Promise<ServedRoute[]> {
  const side = routeEmbedded({ fetch: () => new Response('gateway') }, { fetch: () => new Response('console') });
  const out = new Map<string, ServedRoute>();
  for (const [name, app] of [['gateway', gateway], ['console', console]] as const) {
    for (const route of app.routes) {
      if (route.method === 'ALL' || route.path.includes('*')) continue;
      const path = toTemplate(route.path);
      const routedTo = await (await side(new Request(`http://surface${concrete(path)}`, { method: route.method }))).text();
      if (routedTo === name) out.set(`${route.method} ${path}`, { method: route.method, path, app: name });
    }
  }
  return [...out.values()];
}

export async function startSurface(): Promise<Surface> {
  const dir = await mkdtemp(join(tmpdir(), 'metronis-fuzz-'));
  const logLines: string[] = [];
  const logger = pino({ level: 'info', base: null }, { write: (line: string) => void logLines.push(line) });
  const backbone = await openEmbeddedBackbone(dir);
  await prepareBackbone(backbone);
  const env = parseEnv(devEnvSchema, {});
  const lifecycle = createLifecycle(logger, { signals: false });
  const store = createPgliteStore();
  await store.migrate();
  const facts = createChdbFactsStore({ path: join(dir, 'clickhouse') });
  await facts.migrate();
  await store.ensureOrganization(OPERATOR_ORG, 'Fuzz operator', { operator: true });
  await store.putApiKey({ id: 'key_fuzz_operator_admin', org_id: OPERATOR_ORG, hash: hashApiKey(OPERATOR_KEY), prefix: OPERATOR_KEY.slice(0, 8), scopes: ['admin'] });
  for (const org of ORGS) {
    await store.ensureOrganization(org, `Fuzz ${org}`);
    for (const role of Object.keys(SCOPES) as KeyRole[]) {
      const key = keyOf(org, role);
      await store.putApiKey({ id: `key_${org}_${role}`, org_id: org, hash: hashApiKey(key), prefix: key.slice(0, 8), scopes: SCOPES[role] });
    }
  }
  const policies = policyCache(store, logger);
  const gatewayPolicies = policyCache(store, logger, { failClosed: true });
  const traceSink = runTopology(postgresTracesSink(store), { log: backbone.log, serde: backbone.serde, logger });
  lifecycle.onClose('traces sink', () => traceSink.stop());
  const settings = orgSettingsCache(store, logger);
  const ready = readiness({ log: () => backbone.log.admin.ping(), registry: () => backbone.registry.ping(), postgres: () => store.ping(), clickhouse: () => facts.ping() });
  const limiting = await rateLimiting({ METRONIS_RATE_LIMITS: env.METRONIS_RATE_LIMITS }, settings, logger, lifecycle);
  const http = await buildEmbeddedHttp({
    backbone,
    store,
    facts,
    settings,
    retentionSchedule: 'by the fuzz suite: never',
    corsOrigins: env.METRONIS_CORS_ORIGINS,
    logger,
    ready,
    policies,
    gatewayPolicies,
    // The alerts API as dev serves it: a secrets key, and adapters with a short timeout (a channel
    // test reaches whatever URL the fuzzer saved).
    alerts: { secrets: createSecretBox(parseSecretsKey(generateSecretsKey())), adapters: createChannelAdapters({ timeoutMs: 2_000 }) },
    // The judge API as dev serves it (tier 3): its store and a secrets key.
    judge: { store: store.judge, secrets: createSecretBox(parseSecretsKey(generateSecretsKey())) },
    // People in the console, as `metronis dev` has them (the sign-in attempts share the process's limiter).
    people: consolePeople(store, limiting.rateLimiter, env.METRONIS_SESSION_IDLE_SECONDS),
    ...limiting,
  });
  const server = await listen(http.fetch, { host: '127.0.0.1', port: 0, limits: serverLimitsOf(env), logger });

  const served = await servedRoutes(http.gateway, http.console);

  return {
    fetch: async (request) => http.fetch(request),
    url: server.url,
    store,
    facts,
    backbone,
    served,
    logLines,
    async resetRateLimits() {
      for (const org of [...ORGS, OPERATOR_ORG]) {
        await store.forOrg(org).setRateLimits(null, { keyId: 'fuzz-suite' });
        settings.invalidate(org);
      }
    },
    stopTraceSink: () => traceSink.stop(),
    async countOnLog() {
      const ends = await backbone.log.admin.endOffsets(TOPICS.traces.name);
      return ends.reduce((sum, p) => sum + Number(p.offset), 0);
    },
    async close() {
      await server.close().catch(() => undefined);
      await http.producer.close().catch(() => undefined);
      await lifecycle.close();
      await backbone.log.close().catch(() => undefined);
      await store.close().catch(() => undefined);
      await facts.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
