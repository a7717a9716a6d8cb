import { describe, expect, it } from 'vitest';
import { ConfigError, consoleEnvSchema, devEnvSchema, gatewayEnvSchema, modelCacheOf, parseEnv, replayEnvSchema } from '../src/env.js';

describe('env', () => {
  it('gives the embedded defaults', () => {
    expect(parseEnv(devEnvSchema, {})).toEqual({
      METRONIS_LOG_LEVEL: 'info',
      METRONIS_HOST: '127.0.0.1',
      METRONIS_PORT: 7070,
      METRONIS_DATA_DIR: '.metronis',
      METRONIS_RETENTION_INTERVAL_MS: 3_600_000,
      METRONIS_SESSION_IDLE_SECONDS: 43_200,
      METRONIS_CORS_ORIGINS: [],
      METRONIS_MAX_INFLIGHT: 1000,
      METRONIS_HEADERS_TIMEOUT_MS: 10_000,
      METRONIS_REQUEST_TIMEOUT_MS: 30_000,
      METRONIS_KEEPALIVE_TIMEOUT_MS: 5_000,
      METRONIS_MAX_HEADER_BYTES: 16_384,
      METRONIS_RATE_LIMITS: { requests_per_second: 10_000, requests_burst: 20_000, traces_per_second: 50_000, traces_burst: 100_000 },
      METRONIS_EVAL_THREADS: 2,
      METRONIS_EVAL_DEADLINE_MS: 5_000,
      METRONIS_EGRESS_ALLOW: [],
      METRONIS_JUDGE_CONCURRENCY: 4,
      METRONIS_JUDGE_SWEEP_INTERVAL_MS: 15_000,
      METRONIS_JUDGE_RETRY_DELAY_MS: 60_000,
    });
  });

  it("bounds tier 3's judge settings, naming the variable", () => {
    expect(parseEnv(devEnvSchema, { METRONIS_JUDGE_CONCURRENCY: '16', METRONIS_JUDGE_SWEEP_INTERVAL_MS: '500', METRONIS_JUDGE_RETRY_DELAY_MS: '0' })).toMatchObject({ METRONIS_JUDGE_CONCURRENCY: 16, METRONIS_JUDGE_SWEEP_INTERVAL_MS: 500, METRONIS_JUDGE_RETRY_DELAY_MS: 0 });
    expect(() => parseEnv(devEnvSchema, { METRONIS_JUDGE_CONCURRENCY: '0' })).toThrow(/METRONIS_JUDGE_CONCURRENCY/);
    expect(() => parseEnv(devEnvSchema, { METRONIS_JUDGE_SWEEP_INTERVAL_MS: '10' })).toThrow(/METRONIS_JUDGE_SWEEP_INTERVAL_MS/);
  });

  it('bounds the evaluation threads and deadline, naming the variable', () => {
    expect(parseEnv(devEnvSchema, { METRONIS_EVAL_THREADS: '4', METRONIS_EVAL_DEADLINE_MS: '2000' })).toMatchObject({ METRONIS_EVAL_THREADS: 4, METRONIS_EVAL_DEADLINE_MS: 2_000 });
    expect(() => parseEnv(devEnvSchema, { METRONIS_EVAL_THREADS: '0' })).toThrow(/METRONIS_EVAL_THREADS/);
    expect(() => parseEnv(devEnvSchema, { METRONIS_EVAL_DEADLINE_MS: '10' })).toThrow(/METRONIS_EVAL_DEADLINE_MS/);
  });

  it('takes the live channel of the console with Kafka and its registry together, and a session idle time of at least 5 s', () => {
    const base = { DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db', CLICKHOUSE_URL: 'http://127.0.0.1:8123' };
    expect(parseEnv(consoleEnvSchema, base).KAFKA_BROKERS).toBeUndefined();
    expect(parseEnv(consoleEnvSchema, { ...base, KAFKA_BROKERS: '127.0.0.1:19092', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:18081' }).KAFKA_BROKERS).toEqual(['127.0.0.1:19092']);
    expect(() => parseEnv(consoleEnvSchema, { ...base, KAFKA_BROKERS: '127.0.0.1:19092' })).toThrow(/SCHEMA_REGISTRY_URL: KAFKA_BROKERS and SCHEMA_REGISTRY_URL go together/);
    expect(() => parseEnv(devEnvSchema, { METRONIS_SESSION_IDLE_SECONDS: '2' })).toThrow(/METRONIS_SESSION_IDLE_SECONDS/);
  });

  it('finds tier 2\'s model cache: METRONIS_MODEL_CACHE, else XDG_CACHE_HOME, else HOME/.cache', () => {
    expect(modelCacheOf(parseEnv(devEnvSchema, { METRONIS_MODEL_CACHE: '/models', HOME: '/home/u' }))).toBe('/models');
    expect(modelCacheOf(parseEnv(devEnvSchema, { XDG_CACHE_HOME: '/xdg', HOME: '/home/u' }))).toBe('/xdg/metronis/models');
    expect(modelCacheOf(parseEnv(devEnvSchema, { HOME: '/home/u' }))).toBe('/home/u/.cache/metronis/models');
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
    expect(env.KAFKA_COMPRESSION).toBe('none');
    expect(parseEnv(gatewayEnvSchema, { KAFKA_BROKERS: '127.0.0.1:19092', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:18081', DATABASE_URL: 'postgres://u:p@h/db', KAFKA_COMPRESSION: 'lz4' }).KAFKA_COMPRESSION).toBe('lz4');
    expect(() => parseEnv(gatewayEnvSchema, { KAFKA_BROKERS: '127.0.0.1:19092', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:18081', DATABASE_URL: 'postgres://u:p@h/db', KAFKA_COMPRESSION: 'brotli' })).toThrow(/KAFKA_COMPRESSION/);
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
    expect(parseEnv(replayEnvSchema, { KAFKA_BROKERS: 'a:1', DATABASE_URL: 'postgres://u@h/d' }).KAFKA_BROKERS).toEqual(['a:1']);
  });

  it('replay on Kafka needs DATABASE_URL, where the replay is audited', () => {
    expect(() => parseEnv(replayEnvSchema, { KAFKA_BROKERS: 'a:1' })).toThrow(/DATABASE_URL: is required with KAFKA_BROKERS/);
  });

  it('takes the retention job interval in milliseconds, at least a second', () => {
    expect(parseEnv(devEnvSchema, { METRONIS_RETENTION_INTERVAL_MS: '60000' }).METRONIS_RETENTION_INTERVAL_MS).toBe(60_000);
    expect(() => parseEnv(devEnvSchema, { METRONIS_RETENTION_INTERVAL_MS: '10' })).toThrow(/METRONIS_RETENTION_INTERVAL_MS/);
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

describe('rate limits and instance protection', () => {
  const gateway = { KAFKA_BROKERS: 'a:1', SCHEMA_REGISTRY_URL: 'http://r', DATABASE_URL: 'postgres://u@h/d' };

  it('defaults to the documented limits, no Redis', async () => {
    const { DEFAULT_ORG_RATE_LIMITS, DEFAULT_SERVER_LIMITS } = await import('@metronis/ingest-gateway');
    const env = parseEnv(gatewayEnvSchema, gateway);
    expect(env.REDIS_URL).toBeUndefined();
    expect(env.METRONIS_RATE_LIMITS).toEqual(DEFAULT_ORG_RATE_LIMITS);
    expect(env).toMatchObject({
      METRONIS_MAX_INFLIGHT: DEFAULT_SERVER_LIMITS.maxInFlight,
      METRONIS_HEADERS_TIMEOUT_MS: 10_000,
      METRONIS_REQUEST_TIMEOUT_MS: 30_000,
      METRONIS_KEEPALIVE_TIMEOUT_MS: 5_000,
      METRONIS_MAX_HEADER_BYTES: 16_384,
    });
  });

  it('takes REDIS_URL, partial default rate limits as JSON, and numbers for the server limits', async () => {
    const { consoleEnvSchema } = await import('../src/env.js');
    const env = parseEnv(consoleEnvSchema, {
      DATABASE_URL: 'postgres://u@h/d',
      CLICKHOUSE_URL: 'http://c:8123',
      REDIS_URL: 'redis://127.0.0.1:16379/2',
      METRONIS_RATE_LIMITS: '{"traces_per_second": 500, "traces_burst": 1000}',
      METRONIS_MAX_INFLIGHT: '64',
      METRONIS_REQUEST_TIMEOUT_MS: '5000',
      METRONIS_HEADERS_TIMEOUT_MS: '2000',
    });
    expect(env.REDIS_URL).toBe('redis://127.0.0.1:16379/2');
    expect(env.METRONIS_RATE_LIMITS).toMatchObject({ traces_per_second: 500, traces_burst: 1000, requests_per_second: 10_000 });
    expect(env).toMatchObject({ METRONIS_MAX_INFLIGHT: 64, METRONIS_REQUEST_TIMEOUT_MS: 5000, METRONIS_HEADERS_TIMEOUT_MS: 2000 });
  });

  it('names what is wrong with them', () => {
    const bad = (extra: Record<string, string>) => () => parseEnv(gatewayEnvSchema, { ...gateway, ...extra });
    expect(bad({ REDIS_URL: 'http://127.0.0.1:6379' })).toThrow(/REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/);
    expect(bad({ METRONIS_RATE_LIMITS: '{traces' })).toThrow(/METRONIS_RATE_LIMITS: must be a JSON object/);
    expect(bad({ METRONIS_RATE_LIMITS: '{"traces_burst": 0}' })).toThrow(/METRONIS_RATE_LIMITS:/);
    expect(bad({ METRONIS_RATE_LIMITS: '{"tracez_burst": 10}' })).toThrow(/METRONIS_RATE_LIMITS:/);
    expect(bad({ METRONIS_MAX_INFLIGHT: '0' })).toThrow(/METRONIS_MAX_INFLIGHT:/);
    expect(bad({ METRONIS_REQUEST_TIMEOUT_MS: '1000', METRONIS_HEADERS_TIMEOUT_MS: '2000' })).toThrow(/METRONIS_HEADERS_TIMEOUT_MS: must not exceed METRONIS_REQUEST_TIMEOUT_MS/);
  });

  it('embedded dev has the server limits and default rate limits but no Redis', () => {
    const env = parseEnv(devEnvSchema, { METRONIS_MAX_INFLIGHT: '10' });
    expect(env.METRONIS_MAX_INFLIGHT).toBe(10);
    expect('REDIS_URL' in env).toBe(false);
  });
});
