/**
 * Send throughput of the embedded log (a measurement, not a test): 1 KB values, batches of 1 and of
 * 100 records, one sender at a time and 32 concurrent senders. Every send waits for its fsync.
 *
 *   node --import tsx streams/bench/embedded-log.ts [seconds per scenario, default 3] [dir]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEmbeddedLog } from '../src/embedded/index.js';
import type { OutgoingRecord } from '../src/log.js';

const seconds = Number(process.argv[2] ?? 3);
const base = process.argv[3] ?? tmpdir();
const value = Buffer.alloc(1024, 'x');

async function scenario(batch: number, senders: number): Promise<void> {
  const dir = await mkdtemp(join(base, 'metronis-bench-'));
  const log = await createEmbeddedLog({ dir });
  const topic = 'bench';
  await log.admin.createTopics([{ name: topic, partitions: 6 }]);
  const producer = log.producer();
  let sends = 0;
  let records = 0;
  let n = 0;
  const latencies: number[] = [];
  const until = performance.now() + seconds * 1000;
  const sender = async () => {
    while (performance.now() < until) {
      const recs: OutgoingRecord[] = Array.from({ length: batch }, () => ({ topic, key: `trace-${n++}`, value }));
      const start = performance.now();
      await producer.send(recs);
      latencies.push(performance.now() - start);
      sends++;
      records += batch;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: senders }, sender));
  const elapsed = (performance.now() - started) / 1000;
  await log.close();
  await rm(dir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(2);
  console.log(
    `batch ${String(batch).padStart(3)} x ${String(senders).padStart(2)} senders: ` +
      `${Math.round(records / elapsed).toLocaleString('en-US').padStart(9)} records/s, ` +
      `${Math.round(sends / elapsed).toLocaleString('en-US').padStart(7)} sends/s, ` +
      `${((records * 1024) / elapsed / 1048576).toFixed(1).padStart(6)} MiB/s, send latency p50 ${p(0.5)} ms p99 ${p(0.99)} ms`,
  );
}

console.log(`embedded log send throughput, 1 KB values, ${seconds} s per scenario, node ${process.version}, dir ${base}`);
for (const batch of [1, 100]) for (const senders of [1, 32]) await scenario(batch, senders);
