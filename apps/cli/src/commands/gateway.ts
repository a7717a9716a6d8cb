/** `metronis gateway`: the HTTP ingest gateway on Kafka, the registry and Postgres (for API keys). */
import { buildGateway, readiness } from '../apps.js';
import type { GatewayEnv } from '../env.js';
import { listen } from '../http.js';
import { rateLimiting, serverLimitsOf } from '../limits.js';
import { orgSettingsCache } from '../org-settings.js';
import type { Logger } from '../logger.js';
import { policyCache } from '../policies.js';
import { openKafkaBackbone, openRelationalStore } from '../runtime.js';
import type { Lifecycle } from '../shutdown.js';

export async function gateway(env: GatewayEnv, logger: Logger, lifecycle: Lifecycle): Promise<{ url: string }> {
  const backbone = await openKafkaBackbone({ brokers: env.KAFKA_BROKERS, registryUrl: env.SCHEMA_REGISTRY_URL, clientId: 'metronis-gateway', compression: env.KAFKA_COMPRESSION });
  lifecycle.onClose('log', () => backbone.log.close());
  const store = await openRelationalStore(env.DATABASE_URL);
  lifecycle.onClose('postgres', () => store.close());
  const ready = readiness({ log: () => backbone.log.admin.ping(), registry: () => backbone.registry.ping(), postgres: () => store.ping() });
  const limiting = await rateLimiting(env, orgSettingsCache(store, logger), logger, lifecycle);
  const { app, producer } = await buildGateway({ backbone, store, logger, ready, policies: policyCache(store, logger, { failClosed: true }), corsOrigins: env.METRONIS_CORS_ORIGINS, ...limiting });
  lifecycle.onClose('producer', () => producer.close());
  const server = await listen(app.fetch, { host: env.METRONIS_HOST, port: env.METRONIS_PORT, limits: serverLimitsOf(env), logger });
  lifecycle.onClose('http', () => server.close());
  logger.info({ url: server.url }, 'gateway listening');
  return { url: server.url };
}
