import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTrace } from '@metronis/schemas';
import { describe, expect, it } from 'vitest';
import { createPgliteStore } from '../src/postgres/pglite.js';
import { describeRelationalStore } from './relational-contract.js';
import { describeSearch } from './search-contract.js';
import { describeTenancy } from './tenancy-contract.js';
import { PGlite } from '@electric-sql/pglite';

describeRelationalStore('pglite', async (options) => createPgliteStore({ ...options }));

describe('PGlite store on disk', () => {
  it('keeps traces across close and reopen of its directory, and does not migrate twice', { timeout: 60_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'metronis-pglite-'));
    try {
      const trace = makeTrace({ output: { content: 'kept\u0000', finish_reason: null } });
      const first = createPgliteStore({ dir });
      await first.migrate();
      await first.upsertTraces([trace]);
      await first.close();

      const second = createPgliteStore({ dir });
      try {
        await second.migrate();
        expect(await second.getTrace(trace.org_id, trace.trace_id)).toEqual(trace);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describeTenancy('pglite', async () => {
  const client = new PGlite();
  return { store: createPgliteStore({ client }), raw: (statement) => client.exec(statement) };
});

describeSearch('pglite', async () => createPgliteStore());
