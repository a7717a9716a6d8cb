import { PGlite } from '@electric-sql/pglite';
import { makeTrace } from '@metronis/schemas';
import { describe, expect, it } from 'vitest';
import { createPgliteStore } from '../src/postgres/pglite.js';
import { startPgliteAutovacuum } from '../src/postgres/pglite-vacuum.js';
import { makeVerdict } from './relational-contract.js';

const stats = async (client: PGlite, table: string) => {
  await client.query('SELECT pg_stat_force_next_flush()');
  return (await client.query<{ dead: number; vacuums: number; analyzes: number }>(`SELECT n_dead_tup::int AS dead, vacuum_count::int AS vacuums, analyze_count::int AS analyzes FROM pg_stat_user_tables WHERE relname = $1`, [table])).rows[0]!;
};

/** 200 traces, then their verdicts: the trigger's UPDATE leaves a dead version of every trace row. */
async function tracesThenVerdicts(client: PGlite) {
  const store = createPgliteStore({ client });
  await store.migrate();
  const traces = Array.from({ length: 200 }, (_, i) => makeTrace({ org_id: 'org_vacuum', trace_id: `t-${i}` }));
  await store.upsertTraces(traces);
  await store.upsertVerdicts(traces.map((t) => makeVerdict({ org_id: t.org_id, trace_id: t.trace_id })));
  return store;
}

describe('PGlite autovacuum', () => {
  it('vacuums and analyzes the tables past autovacuum thresholds, and leaves the others alone', { timeout: 60_000 }, async () => {
    const client = new PGlite();
    const store = await tracesThenVerdicts(client);
    const runs: { table: string; vacuum: boolean; analyze: boolean }[] = [];
    const vacuum = startPgliteAutovacuum(client, { intervalMs: 3_600_000, onRun: (r) => runs.push(r) });
    try {
      expect((await stats(client, 'traces')).dead).toBe(200);
      const worked = await vacuum.runOnce();
      expect(worked).toContain('traces');
      expect(runs.find((r) => r.table === 'traces')).toMatchObject({ vacuum: true, analyze: true });
      const after = await stats(client, 'traces');
      expect(after).toMatchObject({ dead: 0, vacuums: 1, analyzes: 1 });
      // below every threshold now: nothing to do
      expect(await vacuum.runOnce()).toEqual([]);
      expect(await stats(client, 'traces')).toMatchObject({ vacuums: 1, analyzes: 1 });
      // tables nothing was written to were not touched
      expect(await stats(client, 'alert_rules')).toMatchObject({ vacuums: 0, analyzes: 0 });
    } finally {
      await vacuum.stop();
      await store.close();
    }
  });

  it('runs on its timer and stops with the store', { timeout: 60_000 }, async () => {
    const client = new PGlite();
    await tracesThenVerdicts(client);
    const runs: string[] = [];
    const errors: unknown[] = [];
    const store = createPgliteStore({ client, autovacuum: { intervalMs: 20, onRun: (r) => runs.push(r.table), onError: (e) => errors.push(e) } });
    try {
      for (let i = 0; i < 200 && !runs.includes('traces'); i++) await new Promise((r) => setTimeout(r, 25));
      expect(runs).toContain('traces');
    } finally {
      await store.close();
    }
    const count = runs.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(runs.length).toBe(count);
    expect(errors).toEqual([]);
  });

  it('reports a failed pass to onError and carries on at the next interval', { timeout: 60_000 }, async () => {
    const client = new PGlite();
    const store = await tracesThenVerdicts(client);
    const errors: unknown[] = [];
    const runs: string[] = [];
    const vacuum = startPgliteAutovacuum(client, {
      intervalMs: 20,
      onError: (e) => errors.push(e),
      onRun: (r) => {
        runs.push(r.table);
        if (runs.length === 1) throw new Error('the first run fails');
      },
    });
    try {
      for (let i = 0; i < 200 && (errors.length === 0 || runs.length < 2); i++) await new Promise((r) => setTimeout(r, 25));
      expect(errors).toEqual([new Error('the first run fails')]);
      expect(runs.length).toBeGreaterThanOrEqual(2);
    } finally {
      await vacuum.stop();
      await store.close();
    }
  });

  it('refuses an interval under 10 ms', () => {
    // refused before the client is touched
    expect(() => startPgliteAutovacuum(undefined as unknown as PGlite, { intervalMs: 0 })).toThrow(/intervalMs must be at least 10/);
  });
});
