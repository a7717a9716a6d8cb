/**
 * `metronis dev` (what `npm start` runs): all of Metronis in one process on embedded engines — the
 * durable embedded log, the in-process schema registry, PGlite and chDB — with data in one folder.
 */
import { DEFAULT_POLICY, warmUp } from '@metronis/evaluators';
import { runTopology } from '@metronis/streams';
import { buildEmbeddedHttp, readiness } from '../apps.js';
import { bootstrapDefaultOrg, DEFAULT_ORG_ID, resolveDevKey } from '../bootstrap.js';
import { consolePeople, consoleWeb, firstAdminSignInLink, startLiveChannel } from '../people.js';
import type { DevEnv } from '../env.js';
import { listen } from '../http.js';
import { rateLimiting, serverLimitsOf } from '../limits.js';
import type { Logger } from '../logger.js';
import { orgSettingsCache } from '../org-settings.js';
import { policyCache } from '../policies.js';
import { describeRetentionJob, startRetentionJob } from '../retention.js';
import { embeddedPaths, openEmbeddedBackbone, openEmbeddedStores, prepareBackbone } from '../runtime.js';
import type { Lifecycle } from '../shutdown.js';
import { TOPOLOGIES, TOPOLOGY_NAMES } from '../topologies.js';

export async function dev(env: DevEnv, logger: Logger, lifecycle: Lifecycle): Promise<{ url: string; apiKey: string; signInLink: string }> {
  const paths = embeddedPaths(env.METRONIS_DATA_DIR);
  const backbone = await openEmbeddedBackbone(paths.root);
  lifecycle.onClose('log', () => backbone.log.close());
  const { store, facts } = await openEmbeddedStores(paths.root);
  lifecycle.onClose('postgres', () => store.close());
  lifecycle.onClose('clickhouse', () => facts.close());

  await store.migrate();
  await facts.migrate();
  await prepareBackbone(backbone);
  const { key: apiKey, source } = await resolveDevKey(env.METRONIS_DEV_API_KEY, paths.devKey);
  await bootstrapDefaultOrg(store, apiKey);

  const policies = policyCache(store, logger);
  const gatewayPolicies = policyCache(store, logger, { failClosed: true });
  const settings = orgSettingsCache(store, logger);
  const retention = { get: async (orgId: string) => (await settings.get(orgId)).retention_days };
  warmUp(DEFAULT_POLICY);
  for (const name of TOPOLOGY_NAMES) {
    for (const topology of TOPOLOGIES[name].build({ store, facts, policies, retention })) {
      const handle = runTopology(topology, { log: backbone.log, serde: backbone.serde, logger });
      lifecycle.onClose(`topology ${topology.name}`, () => handle.stop());
    }
  }

  const ready = readiness({ log: () => backbone.log.admin.ping(), registry: () => backbone.registry.ping(), postgres: () => store.ping(), clickhouse: () => facts.ping() });
  // One process: its buckets live in it.
  const limiting = await rateLimiting({ METRONIS_RATE_LIMITS: env.METRONIS_RATE_LIMITS }, settings, logger, lifecycle);
  const retentionJob = { intervalMs: env.METRONIS_RETENTION_INTERVAL_MS };
  const job = startRetentionJob({ store, logger, ...retentionJob, sweep: () => store.users.sweepExpired(new Date()) });
  lifecycle.onClose('retention job', () => job.stop());
  // The console's people and its live channel (a tail of the log of this process's own).
  const people = consolePeople(store, limiting.rateLimiter, env.METRONIS_SESSION_IDLE_SECONDS);
  const web = await consoleWeb(logger);
  const live = await startLiveChannel({ log: backbone.log, serde: backbone.serde, sessions: people.sessions, logger, allowedOrigins: env.METRONIS_CORS_ORIGINS });
  lifecycle.onClose('live feed', () => live.closeFeed());
  const http = await buildEmbeddedHttp({ backbone, store, facts, settings, retentionSchedule: describeRetentionJob(retentionJob), corsOrigins: env.METRONIS_CORS_ORIGINS, logger, ready, policies, gatewayPolicies, people, ...(web === undefined ? {} : { web }), ...limiting });
  lifecycle.onClose('producer', () => http.producer.close());
  const server = await listen(http.fetch, { host: env.METRONIS_HOST, port: env.METRONIS_PORT, limits: serverLimitsOf(env), logger, onUpgrade: live.sockets.handleUpgrade });
  lifecycle.onClose('http', () => server.close());
  lifecycle.onClose('live sockets', () => live.sockets.close());
  const signIn = await firstAdminSignInLink(store, DEFAULT_ORG_ID, server.url);

  logger.info({ url: server.url, data_dir: paths.root, api_key_source: source }, 'Metronis is running (embedded)');
  process.stdout.write(
    [
      '',
      `  Metronis (embedded) listening on ${server.url}`,
      `  console:   ${signIn.link}`,
      `             (a one-time sign-in link for ${signIn.email}, valid 24 h; a new one at every start)`,
      `  data:      ${paths.root}`,
      `  API key:   ${apiKey}${source === 'env' ? '  (from METRONIS_DEV_API_KEY)' : ''}`,
      `  try:       curl -s -X POST ${server.url}/v1/traces -H 'Authorization: Bearer ${apiKey}' -H 'Content-Type: application/json' \\`,
      `               -d '{"trace_id":"hello-1","input":"What is 2+2?","output":"4"}'`,
      `             curl -s ${server.url}/v1/traces/hello-1 -H 'Authorization: Bearer ${apiKey}'`,
      '',
    ].join('\n') + '\n',
  );
  return { url: server.url, apiKey, signInLink: signIn.link };
}
