/** `metronis console`: the read API on Postgres. */
import { createChannelAdapters } from '@metronis/topology-alerts';
import { secretsBox } from '../alerts.js';
import { buildConsole, readiness } from '../apps.js';
import type { ConsoleEnv } from '../env.js';
import { listen } from '../http.js';
import { rateLimiting, serverLimitsOf } from '../limits.js';
import { orgSettingsCache } from '../org-settings.js';
import { describeRetentionJob, startRetentionJob } from '../retention.js';
import type { Logger } from '../logger.js';
import { openFactsStore, openRelationalStore } from '../runtime.js';
import type { Lifecycle } from '../shutdown.js';

export async function consoleCommand(env: ConsoleEnv, logger: Logger, lifecycle: Lifecycle): Promise<{ url: string }> {
  const store = await openRelationalStore(env.DATABASE_URL);
  lifecycle.onClose('postgres', () => store.close());
  const facts = await openFactsStore(env.CLICKHOUSE_URL);
  lifecycle.onClose('clickhouse', () => facts.close());
  const ready = readiness({ postgres: () => store.ping(), clickhouse: () => facts.ping() });
  const settings = orgSettingsCache(store, logger);
  const limiting = await rateLimiting(env, settings, logger, lifecycle);
  const retentionJob = { intervalMs: env.METRONIS_RETENTION_INTERVAL_MS };
  const job = startRetentionJob({ store, logger, ...retentionJob });
  lifecycle.onClose('retention job', () => job.stop());
  const secrets = await secretsBox(env.METRONIS_SECRETS_KEY);
  if (secrets === undefined) logger.warn({}, 'METRONIS_SECRETS_KEY is not set: alert channels cannot be created, changed or tested');
  const app = buildConsole({ store, facts, settings, alerts: { secrets, adapters: createChannelAdapters() }, retentionSchedule: describeRetentionJob(retentionJob), corsOrigins: env.METRONIS_CORS_ORIGINS, logger, ready, ...limiting });
  const server = await listen(app.fetch, { host: env.METRONIS_HOST, port: env.METRONIS_PORT, limits: serverLimitsOf(env), logger });
  lifecycle.onClose('http', () => server.close());
  logger.info({ url: server.url }, 'console listening');
  return { url: server.url };
}
