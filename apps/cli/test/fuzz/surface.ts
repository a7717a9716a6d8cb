/**
 * The whole embedded HTTP surface in this process, on real parts: the embedded log in a temporary
 * folder, the in-process schema registry, PGlite with the repository's migrations, and the handler
 * `metronis dev` serves (`buildEmbeddedHttp`). Two organizations, each with an ingest-only, a
 * read-only, an admin and an all-scopes key. Also served on a real loopback socket, so that Node's
 * own header and body parsing is in the path of some requests.
 *
 * No topology runs: what the gateway accepts stays on the log (counted by end offsets), so the
 * relational store changes only through the HTTP writes under test.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashApiKey } from '@metronis/ingest-gateway';
import { createPgliteStore, type ApiKeyScope, type RelationalStore } from '@metronis/stores';
import { TOPICS } from '@metronis/streams';
import { pino } from 'pino';
import { buildEmbeddedHttp, readiness, routeEmbedded } from '../../src/apps.js';
import { listen } from '../../src/http.js';
import { policyCache } from '../../src/policies.js';
import { openEmbeddedBackbone, prepareBackbone, type Backbone } from '../../src/runtime.js';

export const ORGS = ['org_fuzz_a', 'org_fuzz_b'] as const;
export type OrgId = (typeof ORGS)[number];
export type KeyRole = 'ingest' | 'read' | 'admin' | 'all';

const SCOPES: Record<KeyRole, ApiKeyScope[]> = { ingest: ['ingest'], read: ['read'], admin: ['admin'], all: ['ingest', 'read', 'admin'] };

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
  backbone: Backbone;
  /** Every (method, path) a route of either app answers and the embedded router sends to that app. */
  served: ServedRoute[];
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
  const store = createPgliteStore();
  await store.migrate();
  for (const org of ORGS) {
    await store.ensureOrganization(org, `Fuzz ${org}`);
    for (const role of Object.keys(SCOPES) as KeyRole[]) {
      const key = keyOf(org, role);
      await store.putApiKey({ id: `key_${org}_${role}`, org_id: org, hash: hashApiKey(key), prefix: key.slice(0, 8), scopes: SCOPES[role] });
    }
  }
  const policies = policyCache(store, logger);
  const gatewayPolicies = policyCache(store, logger, { failClosed: true });
  const ready = readiness({ log: () => backbone.log.admin.ping(), registry: () => backbone.registry.ping(), postgres: () => store.ping() });
  const http = await buildEmbeddedHttp({ backbone, store, logger, ready, policies, gatewayPolicies });
  const server = await listen(http.fetch, { host: '127.0.0.1', port: 0 });

  const served = await servedRoutes(http.gateway, http.console);

  return {
    fetch: async (request) => http.fetch(request),
    url: server.url,
    store,
    backbone,
    served,
    logLines,
    async countOnLog() {
      const ends = await backbone.log.admin.endOffsets(TOPICS.traces.name);
      return ends.reduce((sum, p) => sum + Number(p.offset), 0);
    },
    async close() {
      await server.close().catch(() => undefined);
      await http.producer.close().catch(() => undefined);
      await backbone.log.close().catch(() => undefined);
      await store.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
