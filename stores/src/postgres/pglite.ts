/**
 * The relational store on PGlite (Postgres compiled to WASM, in this process): the embedded mode's
 * database. `dir` keeps the data on disk; without it the database lives in memory. With `thread`,
 * PGlite runs on a worker thread of its own (pglite-thread.ts), off the caller's event loop.
 *
 * PGlite runs Postgres as one backend without its background processes, so two of their jobs are
 * done here: the WAL is kept small (`PGLITE_START_PARAMS`; a checkpoint comes when WAL nears
 * max_wal_size, and Postgres's default of 1 GB let pg_wal grow towards that beside the data), and,
 * when `autovacuum` is given, dead rows are vacuumed and tables analyzed (pglite-vacuum.ts).
 *
 * @example
 *   const store = createPgliteStore({ dir: '.metronis/pg', thread: true, autovacuum: { intervalMs: 30_000 } });
 *   await store.migrate();
 */
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import { POSTGRES_MIGRATIONS_DIR } from '../paths.js';
import type { RelationalStore } from '../types.js';
import { checkMaxRowsPerStatement, createRelationalStore } from './relational-store.js';
import { pgliteOnThread, type PgliteClient } from './pglite-thread.js';
import { pgliteSinkSql } from './sink-sql.js';
import { startPgliteAutovacuum, type PgliteAutovacuumOptions } from './pglite-vacuum.js';

/**
 * PGlite's own start parameters plus a small WAL: a checkpoint before 64 MB of WAL, at least 32 MB
 * of segments kept for reuse (PGlite runs with fsync off, so a checkpoint costs writes, not syncs).
 * They apply to a data folder; an in-memory PGlite was seen to keep the defaults.
 */
export const PGLITE_START_PARAMS: readonly string[] = [...PGlite.defaultStartParams, '-c', 'max_wal_size=64MB', '-c', 'min_wal_size=32MB'];

export interface PgliteStoreOptions {
  /** data directory; undefined keeps the database in memory */
  dir?: string;
  /** rows per INSERT statement (default 1000) */
  maxRowsPerStatement?: number;
  /** defaults to the repository's sql/postgres */
  migrationsFolder?: string;
  /** an open PGlite to use instead of opening one from `dir` (closed with the store) */
  client?: PGlite;
  /** vacuum and analyze as Postgres's autovacuum would, in this process (off when absent) */
  autovacuum?: PgliteAutovacuumOptions;
  /** open PGlite on a worker thread of its own instead of this thread (ignored with `client`) */
  thread?: boolean;
}

export function createPgliteStore(options: PgliteStoreOptions = {}): RelationalStore {
  checkMaxRowsPerStatement(options.maxRowsPerStatement);
  const client: PgliteClient =
    options.client ?? (options.thread === true ? pgliteOnThread(options.dir, PGLITE_START_PARAMS) : new PGlite(options.dir, { startParams: [...PGLITE_START_PARAMS] }));
  // drizzle calls only query and transaction of its client, which the thread's client answers as PGlite does.
  const db = drizzle({ client: client as PGlite });
  const vacuum = options.autovacuum === undefined ? undefined : startPgliteAutovacuum(client, options.autovacuum);
  const migrationsFolder = options.migrationsFolder ?? POSTGRES_MIGRATIONS_DIR;
  let closed = false;
  return createRelationalStore({
    kind: 'pglite',
    db,
    sinkSql: pgliteSinkSql(client),
    maxRowsPerStatement: options.maxRowsPerStatement,
    migrate: () => migrate(db, { migrationsFolder }),
    close: async function closePglite() {
      if (closed) return;
      closed = true;
      await vacuum?.stop();
      await client.close();
    },
  });
}
