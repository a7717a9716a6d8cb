/**
 * `metronis migrate`: prepares a distributed deployment — Postgres migrations, ClickHouse DDL, Kafka
 * topics, Avro schemas in the registry, the default organization (and the dev key when
 * METRONIS_DEV_API_KEY is set). Every step is idempotent.
 */
import { bootstrapDefaultOrg } from '../bootstrap.js';
import type { MigrateEnv } from '../env.js';
import type { Logger } from '../logger.js';
import { openFactsStore, openKafkaBackbone, openRelationalStore, prepareBackbone } from '../runtime.js';

export async function migrate(env: MigrateEnv, logger: Logger): Promise<void> {
  const store = await openRelationalStore(env.DATABASE_URL);
  try {
    await store.migrate();
    await bootstrapDefaultOrg(store, env.METRONIS_DEV_API_KEY);
    logger.info({ dev_key: env.METRONIS_DEV_API_KEY !== undefined }, 'postgres migrated');
  } finally {
    await store.close();
  }
  const facts = await openFactsStore(env.CLICKHOUSE_URL);
  try {
    await facts.migrate();
    logger.info('clickhouse migrated');
  } finally {
    await facts.close();
  }
  const backbone = await openKafkaBackbone({ brokers: env.KAFKA_BROKERS, registryUrl: env.SCHEMA_REGISTRY_URL, clientId: 'metronis-migrate' });
  try {
    await prepareBackbone(backbone);
    logger.info('topics created and schemas registered');
  } finally {
    await backbone.log.close();
  }
}
