import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { describe, expect, it } from 'vitest';
import { createPgliteStore, PGLITE_START_PARAMS } from '../src/postgres/pglite.js';

describe('PGlite settings', () => {
  it('opens its data folder with a small WAL (checkpoints before pg_wal grows past 64 MB)', { timeout: 60_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'metronis-pglite-wal-'));
    const store = createPgliteStore({ dir });
    await store.migrate();
    await store.close();
    const client = new PGlite(dir, { startParams: [...PGLITE_START_PARAMS] });
    try {
      const { rows } = await client.query<{ name: string; setting: string }>(`SELECT name, setting FROM pg_settings WHERE name IN ('max_wal_size', 'min_wal_size') ORDER BY name`);
      expect(rows).toEqual([
        { name: 'max_wal_size', setting: '64' },
        { name: 'min_wal_size', setting: '32' },
      ]);
    } finally {
      await client.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
