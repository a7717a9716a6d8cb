/**
 * `metronis console`: the read API and the console UI on Postgres, with people signing in, and the live
 * channel when Kafka is configured (KAFKA_BROKERS, SCHEMA_REGISTRY_URL): each instance reads the
 * traces and verdicts topics with a tail of its own, so instances never take events from each other.
 */
import { createEgressPolicy } from '@metronis/stores';
import { createPacer } from '@metronis/topology-alerts';
import { channelAdapters, secretsBox } from '../alerts.js';
import { buildConsole, readiness } from '../apps.js';
import type { ConsoleEnv } from '../env.js';
import { listen } from '../http.js';
import { rateLimiting, serverLimitsOf } from '../limits.js';
import { orgSettingsCache } from '../org-settings.js';
import { describeRetentionJob, startRetentionJob } from '../retention.js';
import type { Logger } from '../logger.js';
import { openFactsStore, openKafkaBackbone, openRelationalStore } from '../runtime.js';
import { consolePeople, consoleWeb, startLiveChannel } from '../people.js';
import type { Lifecycle } from '../shutdown.js';
import { tierAvailability } from '../tier2.js';

export async function consoleCommand(env: ConsoleEnv, logger: Logger, lifecycle: Lifecycle): Promise<{ url: string }> {
  const store = await openRelationalStore(env.DATABASE_URL);
  lifecycle.onClose('postgres', () => store.close());
  const facts = await openFactsStore(env.CLICKHOUSE_URL, { analyticsSecret: env.METRONIS_ANALYTICS_SECRET });
  lifecycle.onClose('clickhouse', () => facts.close());
  const ready = readiness({ postgres: () => store.ping(), clickhouse: () => facts.ping() });
  const settings = orgSettingsCache(store, logger);
  const limiting = await rateLimiting(env, settings, logger, lifecycle);
  const retentionJob = { intervalMs: env.METRONIS_RETENTION_INTERVAL_MS };
  const job = startRetentionJob({ store, logger, ...retentionJob, sweep: () => store.users.sweepExpired(new Date()) });
  lifecycle.onClose('retention job', () => job.stop());
  const secrets = await secretsBox(env.METRONIS_SECRETS_KEY);
  if (secrets === undefined) logger.warn({}, 'METRONIS_SECRETS_KEY is not set: alert channels cannot be created, changed or tested');
  const people = consolePeople(store, limiting.rateLimiter, env.METRONIS_SESSION_IDLE_SECONDS);
  const web = await consoleWeb(logger);
  let live: Awaited<ReturnType<typeof startLiveChannel>> | undefined;
  if (env.KAFKA_BROKERS !== undefined && env.SCHEMA_REGISTRY_URL !== undefined) {
    const backbone = await openKafkaBackbone({ brokers: env.KAFKA_BROKERS, registryUrl: env.SCHEMA_REGISTRY_URL, clientId: 'metronis-console' });
    lifecycle.onClose('log', () => backbone.log.close());
    live = await startLiveChannel({ log: backbone.log, serde: backbone.serde, sessions: people.sessions, logger, allowedOrigins: env.METRONIS_CORS_ORIGINS });
    lifecycle.onClose('live feed', () => live!.closeFeed());
  } else {
    logger.warn({}, 'no KAFKA_BROKERS: the console has no live updates (pages still load; set KAFKA_BROKERS and SCHEMA_REGISTRY_URL)');
  }
  const app = buildConsole({ store, facts, settings, alerts: { secrets, adapters: channelAdapters(env.METRONIS_EGRESS_ALLOW), pacer: createPacer() }, retentionSchedule: describeRetentionJob(retentionJob), corsOrigins: env.METRONIS_CORS_ORIGINS, logger, ready, tiers: tierAvailability('workers'), judge: { store: store.judge, secrets, egress: createEgressPolicy({ allow: env.METRONIS_EGRESS_ALLOW }) }, people, ...(web === undefined ? {} : { web }), ...limiting });
  const server = await listen(app.fetch, { host: env.METRONIS_HOST, port: env.METRONIS_PORT, limits: serverLimitsOf(env), logger, ...(live === undefined ? {} : { onUpgrade: live.sockets.handleUpgrade }) });
  lifecycle.onClose('http', () => server.close());
  if (live !== undefined) lifecycle.onClose('live sockets', () => live!.sockets.close());
  logger.info({ url: server.url }, 'console listening');
  return { url: server.url };
}
