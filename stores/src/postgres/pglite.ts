/**
 * The relational store on PGlite (Postgres compiled to WASM, in this process): the embedded mode's
 * database. `dir` keeps the data on disk; without it the database lives in memory.
 *
 * @example
 *   const store = createPgliteStore({ dir: '.metronis/pg' });
 *   await store.migrate();
 */
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import { POSTGRES_MIGRATIONS_DIR } from '../paths.js';
import type { RelationalStore } from '../types.js';
import { checkMaxRowsPerStatement, createRelationalStore } from './relational-store.js';
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
}

export function createPgliteStore(options: PgliteStoreOptions = {}): RelationalStore {
  checkMaxRowsPerStatement(options.maxRowsPerStatement);
  const client = options.client ?? new PGlite(options.dir);
  const db = drizzle({ client });
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
