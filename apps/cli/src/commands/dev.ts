/**
 * `metronis dev` (what `npm start` runs): all of Metronis in one process on embedded engines — the
 * durable embedded log, the in-process schema registry, PGlite and chDB — with data in one folder.
 */
import { createEgressPolicy } from '@metronis/stores';
import { runTopology } from '@metronis/streams';
import { buildEmbeddedHttp, readiness } from '../apps.js';
import { bootstrapDefaultOrg, DEFAULT_ORG_ID, resolveDevKey } from '../bootstrap.js';
import { consolePeople, consoleWeb, firstAdminSignInLink, startLiveChannel } from '../people.js';
import { modelCacheOf, type DevEnv } from '../env.js';
import { evaluationPool } from '../evaluation.js';
import { listen } from '../http.js';
import { rateLimiting, serverLimitsOf } from '../limits.js';
import type { Logger } from '../logger.js';
import { orgSettingsCache } from '../org-settings.js';
import { policyCache } from '../policies.js';
import { describeRetentionJob, startRetentionJob } from '../retention.js';
import { embeddedPaths, openEmbeddedBackbone, openEmbeddedStores, prepareBackbone } from '../runtime.js';
import type { Lifecycle } from '../shutdown.js';
import { startLoops, TOPOLOGIES, TOPOLOGY_NAMES } from '../topologies.js';
import { openAlertsRuntime, secretsBox } from '../alerts.js';
import { tier2Status, tierAvailability } from '../tier2.js';
import { openTier3Runtime } from '../tier3.js';
import { loadEncoder } from '@metronis/topology-tier2';

export async function dev(env: DevEnv, logger: Logger, lifecycle: Lifecycle): Promise<{ url: string; apiKey: string; signInLink: string }> {
  const paths = embeddedPaths(env.METRONIS_DATA_DIR);
  const backbone = await openEmbeddedBackbone(paths.root);
  lifecycle.onClose('log', () => backbone.log.close());
  const { store, facts } = await openEmbeddedStores(paths.root, logger);
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
  const evaluator = evaluationPool(env, logger, lifecycle);
  const secrets = (await secretsBox(env.METRONIS_SECRETS_KEY, paths.secretsKey))!;
  const alerts = openAlertsRuntime({ store, backbone, secrets, logger, lifecycle, egressAllow: env.METRONIS_EGRESS_ALLOW });
  const tier3 = openTier3Runtime({ store, backbone, secrets, logger, lifecycle, concurrency: env.METRONIS_JUDGE_CONCURRENCY, sweepIntervalMs: env.METRONIS_JUDGE_SWEEP_INTERVAL_MS, retryDelayMs: env.METRONIS_JUDGE_RETRY_DELAY_MS, egressAllow: env.METRONIS_EGRESS_ALLOW });
  // Tier 2 runs when its encoder is installed; it loads off the start-up path (escalations wait in the log meanwhile).
  const tier2 = tier2Status(modelCacheOf(env));
  const encoder = tier2.installed ? loadEncoder({ cacheDir: tier2.cacheDir }) : undefined;
  if (!tier2.installed) logger.warn({ reason: tier2.reason }, 'tier 2 is off');
  else {
    const loading = Date.now();
    encoder!.then(
      () => logger.info({ ms: Date.now() - loading }, 'tier 2 encoder loaded'),
      (error: unknown) => logger.error({ err: error }, 'tier 2 could not load its encoder; escalations to tier 2 wait in the log'),
    );
    // registered before the topologies, so it runs after they stopped (closers run in reverse)
    lifecycle.onClose('tier 2 encoder', async () => (await encoder!.catch(() => undefined))?.close());
  }
  for (const name of TOPOLOGY_NAMES) {
    if (name === 'tier2' && encoder === undefined) continue;
    for (const topology of TOPOLOGIES[name].build({ store, facts, policies, retention, evaluator, alerts, tier3, ...(encoder === undefined ? {} : { encoder }) })) {
      const handle = runTopology(topology, { log: backbone.log, serde: backbone.serde, logger });
      lifecycle.onClose(`topology ${topology.name}`, () => handle.stop());
    }
    const loops = startLoops(name, { store, facts, policies, retention, alerts, tier3 });
    if (loops !== undefined) lifecycle.onClose(`${name} loops`, () => loops.stop());
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
  const http = await buildEmbeddedHttp({ backbone, store, facts, settings, alerts: { secrets, adapters: alerts.adapters, pacer: alerts.pacer, onChanged: (orgId) => alerts.config.invalidate(orgId) }, retentionSchedule: describeRetentionJob(retentionJob), corsOrigins: env.METRONIS_CORS_ORIGINS, logger, ready, policies, gatewayPolicies, tiers: tierAvailability(tier2), judge: { store: store.judge, secrets, egress: createEgressPolicy({ allow: env.METRONIS_EGRESS_ALLOW }), onChanged: (orgId) => tier3.judges.invalidate(orgId) }, people, ...(web === undefined ? {} : { web }), ...limiting });
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
