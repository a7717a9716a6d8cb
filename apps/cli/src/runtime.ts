/**
 * Opens the pieces a command needs, embedded or distributed. Both paths give the same interfaces, so
 * everything above this file runs the same code in one process or spread over many.
 */
import { createHmac } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  createChdbFactsStore,
  createClickHouseFactsStore,
  createPgliteStore,
  createPostgresStore,
  type FactsStore,
  type RelationalStore,
} from '@metronis/stores';
import type { Logger } from './logger.js';
import {
  acquireDirLock,
  createConfluentRegistry,
  createEmbeddedLog,
  DirLockedError,
  type DirLock,
  createInProcessRegistry,
  createKafkaLog,
  createSerde,
  DLQ_TOPIC,
  TOPICS,
  type KafkaCompression,
  type Log,
  type SchemaRegistry,
  type Serde,
  type TopicSpec,
} from '@metronis/streams';

export interface Backbone {
  log: Log;
  registry: SchemaRegistry;
  serde: Serde;
}

/** Every Metronis topic, with the dead-letter topic. */
export const ALL_TOPICS: TopicSpec[] = [
  ...Object.values(TOPICS).map((t) => ({ name: t.name, partitions: t.partitions })),
  { name: DLQ_TOPIC, partitions: 6 },
];

/** The folders of one embedded data directory. */
export function embeddedPaths(dataDir: string) {
  const root = resolve(dataDir);
  return {
    root,
    log: join(root, 'log'),
    registry: join(root, 'registry.json'),
    postgres: join(root, 'postgres'),
    clickhouse: join(root, 'clickhouse'),
    devKey: join(root, 'dev-api-key'),
    secretsKey: join(root, 'secrets-key'),
  };
}

export async function openEmbeddedLog(dataDir: string): Promise<Log> {
  const paths = embeddedPaths(dataDir);
  await mkdir(paths.root, { recursive: true });
  return createEmbeddedLog({ dir: paths.log });
}

export function openKafkaLog(brokers: string[], clientId: string, compression?: KafkaCompression): Promise<Log> {
  return createKafkaLog({ brokers, clientId, ...(compression === undefined ? {} : { compression }) });
}

export async function openEmbeddedBackbone(dataDir: string): Promise<Backbone> {
  const log = await openEmbeddedLog(dataDir);
  const registry = await createInProcessRegistry({ file: embeddedPaths(dataDir).registry });
  return { log, registry, serde: createSerde(registry) };
}

export async function openKafkaBackbone(options: { brokers: string[]; registryUrl: string; clientId: string; compression?: KafkaCompression }): Promise<Backbone> {
  const log = await openKafkaLog(options.brokers, options.clientId, options.compression);
  const registry = createConfluentRegistry({ url: options.registryUrl });
  return { log, registry, serde: createSerde(registry) };
}

/**
 * PGlite and chDB in the data folder. PGlite has no autovacuum of its own, so the store runs one
 * (checked every 30 s); a failed pass is logged and retried at the next.
 */
export async function openEmbeddedStores(dataDir: string, logger?: Logger): Promise<{ store: RelationalStore; facts: FactsStore }> {
  const paths = embeddedPaths(dataDir);
  const autovacuum = { intervalMs: 30_000, onError: (error: unknown) => logger?.warn({ err: error }, 'PGlite autovacuum pass failed; retried at the next interval') };
  // PGlite on a thread of its own: half of the event loop's work otherwise (BENCHMARKS.md, embedded).
  const store = createPgliteStore({ dir: paths.postgres, thread: true, autovacuum });
  const facts = await createChdbFactsStore({ path: paths.clickhouse });
  return { store, facts };
}

/** A command refused because another process (`metronis dev`) holds the embedded data folder. */
export class DataDirInUseError extends Error {
  override readonly name = 'DataDirInUseError';
}

/**
 * Takes the embedded data folder for this process: the lock of its log, which `dev` holds for its
 * whole life. PGlite is one process's: a second process writing the folder `dev` has open writes
 * rows that `dev` never sees (a key printed that never works, an audit row for a key that does not
 * exist) and may corrupt it. So a command that opens the folder's database takes that lock first and
 * is refused, with what to do instead, while `dev` runs.
 */
export async function lockDataDir(dataDir: string): Promise<DirLock> {
  const paths = embeddedPaths(dataDir);
  await mkdir(paths.log, { recursive: true });
  try {
    return acquireDirLock(paths.log);
  } catch (error) {
    if (!(error instanceof DirLockedError)) throw error;
    throw new DataDirInUseError(
      `the data folder ${paths.root} is in use by the running process ${error.owner} (metronis dev, npm start): stop it first, or manage organizations and keys over HTTP while it runs (POST /v1/orgs, /v1/keys)`,
      { cause: error },
    );
  }
}

/**
 * The relational store of the org and key commands (and replay's audit entry): Postgres when a URL is
 * given, else the embedded data folder's PGlite, migrated. The folder is locked for as long as the
 * store is open (`lockDataDir`); `dataDirLocked` says this process holds it already (replay, through
 * the embedded log it opened).
 */
export async function openAdminStore(
  config: { DATABASE_URL?: string | undefined; METRONIS_DATA_DIR: string },
  options: { dataDirLocked?: boolean } = {},
): Promise<RelationalStore> {
  const embedded = config.DATABASE_URL === undefined;
  const lock = embedded && options.dataDirLocked !== true ? await lockDataDir(config.METRONIS_DATA_DIR) : undefined;
  const store = embedded ? createPgliteStore({ dir: embeddedPaths(config.METRONIS_DATA_DIR).postgres }) : createPostgresStore({ url: config.DATABASE_URL!, max: 2 });
  if (lock !== undefined) {
    const close = store.close.bind(store);
    store.close = async () => {
      try {
        await close();
      } finally {
        lock.release();
      }
    };
  }
  try {
    await store.migrate();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

export async function openRelationalStore(url: string): Promise<RelationalStore> {
  return createPostgresStore({ url });
}

/** A ClickHouse server by HTTP URL, or chDB in this process for `chdb:<folder>`. */
/**
 * The facts store of `url`. With `analyticsSecret`, a ClickHouse server runs analytics SQL as per-org
 * users whose passwords are HMAC-SHA256(secret, org id); without it the server answers that analytics
 * SQL is not configured. chDB needs no secret: it binds its sessions itself.
 */
export async function openFactsStore(url: string, options: { analyticsSecret?: string | undefined } = {}): Promise<FactsStore> {
  if (url.startsWith('chdb:')) return createChdbFactsStore({ path: resolve(url.slice('chdb:'.length)) });
  const secret = options.analyticsSecret;
  return createClickHouseFactsStore({ url, ...(secret === undefined ? {} : { analytics: { password: (orgId: string) => createHmac('sha256', secret).update(orgId).digest('hex') } }) });
}

/** Creates the topics and registers every record schema, so producers and consumers start warm. */
export async function prepareBackbone(backbone: Backbone): Promise<void> {
  await backbone.log.admin.createTopics(ALL_TOPICS);
  for (const topic of Object.values(TOPICS)) await backbone.serde.forTopic(topic);
}
