/**
 * The relational store on PGlite (Postgres compiled to WASM, in this process): the embedded mode's
 * database. `dir` keeps the data on disk; without it the database lives in memory. With `thread`,
 * PGlite runs on a worker thread of its own (pglite-thread.ts), off the caller's event loop.
 *
 * @example
 *   const store = createPgliteStore({ dir: '.metronis/pg', thread: true });
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

export interface PgliteStoreOptions {
  /** data directory; undefined keeps the database in memory */
  dir?: string;
  /** rows per INSERT statement (default 1000) */
  maxRowsPerStatement?: number;
  /** defaults to the repository's sql/postgres */
  migrationsFolder?: string;
  /** an open PGlite to use instead of opening one from `dir` (closed with the store) */
  client?: PGlite;
  /** open PGlite on a worker thread of its own instead of this thread (ignored with `client`) */
  thread?: boolean;
}

export function createPgliteStore(options: PgliteStoreOptions = {}): RelationalStore {
  checkMaxRowsPerStatement(options.maxRowsPerStatement);
  const client: PgliteClient = options.client ?? (options.thread === true ? pgliteOnThread(options.dir) : new PGlite(options.dir));
  // drizzle calls only query and transaction of its client, which the thread's client answers as PGlite does.
  const db = drizzle({ client: client as PGlite });
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
      await client.close();
    },
  });
}
