/**
 * `npm run bench:footprint -- --pglite-levers` runs this: the PGlite store alone, each footprint lever
 * measured on its own in one run. The same generated traces (scripts/seed/generate.ts, with their real
 * Tier 1 verdicts and tier results) are written through `createPgliteStore` in the pipeline's order
 * (traces, then their verdicts, whose trigger updates the trace rows, then tier results), in batches
 * of 500, once per variant, each into a fresh folder:
 * - before: PGlite's own start parameters, no vacuum, migrations up to 0008 (the stored tsvector);
 * - + small WAL: PGLITE_START_PARAMS (max_wal_size 64 MB);
 * - + autovacuum: the store's autovacuum pass after every 2,000 traces (what `npm start` runs every 30 s);
 * - + 0009: full-text search from an expression index instead of the stored tsvector.
 * Reported per variant: bytes per trace of each of the three tables (heap, TOAST and indexes),
 * pg_wal and base/ in MiB, and the time the writes took.
 */
import { cp, lstat, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { createPgliteStore, PGLITE_START_PARAMS, POSTGRES_MIGRATIONS_DIR, startPgliteAutovacuum } from '@metronis/stores';
import { historyBatches } from '../seed/generate.js';

async function du(path: string): Promise<number> {
  const stat = await lstat(path).catch(() => undefined);
  if (stat === undefined) return 0;
  let total = stat.blocks * 512;
  if (stat.isDirectory()) for (const entry of await readdir(path)) total += await du(join(path, entry));
  return total;
}

/** The repository's migrations without those numbered `from` and later. */
async function migrationsBefore(from: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'metronis-footprint-migrations-'));
  await cp(POSTGRES_MIGRATIONS_DIR, dir, { recursive: true });
  const journalFile = join(dir, 'meta', '_journal.json');
  const journal = JSON.parse(await readFile(journalFile, 'utf8')) as { entries: { idx: number }[] };
  journal.entries = journal.entries.filter((e) => e.idx < from);
  await writeFile(journalFile, JSON.stringify(journal));
  return dir;
}

interface Variant {
  name: string;
  smallWal: boolean;
  vacuum: boolean;
  migrations0009: boolean;
}

export const PGLITE_LEVERS: Variant[] = [
  { name: 'before', smallWal: false, vacuum: false, migrations0009: false },
  { name: '+ small WAL', smallWal: true, vacuum: false, migrations0009: false },
  { name: '+ autovacuum', smallWal: true, vacuum: true, migrations0009: false },
  { name: '+ 0009 (search expression index)', smallWal: true, vacuum: true, migrations0009: true },
];

export async function measurePgliteLevers(traces: number, log: (line: string) => void) {
  const results = [];
  for (const variant of PGLITE_LEVERS) {
    const dir = await mkdtemp(join(tmpdir(), 'metronis-footprint-pglite-'));
    const migrationsFolder = variant.migrations0009 ? undefined : await migrationsBefore(9);
    const client = new PGlite(dir, variant.smallWal ? { startParams: [...PGLITE_START_PARAMS] } : {});
    const store = createPgliteStore({ client, ...(migrationsFolder === undefined ? {} : { migrationsFolder }) });
    const vacuum = variant.vacuum ? startPgliteAutovacuum(client, { intervalMs: 3_600_000 }) : undefined;
    try {
      await store.migrate();
      const started = performance.now();
      let written = 0;
      for (const batch of historyBatches({ orgs: ['bench_a', 'bench_b'], traces, days: 7, now: Date.parse('2026-12-01T00:00:00Z'), seed: 1 }, 500)) {
        await store.upsertTraces(batch.traces);
        await store.upsertVerdicts(batch.verdicts);
        await store.upsertEvaluations(batch.results);
        written += batch.traces.length;
        if (vacuum !== undefined && written % 2000 === 0) await vacuum.runOnce();
      }
      const seconds = (performance.now() - started) / 1000;
      const { rows } = await client.query<{ name: string; bytes: number }>(
        `SELECT relname AS name, pg_total_relation_size(oid)::float8 AS bytes FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace AND relname IN ('traces', 'verdicts', 'evaluations') ORDER BY relname`,
      );
      await vacuum?.stop();
      await store.close();
      const perTrace = Object.fromEntries(rows.map((r) => [r.name, Math.round(r.bytes / traces)]));
      const result = {
        variant: variant.name,
        bytes_per_trace: perTrace,
        three_tables_per_trace: Math.round(rows.reduce((s, r) => s + r.bytes, 0) / traces),
        pg_wal_mib: Math.round((await du(join(dir, 'pg_wal'))) / 2 ** 20),
        base_mib: Math.round((await du(join(dir, 'base'))) / 2 ** 20),
        seconds: Math.round(seconds * 10) / 10,
      };
      log(`${variant.name}: ${JSON.stringify(result)}`);
      results.push(result);
    } finally {
      if (!client.closed) await client.close();
      await rm(dir, { recursive: true, force: true });
      if (migrationsFolder !== undefined) await rm(migrationsFolder, { recursive: true, force: true });
    }
  }
  return results;
}

export function pgliteLeversTable(traces: number, results: Awaited<ReturnType<typeof measurePgliteLevers>>): string {
  return [
    `PGlite store alone, ${traces.toLocaleString('en')} generated traces, each variant in a fresh folder, same run:`,
    '',
    '| variant | traces B/trace | verdicts B/trace | evaluations B/trace | three tables B/trace | pg_wal MiB | base/ MiB | write time |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...results.map((r) => `| ${r.variant} | ${r.bytes_per_trace.traces} | ${r.bytes_per_trace.verdicts} | ${r.bytes_per_trace.evaluations} | ${r.three_tables_per_trace} | ${r.pg_wal_mib} | ${r.base_mib} | ${r.seconds} s |`),
  ].join('\n');
}
