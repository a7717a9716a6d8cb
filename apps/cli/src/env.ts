/**
 * Configuration, parsed once at start from the environment, one zod schema per command. Nothing deeper
 * in Metronis reads `process.env`. A bad value stops start-up with a message naming the variable.
 */
import { DEFAULT_EVALUATION_DEADLINE_MS, DEFAULT_EVALUATION_THREADS } from '@metronis/evaluators';
import { DEFAULT_ORG_RATE_LIMITS, DEFAULT_SERVER_LIMITS, orgRateLimitsSchema } from '@metronis/ingest-gateway';
import { parseEgressAllow, parseSecretsKey } from '@metronis/stores';
import { KAFKA_COMPRESSIONS } from '@metronis/streams';
import { defaultModelCacheDir } from '@metronis/topology-tier2';
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

/**
 * The key that encrypts alert channel secrets at rest: 32 bytes as base64 or hex. Never logged; a bad
 * value is reported without echoing it.
 */
const secretsKey = z
  .string()
  .transform((text, ctx) => {
    try {
      return parseSecretsKey(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  })
  .optional();

/**
 * Destinations inside the deployment's network that alert channels (and later Tier 3 endpoints) may
 * reach: host names, `*.suffix` names, addresses or CIDRs, comma-separated. Default: none (loopback,
 * private, link-local and metadata addresses are refused; see stores' egress.ts).
 */
const egressAllow = z
  .string()
  .optional()
  .transform((text, ctx) => {
    try {
      return parseEgressAllow(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });

/** How often the retention job deletes expired rows from Postgres (default hourly; at least 1 s). */
const retentionInterval = z.coerce.number().int().min(1_000).max(7 * 86_400_000).default(3_600_000);

const common = {
  METRONIS_LOG_LEVEL: logLevel,
  METRONIS_HOST: z.string().min(1).default('127.0.0.1'),
};

/**
 * The deployment's default rate limits per organization: JSON with any of `requests_per_second`,
 * `requests_burst`, `traces_per_second`, `traces_burst`; the rest keep DEFAULT_ORG_RATE_LIMITS.
 */
const rateLimits = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object such as {"traces_per_second":1000,"traces_burst":2000}' });
      return z.NEVER;
    }
  })
  .pipe(orgRateLimitsSchema.partial())
  .transform((given) => ({ ...DEFAULT_ORG_RATE_LIMITS, ...given }))
  .default({ ...DEFAULT_ORG_RATE_LIMITS });

const positive = (max: number, fallback: number) => z.coerce.number().int().min(1).max(max).default(fallback);

/** Browser origins allowed by CORS: comma-separated `scheme://host[:port]`, exact match; none by default. */
const corsOrigins = z
  .string()
  .transform((value) => value.split(',').map((o) => o.trim()).filter((o) => o.length > 0))
  .pipe(z.array(z.string().regex(/^https?:\/\/[^/\s,]+$/, 'each origin must be scheme://host[:port], without a path')))
  .default([]);

/** Instance protection and rate limits of the HTTP commands (see limits.ts). */
const http = {
  METRONIS_MAX_INFLIGHT: positive(1_000_000, DEFAULT_SERVER_LIMITS.maxInFlight),
  METRONIS_HEADERS_TIMEOUT_MS: positive(3_600_000, DEFAULT_SERVER_LIMITS.headersTimeoutMs),
  METRONIS_REQUEST_TIMEOUT_MS: positive(3_600_000, DEFAULT_SERVER_LIMITS.requestTimeoutMs),
  METRONIS_KEEPALIVE_TIMEOUT_MS: positive(3_600_000, DEFAULT_SERVER_LIMITS.keepAliveTimeoutMs),
  METRONIS_MAX_HEADER_BYTES: positive(1024 * 1024, DEFAULT_SERVER_LIMITS.maxHeaderBytes),
  METRONIS_RATE_LIMITS: rateLimits,
  METRONIS_CORS_ORIGINS: corsOrigins,
};

/** Shared rate-limit buckets across instances; without it each process keeps its own. */
const redisUrl = z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional();

/** Node refuses a headers timeout longer than the request timeout. */
function timeoutsInOrder<S extends z.ZodType<{ METRONIS_HEADERS_TIMEOUT_MS: number; METRONIS_REQUEST_TIMEOUT_MS: number }>>(schema: S): S {
  return schema.refine((env) => env.METRONIS_HEADERS_TIMEOUT_MS <= env.METRONIS_REQUEST_TIMEOUT_MS, {
    path: ['METRONIS_HEADERS_TIMEOUT_MS'],
    message: 'must not exceed METRONIS_REQUEST_TIMEOUT_MS',
  }) as S;
}

/** Tier 1's evaluation threads and its per-trace deadline (README, "Evaluation bounds"). */
const evaluation = {
  METRONIS_EVAL_THREADS: positive(64, DEFAULT_EVALUATION_THREADS),
  METRONIS_EVAL_DEADLINE_MS: z.coerce.number().int().min(100).max(600_000).default(DEFAULT_EVALUATION_DEADLINE_MS),
};
/**
 * Where tier 2's encoder is installed (`npm run tier2:model`): METRONIS_MODEL_CACHE, else
 * ${XDG_CACHE_HOME:-$HOME/.cache}/metronis/models; resolve it with `modelCacheOf(env)`.
 */
const modelCache = { METRONIS_MODEL_CACHE: z.string().min(1).optional(), XDG_CACHE_HOME: z.string().min(1).optional(), HOME: z.string().min(1).optional() };

/** The model cache folder of a parsed environment. */
export function modelCacheOf(env: { METRONIS_MODEL_CACHE?: string | undefined; XDG_CACHE_HOME?: string | undefined; HOME?: string | undefined }): string {
  return defaultModelCacheDir(env);
}

/** Tier 3 (the LLM judge): calls in flight per provider endpoint per process, and how often pending judgments are retried. */
const judge = {
  METRONIS_JUDGE_CONCURRENCY: positive(256, 4),
  METRONIS_JUDGE_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(15_000),
  /** the first retry of a pending judgment comes this long after the failure (or the provider's retry-after, if later); then it doubles, up to an hour */
  METRONIS_JUDGE_RETRY_DELAY_MS: z.coerce.number().int().min(0).max(3_600_000).default(60_000),
};

const kafka = {
  KAFKA_BROKERS: brokers,
  SCHEMA_REGISTRY_URL: httpUrl,
  /** compression of what this process produces (BENCHMARKS.md, Kafka settings); `none` keeps every client able to read the topics (kafkajs reads only gzip without codecs) */
  KAFKA_COMPRESSION: z.enum(KAFKA_COMPRESSIONS).default('none'),
};

/** How long a console session lasts unused (seconds; default 12 h). */
const sessionIdle = z.coerce.number().int().min(5).max(30 * 86_400).default(43_200);

export const devEnvSchema = timeoutsInOrder(z.object({
  ...common,
  ...http,
  ...evaluation,
  METRONIS_PORT: port.default(7070),
  METRONIS_DATA_DIR: z.string().min(1).default('.metronis'),
  METRONIS_RETENTION_INTERVAL_MS: retentionInterval,
  METRONIS_SESSION_IDLE_SECONDS: sessionIdle,
  METRONIS_DEV_API_KEY: z.string().min(16, 'must be at least 16 characters').max(256).regex(/^\S+$/, 'must not contain spaces').optional(),
  METRONIS_SECRETS_KEY: secretsKey,
  METRONIS_EGRESS_ALLOW: egressAllow,
  ...modelCache,
  ...judge,
}));

export const gatewayEnvSchema = timeoutsInOrder(z.object({
  ...common,
  ...kafka,
  ...http,
  METRONIS_PORT: port.default(7070),
  DATABASE_URL: postgresUrl,
  REDIS_URL: redisUrl,
}));

export const consoleEnvSchema = timeoutsInOrder(z.object({
  ...common,
  ...http,
  REDIS_URL: redisUrl,
  METRONIS_PORT: port.default(7071),
  METRONIS_RETENTION_INTERVAL_MS: retentionInterval,
  METRONIS_SESSION_IDLE_SECONDS: sessionIdle,
  DATABASE_URL: postgresUrl,
  CLICKHOUSE_URL: clickhouseUrl,
  METRONIS_SECRETS_KEY: secretsKey,
  METRONIS_EGRESS_ALLOW: egressAllow,
  /** analytics SQL on a ClickHouse server: each org user's password is HMAC-SHA256(secret, org id) */
  METRONIS_ANALYTICS_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  /** the live channel reads the traces and verdicts topics; without Kafka the console has no live updates */
  KAFKA_BROKERS: brokers.optional(),
  SCHEMA_REGISTRY_URL: httpUrl.optional(),
})).refine((env) => (env.KAFKA_BROKERS === undefined) === (env.SCHEMA_REGISTRY_URL === undefined), {
  path: ['SCHEMA_REGISTRY_URL'],
  message: 'KAFKA_BROKERS and SCHEMA_REGISTRY_URL go together (the live channel needs both)',
});

export const workerEnvSchema = z.object({
  ...common,
  ...kafka,
  ...evaluation,
  DATABASE_URL: postgresUrl,
  CLICKHOUSE_URL: clickhouseUrl,
  /** required by the alerts and tier3 topologies (they open channel secrets and judge keys); `worker` says so at start */
  METRONIS_SECRETS_KEY: secretsKey,
  METRONIS_EGRESS_ALLOW: egressAllow,
  ...modelCache,
  ...judge,
});

export const migrateEnvSchema = z.object({
  ...common,
  ...kafka,
  DATABASE_URL: postgresUrl,
  CLICKHOUSE_URL: clickhouseUrl,
  METRONIS_DEV_API_KEY: devEnvSchema.shape.METRONIS_DEV_API_KEY,
});

/** replay runs on Kafka when KAFKA_BROKERS is set, else on the embedded log in METRONIS_DATA_DIR. */
export const replayEnvSchema = z
  .object({
    ...common,
    KAFKA_BROKERS: brokers.optional(),
    /** where the replay is audited; required with Kafka (embedded mode uses the data folder's database) */
    DATABASE_URL: postgresUrl.optional(),
    METRONIS_DATA_DIR: devEnvSchema.shape.METRONIS_DATA_DIR,
  })
  .refine((env) => env.KAFKA_BROKERS === undefined || env.DATABASE_URL !== undefined, {
    path: ['DATABASE_URL'],
    message: 'is required with KAFKA_BROKERS: a replay is recorded in the audit log',
  });

/** org and key commands: on Postgres when DATABASE_URL is set, else on the embedded data folder. */
export const adminEnvSchema = z.object({
  ...common,
  DATABASE_URL: postgresUrl.optional(),
  METRONIS_DATA_DIR: devEnvSchema.shape.METRONIS_DATA_DIR,
});

export type DevEnv = z.infer<typeof devEnvSchema>;
export type AdminEnv = z.infer<typeof adminEnvSchema>;
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
