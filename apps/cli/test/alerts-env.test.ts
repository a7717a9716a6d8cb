/** METRONIS_SECRETS_KEY and METRONIS_EGRESS_ALLOW at the edge: parsed once, a bad value refused naming the variable (a key without echoing it), and the alerts worker refusing to start without a key. */
import { generateSecretsKey } from '@metronis/stores';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { worker } from '../src/commands/worker.js';
import { ConfigError, consoleEnvSchema, devEnvSchema, parseEnv, workerEnvSchema } from '../src/env.js';
import { createLifecycle } from '../src/shutdown.js';

const distributed = { KAFKA_BROKERS: '127.0.0.1:1', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1', DATABASE_URL: 'postgres://u:p@127.0.0.1:1/db', CLICKHOUSE_URL: 'http://127.0.0.1:1' };

describe('METRONIS_SECRETS_KEY', () => {
  it('is parsed into the 32-byte key (base64 or hex) by dev, console and worker; optional for each', () => {
    const key = generateSecretsKey();
    expect(parseEnv(devEnvSchema, { METRONIS_SECRETS_KEY: key }).METRONIS_SECRETS_KEY?.length).toBe(32);
    expect(parseEnv(consoleEnvSchema, { ...distributed, METRONIS_SECRETS_KEY: Buffer.from(key, 'base64').toString('hex') }).METRONIS_SECRETS_KEY?.length).toBe(32);
    expect(parseEnv(workerEnvSchema, distributed).METRONIS_SECRETS_KEY).toBeUndefined();
  });

  it('refuses a malformed key, naming the variable and never echoing the value', () => {
    const bad = 'not-a-key-but-a-secret-value';
    try {
      parseEnv(devEnvSchema, { METRONIS_SECRETS_KEY: bad });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain('METRONIS_SECRETS_KEY: the secrets key must be 32 bytes');
      expect((error as Error).message).not.toContain(bad);
    }
  });

  it('the alerts worker refuses to start without it, before opening anything', async () => {
    const logger = pino({ level: 'silent' });
    const lifecycle = createLifecycle(logger, { signals: false });
    await expect(worker('alerts', parseEnv(workerEnvSchema, distributed), logger, lifecycle)).rejects.toThrow(/METRONIS_SECRETS_KEY: is required by worker --topology alerts/);
    await lifecycle.close();
  });
});

describe('METRONIS_EGRESS_ALLOW', () => {
  it('is a list of hosts, *.suffix names, addresses and CIDRs for dev, console and worker; none by default', () => {
    expect(parseEnv(devEnvSchema, { METRONIS_EGRESS_ALLOW: '127.0.0.1, *.svc.cluster.local,10.20.0.0/16' }).METRONIS_EGRESS_ALLOW).toEqual(['127.0.0.1', '*.svc.cluster.local', '10.20.0.0/16']);
    expect(parseEnv(consoleEnvSchema, { ...distributed, METRONIS_EGRESS_ALLOW: 'hooks.corp.example' }).METRONIS_EGRESS_ALLOW).toEqual(['hooks.corp.example']);
    expect(parseEnv(workerEnvSchema, distributed).METRONIS_EGRESS_ALLOW).toEqual([]);
  });

  it('refuses an entry that is not one, naming the variable and the entry', () => {
    expect(() => parseEnv(workerEnvSchema, { ...distributed, METRONIS_EGRESS_ALLOW: '10.0.0.0/99' })).toThrow(/METRONIS_EGRESS_ALLOW: '10\.0\.0\.0\/99' is not a CIDR/);
    expect(() => parseEnv(devEnvSchema, { METRONIS_EGRESS_ALLOW: 'https://hooks.example' })).toThrow(/METRONIS_EGRESS_ALLOW: 'https:\/\/hooks\.example' is not a host name/);
  });
});
