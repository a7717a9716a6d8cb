/**
 * Configuration, parsed once at start from the environment, one zod schema per command. Nothing deeper
 * in Metronis reads `process.env`. A bad value stops start-up with a message naming the variable.
 */
import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65_535);
const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info');

const brokers = z
  .string()
  .transform((value) => value.split(',').map((b) => b.trim()).filter((b) => b.length > 0))
  .pipe(z.array(z.string().regex(/^[^:\s]+:\d{1,5}$/, 'each broker must be host:port')).min(1, 'at least one broker'));

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });
const postgresUrl = z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' });
/**
 * A ClickHouse server's HTTP URL, or `chdb:<folder>` for the embedded engine in this process (for a
 * single sinks worker, or where no current ClickHouse server is at hand: Debian's is too old for the
 * facts schema).
 */
const clickhouseUrl = z.union([httpUrl, z.string().regex(/^chdb:.+/)], { error: 'must be an http(s) URL or chdb:<folder>' });

const common = {
  METRONIS_LOG_LEVEL: logLevel,
  METRONIS_HOST: z.string().min(1).default('127.0.0.1'),
};

const kafka = {
  KAFKA_BROKERS: brokers,
  SCHEMA_REGISTRY_URL: httpUrl,
};

export const devEnvSchema = z.object({
  ...common,
  METRONIS_PORT: port.default(7070),
  METRONIS_DATA_DIR: z.string().min(1).default('.metronis'),
  METRONIS_DEV_API_KEY: z.string().min(16, 'must be at least 16 characters').max(256).regex(/^\S+$/, 'must not contain spaces').optional(),
});

export const gatewayEnvSchema = z.object({
  ...common,
  ...kafka,
  METRONIS_PORT: port.default(7070),
  DATABASE_URL: postgresUrl,
});

export const consoleEnvSchema = z.object({
  ...common,
  METRONIS_PORT: port.default(7071),
  DATABASE_URL: postgresUrl,
  CLICKHOUSE_URL: clickhouseUrl,
});

export const workerEnvSchema = z.object({
  ...common,
  ...kafka,
  DATABASE_URL: postgresUrl,
  CLICKHOUSE_URL: clickhouseUrl,
});

export const migrateEnvSchema = z.object({
  ...common,
  ...kafka,
  DATABASE_URL: postgresUrl,
  CLICKHOUSE_URL: clickhouseUrl,
  METRONIS_DEV_API_KEY: devEnvSchema.shape.METRONIS_DEV_API_KEY,
});

/** replay runs on Kafka when KAFKA_BROKERS is set, else on the embedded log in METRONIS_DATA_DIR. */
export const replayEnvSchema = z.object({
  ...common,
  KAFKA_BROKERS: brokers.optional(),
  METRONIS_DATA_DIR: devEnvSchema.shape.METRONIS_DATA_DIR,
});

export type DevEnv = z.infer<typeof devEnvSchema>;
export type GatewayEnv = z.infer<typeof gatewayEnvSchema>;
export type ConsoleEnv = z.infer<typeof consoleEnvSchema>;
export type WorkerEnv = z.infer<typeof workerEnvSchema>;
export type MigrateEnv = z.infer<typeof migrateEnvSchema>;
export type ReplayEnv = z.infer<typeof replayEnvSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses the environment with a schema; the error lists every bad variable by name. */
export function parseEnv<S extends z.ZodType>(schema: S, env: Record<string, string | undefined>): z.output<S> {
  // Empty strings mean "unset", as in most shells' `VAR= cmd`.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? '(environment)');
    const message = issue.code === 'invalid_type' && cleaned[name] === undefined ? 'is required' : issue.message;
    return `  ${name}: ${message}`;
  });
  throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
}
