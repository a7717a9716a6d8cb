import { describe, expect, it } from 'vitest';
import { ConfigError, devEnvSchema, gatewayEnvSchema, parseEnv, replayEnvSchema } from '../src/env.js';

describe('env', () => {
  it('gives the embedded defaults', () => {
    expect(parseEnv(devEnvSchema, {})).toEqual({ METRONIS_LOG_LEVEL: 'info', METRONIS_HOST: '127.0.0.1', METRONIS_PORT: 7070, METRONIS_DATA_DIR: '.metronis' });
  });

  it('parses the distributed variables', () => {
    const env = parseEnv(gatewayEnvSchema, {
      KAFKA_BROKERS: '127.0.0.1:19092, kafka-2:9092',
      SCHEMA_REGISTRY_URL: 'http://127.0.0.1:18081/apis/ccompat/v7',
      DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db',
      METRONIS_PORT: '8080',
    });
    expect(env.KAFKA_BROKERS).toEqual(['127.0.0.1:19092', 'kafka-2:9092']);
    expect(env.METRONIS_PORT).toBe(8080);
  });

  it('names every bad or missing variable', () => {
    let error: unknown;
    try {
      parseEnv(gatewayEnvSchema, { KAFKA_BROKERS: 'localhost', SCHEMA_REGISTRY_URL: 'ftp://x', METRONIS_PORT: '99999' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/KAFKA_BROKERS: each broker must be host:port/);
    expect(message).toMatch(/SCHEMA_REGISTRY_URL: must be an http\(s\) URL/);
    expect(message).toMatch(/DATABASE_URL: is required/);
    expect(message).toMatch(/METRONIS_PORT:/);
  });

  it('refuses a short dev key and treats empty strings as unset', () => {
    expect(() => parseEnv(devEnvSchema, { METRONIS_DEV_API_KEY: 'short' })).toThrow(/METRONIS_DEV_API_KEY: must be at least 16 characters/);
    expect(parseEnv(devEnvSchema, { METRONIS_DEV_API_KEY: '' }).METRONIS_DEV_API_KEY).toBeUndefined();
  });

  it('replay uses Kafka only when brokers are given', () => {
    expect(parseEnv(replayEnvSchema, {}).KAFKA_BROKERS).toBeUndefined();
    expect(parseEnv(replayEnvSchema, { KAFKA_BROKERS: 'a:1' }).KAFKA_BROKERS).toEqual(['a:1']);
  });
});

describe('CLICKHOUSE_URL', () => {
  const base = { KAFKA_BROKERS: 'a:1', SCHEMA_REGISTRY_URL: 'http://r', DATABASE_URL: 'postgres://u@h/d' };
  it('takes an HTTP URL or chdb:<folder>', async () => {
    const { workerEnvSchema } = await import('../src/env.js');
    expect(parseEnv(workerEnvSchema, { ...base, CLICKHOUSE_URL: 'http://127.0.0.1:8123' }).CLICKHOUSE_URL).toBe('http://127.0.0.1:8123');
    expect(parseEnv(workerEnvSchema, { ...base, CLICKHOUSE_URL: 'chdb:/var/lib/metronis/facts' }).CLICKHOUSE_URL).toBe('chdb:/var/lib/metronis/facts');
    expect(() => parseEnv(workerEnvSchema, { ...base, CLICKHOUSE_URL: 'clickhouse://x' })).toThrow(/CLICKHOUSE_URL: must be an http\(s\) URL or chdb:<folder>/);
  });
});
