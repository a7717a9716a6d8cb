/** The tier 3 worker needs the secrets key (it opens the judges' keys): it refuses to start without it, before opening anything. */
import { pino } from 'pino';
import { expect, it } from 'vitest';
import { worker } from '../src/commands/worker.js';
import { parseEnv, workerEnvSchema } from '../src/env.js';
import { createLifecycle } from '../src/shutdown.js';

const distributed = { KAFKA_BROKERS: '127.0.0.1:1', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1', DATABASE_URL: 'postgres://u:p@127.0.0.1:1/db', CLICKHOUSE_URL: 'http://127.0.0.1:1' };

it('worker --topology tier3 refuses to start without METRONIS_SECRETS_KEY, naming it', async () => {
  const logger = pino({ level: 'silent' });
  const lifecycle = createLifecycle(logger, { signals: false });
  await expect(worker('tier3', parseEnv(workerEnvSchema, distributed), logger, lifecycle)).rejects.toThrow(/METRONIS_SECRETS_KEY: is required by worker --topology tier3 \(the key that encrypts judge provider keys/);
  await lifecycle.close();
});
