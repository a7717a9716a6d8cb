/**
 * `npm run bench`: every benchmark with its baseline measured in the same run on the same machine.
 * Writes bench-results/<time>.json and prints the tables that BENCHMARKS.md reports.
 *
 *   npm run bench -- [--seconds 10] [--records 100000] [--only gateway,produce,clients,tier1]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchGateway } from './gateway.js';
import { machineInfo } from './machine.js';
import { benchProduce } from './produce.js';
import { runToEnd } from './spawn.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, records: { type: 'string', default: '100000' }, only: { type: 'string' } } });
const seconds = Number(values.seconds);
const records = Number(values.records);
const only = new Set((values.only ?? 'gateway,produce,clients,tier1').split(','));
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

const machine = machineInfo(ROOT);
const results: Record<string, unknown> = { machine };

if (only.has('gateway')) results.gateway = await benchGateway(seconds, log);
if (only.has('produce')) results.produce = await benchProduce(records, log);
if (only.has('clients')) {
  log('clients: @platformatic/kafka against kafkajs');
  results.clients = JSON.parse(await runToEnd(process.execPath, ['--import', 'tsx', `${ROOT}scripts/bench/kafka-clients.ts`, '--records', String(records)]));
}
const tier1Bench = `${ROOT}topologies/tier1/bench/tier1.ts`;
if (only.has('tier1') && existsSync(tier1Bench)) {
  log('tier1: module and suite cost, consumer throughput');
  results.tier1 = JSON.parse(await runToEnd(process.execPath, ['--conditions=source', '--import', 'tsx', tier1Bench]));
}

await mkdir(`${ROOT}bench-results`, { recursive: true });
const file = `${ROOT}bench-results/${machine.date.replaceAll(':', '-')}.json`;
await writeFile(file, `${JSON.stringify(results, (_k, v) => (typeof v === 'bigint' ? Number(v) : v), 2)}\n`);
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
log(`written ${file}`);
