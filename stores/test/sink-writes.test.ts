/** The sinks' set-based upserts (sink-writes-contract.ts) on PGlite, read back through the same PGlite; and how their statements are built. */
import { PGlite } from '@electric-sql/pglite';
import { describe, expect, it } from 'vitest';
import { createPgliteStore } from '../src/postgres/pglite.js';
import { dollarQuoted, jsonChunks, message } from '../src/postgres/sink-sql.js';
import { describeSinkWrites } from './sink-writes-contract.js';

describeSinkWrites('pglite', async () => {
  const client = new PGlite();
  const store = createPgliteStore({ client });
  return { store, rows: async (text, params) => (await client.query<Record<string, unknown>>(text, params)).rows, close: () => store.close() };
});

describe('sink statements, built without a database', () => {
  it('splits rows into JSON arrays by rows and by size, keeping every row once and in order', () => {
    const rows = Array.from({ length: 10 }, (_, i) => JSON.stringify({ i, pad: 'x'.repeat(i) }));
    const byRows = jsonChunks(rows, 4);
    expect(byRows.map((c) => (JSON.parse(c) as unknown[]).length)).toEqual([4, 4, 2]);
    const bySize = jsonChunks(rows, 100, 60);
    expect(bySize.length).toBeGreaterThan(1);
    for (const chunk of bySize.slice(0, -1)) expect(chunk.length).toBeLessThanOrEqual(62);
    expect(bySize.flatMap((c) => JSON.parse(c) as unknown[])).toEqual(rows.map((r) => JSON.parse(r)));
    // A row larger than the size bound still goes, alone.
    expect(jsonChunks(['"' + 'y'.repeat(100) + '"', '1'], 100, 10)).toEqual(['["' + 'y'.repeat(100) + '"]', '[1]']);
  });

  it('dollar-quotes a value under a tag it does not contain', () => {
    expect(dollarQuoted('{"a":1}')).toBe('$j${"a":1}$j$');
    expect(dollarQuoted('"$j$ and $j0$"')).toBe('$j1$"$j$ and $j0$"$j1$');
    expect(message([{ text: 'SELECT $1::jsonb', json: '"$& $\'"' }])).toBe('SELECT $j$"$& $\'"$j$::jsonb');
  });
});
