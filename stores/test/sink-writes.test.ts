/** The sinks' set-based upserts (sink-writes-contract.ts) on PGlite, read back through the same PGlite. */
import { PGlite } from '@electric-sql/pglite';
import { createPgliteStore } from '../src/postgres/pglite.js';
import { describeSinkWrites } from './sink-writes-contract.js';

describeSinkWrites('pglite', async () => {
  const client = new PGlite();
  const store = createPgliteStore({ client });
  return { store, rows: async (text, params) => (await client.query<Record<string, unknown>>(text, params)).rows, close: () => store.close() };
});
