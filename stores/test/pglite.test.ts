import { createPgliteStore } from '../src/postgres/pglite.js';
import { describeRelationalStore } from './relational-contract.js';

describeRelationalStore('pglite', async (options) => createPgliteStore({ ...options }));
