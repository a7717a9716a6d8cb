/**
 * How long one `upsertTraces` of 1,000 traces takes on PGlite (in memory) and on PostgreSQL (a
 * throwaway database, dropped after): fresh inserts, then the same keys again (all conflicts).
 * `--batch 10` measures small batches, where the fixed cost of a write (its transaction, the
 * organization's deletion lock and the deletion check) weighs most: a sink at a low rate writes such.
 *
 *   node --conditions=source --import tsx stores/bench/upsert-traces.ts [--rounds 5] [--batch 1000] [--no-postgres]
 *
 * DATABASE_URL defaults to the stack's postgres://metronis:metronis@127.0.0.1:15432/metronis.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { makeTrace, type Trace } from '@metronis/schemas';
import postgres from 'postgres';
import { createPgliteStore } from '../src/postgres/pglite.js';
import { createPostgresStore } from '../src/postgres/postgres.js';
import type { RelationalStore } from '../src/types.js';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, batch: { type: 'string', default: '1000' }, 'no-postgres': { type: 'boolean', default: false } } });
const rounds = Number(args.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, got ${args.rounds}`);
const BATCH = Number(args.batch);
if (!Number.isInteger(BATCH) || BATCH < 1 || BATCH > 100_000) throw new Error(`--batch must be an integer in 1..100000, got ${args.batch}`);

function batch(org: string): Trace[] {
  const output = 'The answer, in some detail. '.repeat(40); // ~1 KB of output, like a short completion
  return Array.from({ length: BATCH }, (_, i) =>
    makeTrace({ org_id: org, user_id: `user_${i % 50}`, session_id: `s_${i % 200}`, output: { content: output, finish_reason: 'stop' }, metadata: { i: String(i) } }),
  );
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function measure(name: string, store: RelationalStore): Promise<void> {
  await store.migrate();
  await store.upsertTraces(batch(`org_warmup_${randomUUID()}`)); // JIT, plan cache, WASM warm-up
  const fresh: number[] = [];
  const again: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const traces = batch(`org_${randomUUID()}`);
    let t = performance.now();
    await store.upsertTraces(traces);
    fresh.push(performance.now() - t);
    t = performance.now();
    await store.upsertTraces(traces);
    again.push(performance.now() - t);
  }
  const line = (label: string, xs: number[]) =>
    `${name.padEnd(9)} ${label.padEnd(24)} median ${median(xs).toFixed(0).padStart(5)} ms  (${Math.round((BATCH / median(xs)) * 1000)} traces/s; runs: ${xs.map((x) => x.toFixed(0)).join(', ')} ms)`;
  console.log(line(`${BATCH.toLocaleString('en')} new`, fresh));
  console.log(line(`${BATCH.toLocaleString('en')} again (update)`, again));
}

const pglite = createPgliteStore();
try {
  await measure('pglite', pglite);
} finally {
  await pglite.close();
}

if (!args['no-postgres']) {
  const url = process.env.DATABASE_URL ?? 'postgres://metronis:metronis@127.0.0.1:15432/metronis';
  const database = `metronis_bench_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${database}"`);
  const target = new URL(url);
  target.pathname = `/${database}`;
  const store = createPostgresStore({ url: target.toString(), max: 2 });
  try {
    await measure('postgres', store);
  } finally {
    await store.close();
    await admin.unsafe(`drop database if exists "${database}" with (force)`);
    await admin.end();
  }
}
