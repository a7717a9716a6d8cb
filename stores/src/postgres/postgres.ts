/**
 * The relational store on PostgreSQL through postgres.js: the distributed mode's database. The pool
 * reconnects by itself after the server restarts; a query caught by a restart fails with an error
 * whose cause `isRetriable()` recognises (CONNECTION_CLOSED, 57P01, ECONNREFUSED, ...), and the
 * runner's retry then finds a fresh connection.
 *
 * `migrate()` holds a Postgres advisory lock while it runs, so several processes starting together
 * apply each migration once.
 *
 * @example
 *   const store = createPostgresStore({ url: env.DATABASE_URL, logger });
 *   await store.migrate();
 */
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { silentLogger, type StoreLogger } from '../logger.js';
import { POSTGRES_MIGRATIONS_DIR } from '../paths.js';
import type { RelationalStore } from '../types.js';
import { checkMaxRowsPerStatement, createRelationalStore } from './relational-store.js';
import { postgresSinkSql } from './sink-sql.js';

export interface PostgresStoreOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** pool size (default 10) */
  max?: number;
  logger?: StoreLogger;
  /** seconds to wait for a connection before failing with CONNECT_TIMEOUT (default 10) */
  connectTimeoutSeconds?: number;
  /** rows per INSERT statement (default 1000) */
  maxRowsPerStatement?: number;
  /** defaults to the repository's sql/postgres */
  migrationsFolder?: string;
}

/** Arbitrary constant naming the migration lock (pg_advisory_lock takes a bigint). */
const MIGRATION_LOCK_ID = 7_306_516_620_001;

export function createPostgresStore(options: PostgresStoreOptions): RelationalStore {
  if (typeof options.url !== 'string' || !/^postgres(ql)?:\/\//.test(options.url)) {
    throw new TypeError(`createPostgresStore: url must be a postgres:// URL, got ${JSON.stringify(options.url)}`);
  }
  checkMaxRowsPerStatement(options.maxRowsPerStatement);
  const logger = options.logger ?? silentLogger;
  const client = postgres(options.url, {
    max: options.max ?? 10,
    connect_timeout: options.connectTimeoutSeconds ?? 10,
    onnotice: (notice) => logger.debug({ notice: notice.message }, 'postgres notice'),
  });
  const db = drizzle({ client });
  const migrationsFolder = options.migrationsFolder ?? POSTGRES_MIGRATIONS_DIR;

  return createRelationalStore({
    kind: 'postgres',
    db,
    sinkSql: postgresSinkSql(client),
    maxRowsPerStatement: options.maxRowsPerStatement,
    migrate: async function migratePostgres() {
      // The advisory lock belongs to a session: a client of one connection takes it, migrates on
      // that same connection and releases it.
      const single = postgres(options.url, { max: 1, connect_timeout: options.connectTimeoutSeconds ?? 10, onnotice: () => {} });
      try {
        await single`select pg_advisory_lock(${MIGRATION_LOCK_ID})`;
        try {
          await migrate(drizzle({ client: single }), { migrationsFolder });
        } finally {
          await single`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`;
        }
      } finally {
        await single.end({ timeout: 5 });
      }
      logger.info({ migrationsFolder }, 'postgres migrations applied');
    },
    close: async function closePostgres() {
      await client.end({ timeout: 5 });
    },
  });
}
