/** The deletion race (deletion-race.ts) on PGlite, the embedded mode's database. */
import { createPgliteStore } from '../src/postgres/pglite.js';
import type { RelationalStore } from '../src/types.js';
import { afterAll } from 'vitest';
import { describeDeletionRace } from './deletion-race.js';

let store: RelationalStore | undefined;
afterAll(() => store?.close());

describeDeletionRace('pglite', async () => (store = createPgliteStore()));
