/**
 * `npm run seed -- --traces 100000`: a generated history (generate.ts) written straight into the
 * stores `npm start` reads, so the console has something to find and chart: N traces over the last
 * D days across organizations, applications, models, users and sessions, with failures, their Tier 1
 * verdicts and tier results in Postgres and their facts in ClickHouse.
 *
 * Embedded (default): the data folder of `npm start` (`--data-dir`, default `.metronis` or
 * METRONIS_DATA_DIR); stop `npm start` first, PGlite and chDB hold the folder. Distributed: set
 * DATABASE_URL and CLICKHOUSE_URL (a current ClickHouse, or chdb:<folder>).
 *
 *   npm run seed -- [--traces 10000] [--days 7] [--orgs default,acme,globex] [--seed 1] [--data-dir .metronis]
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createChdbFactsStore, createClickHouseFactsStore, createPgliteStore, createPostgresStore, type FactsStore, type RelationalStore } from '@metronis/stores';
import { historyBatches, writeHistory } from './generate.js';

const { values } = parseArgs({
  options: {
    traces: { type: 'string', default: '10000' },
    days: { type: 'string', default: '7' },
    orgs: { type: 'string', default: 'default,acme,globex' },
    seed: { type: 'string', default: '1' },
    'data-dir': { type: 'string', default: process.env.METRONIS_DATA_DIR ?? '.metronis' },
    batch: { type: 'string', default: '2000' },
  },
});
const traces = Number(values.traces);
const days = Number(values.days);
const seed = Number(values.seed);
const batchSize = Number(values.batch);
const orgs = values.orgs.split(',').map((o) => o.trim()).filter(Boolean);
for (const [name, n] of Object.entries({ traces, days, seed, batch: batchSize })) {
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
}
if (orgs.length === 0) throw new Error('--orgs must name at least one organization');

const dataDir = resolve(values['data-dir']);
const databaseUrl = process.env.DATABASE_URL;
const clickhouseUrl = process.env.CLICKHOUSE_URL;
const store: RelationalStore = databaseUrl ? createPostgresStore({ url: databaseUrl, max: 2 }) : createPgliteStore({ dir: join(dataDir, 'postgres') });
const facts: FactsStore = clickhouseUrl
  ? clickhouseUrl.startsWith('chdb:')
    ? createChdbFactsStore({ path: resolve(clickhouseUrl.slice('chdb:'.length)) })
    : createClickHouseFactsStore({ url: clickhouseUrl })
  : createChdbFactsStore({ path: join(dataDir, 'clickhouse') });
const log = (line: string) => process.stderr.write(`[seed] ${line}\n`);

try {
  await store.migrate();
  await facts.migrate();
  for (const org of orgs) await store.ensureOrganization(org, org);
  const started = performance.now();
  let written = 0;
  let failed = 0;
  for (const batch of historyBatches({ orgs, traces, days, now: Date.now(), seed }, batchSize)) {
    await writeHistory({ store, facts }, batch);
    written += batch.traces.length;
    failed += batch.verdicts.filter((v) => !v.passed).length;
    if (written % (batchSize * 10) === 0 || written === traces) log(`${written} / ${traces} traces (${failed} failed) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  log(`done: ${written} traces across ${orgs.join(', ')} over ${days} days (${failed} failed their verdict), into ${databaseUrl ? 'PostgreSQL' : `PGlite in ${dataDir}`} and ${clickhouseUrl ?? `chDB in ${dataDir}`}`);
} finally {
  await store.close();
  await facts.close();
}
