/**
 * Kafka settings of the log measured against CPU, in one run on one broker: producer compression
 * (none, lz4, snappy, gzip, and zstd where Node has it) with the gateway's pattern (64 concurrent
 * single-trace sends, coalesced by our producer) and in batches of 50 (a batch request), what a
 * consumer then pays to read each topic back (decompression included), and the consumer's
 * `fetchMinBytes` at a trickle (what a tier sees between bursts).
 *
 *   node --conditions=source --import tsx scripts/bench/kafka-settings.ts [--records 20000] [--broker-pid <pid>]
 *
 * Values are real trace records (the gateway bench's ~1.3 KB body as the gateway encodes it, Avro).
 * Per variant: records/s, this process's CPU per record (the producer or consumer, plus the loop that
 * drives it, the same for every variant), the broker's CPU per record when its pid is known
 * (`--broker-pid`, or `$METRONIS_STACK_DIR/kafka/kafka.pid`), and the produced topic's bytes on disk
 * per record when the broker's data folder is known (`$METRONIS_STACK_DIR/kafka/data`).
 * KAFKA_BROKERS defaults to the stack's 127.0.0.1:19092; topics are new and named per run.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import zlib from 'node:zlib';
import { publicTraceSchema, toTraceRecord } from '../../schemas/src/index.js';
import { createInProcessRegistry, createSerde, TOPICS } from '../../streams/src/index.js';
import { createKafkaLog } from '../../streams/src/kafka/index.js';
import type { KafkaCompression } from '../../streams/src/kafka/options.js';
import { traceBody } from './gateway.js';
import { machineInfo } from './machine.js';
import { treeUsage } from './proc.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const { values } = parseArgs({ options: { records: { type: 'string', default: '20000' }, 'broker-pid': { type: 'string' } } });
const N = Number(values.records);
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const log = (line: string) => process.stderr.write(`[bench:kafka-settings] ${line}\n`);
const pidFile = process.env.METRONIS_STACK_DIR === undefined ? undefined : join(process.env.METRONIS_STACK_DIR, 'kafka', 'kafka.pid');
const brokerPid = values['broker-pid'] !== undefined ? Number(values['broker-pid']) : pidFile !== undefined && existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : undefined;

const dataDir = process.env.METRONIS_STACK_DIR === undefined ? undefined : join(process.env.METRONIS_STACK_DIR, 'kafka', 'data');
/** Bytes of a topic's segment files on the broker's disk, when its data folder is on this machine. */
function diskBytes(topic: string): number | null {
  if (dataDir === undefined || !existsSync(dataDir)) return null;
  let bytes = 0;
  for (const folder of readdirSync(dataDir).filter((f) => f.startsWith(`${topic}-`))) {
    for (const file of readdirSync(join(dataDir, folder)).filter((f) => f.endsWith('.log'))) bytes += statSync(join(dataDir, folder, file)).size;
  }
  return bytes;
}

const serde = createSerde(createInProcessRegistry());
const traces = await serde.forTopic(TOPICS.traces);
const values_ = Array.from({ length: 500 }, (_, i) => traces.encode(toTraceRecord(publicTraceSchema.parse(traceBody(i)), { orgId: 'org_bench', receivedAt: Date.now(), generateId: randomUUID })));
const valueOf = (i: number) => values_[i % values_.length]!;

async function cpu(): Promise<{ self: number; broker: number | null }> {
  const usage = process.cpuUsage();
  return { self: (usage.user + usage.system) / 1e6, broker: brokerPid === undefined ? null : (await treeUsage(brokerPid)).cpuSeconds };
}
const perRecord = (seconds: number | null) => (seconds === null ? null : Math.round((seconds * 1e6) / N) / 1000);

interface Figure {
  what: string;
  records_per_s: number;
  client_ms_per_record: number | null;
  broker_ms_per_record: number | null;
  disk_bytes_per_record?: number | null;
}

const figures: Figure[] = [];
const compressions: KafkaCompression[] = ['none', 'lz4', 'snappy', 'gzip', ...(typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync === 'function' ? (['zstd'] as const) : [])];
const topics: string[] = [];
for (const compression of compressions) {
  for (const pattern of ['64 concurrent single sends', 'batches of 50'] as const) {
    const kafka = await createKafkaLog({ brokers, clientId: 'metronis-bench-settings', compression });
    const topic = `bench-settings-${compression}-${pattern.startsWith('64') ? 'single' : 'batch'}-${randomUUID().slice(0, 8)}`;
    topics.push(topic);
    try {
      await kafka.admin.createTopics([{ name: topic, partitions: 6 }]);
      const producer = kafka.producer();
      await producer.send([{ topic, key: 'warm-up', value: valueOf(0) }]);
      const before = await cpu();
      const started = performance.now();
      let next = 0;
      if (pattern === 'batches of 50') {
        for (; next < N; next += 50) await producer.send(Array.from({ length: Math.min(50, N - next) }, (_, j) => ({ topic, key: randomUUID(), value: valueOf(next + j) })));
      } else {
        await Promise.all(Array.from({ length: 64 }, async () => {
          while (next < N) {
            const i = next++;
            await producer.send([{ topic, key: randomUUID(), value: valueOf(i) }]);
          }
        }));
      }
      const seconds = (performance.now() - started) / 1000;
      const after = await cpu();
      await producer.close();
      const what = `produce, ${compression}, ${pattern}`;
      const disk = diskBytes(topic);
      figures.push({ what, records_per_s: Math.round(N / seconds), client_ms_per_record: perRecord(after.self - before.self), broker_ms_per_record: perRecord(after.broker === null ? null : after.broker - before.broker!), disk_bytes_per_record: disk === null ? null : Math.round(disk / N) });
      log(`${what}: ${JSON.stringify(figures.at(-1))}`);
      if (pattern === 'batches of 50') {
        // What each consumer group pays to read (and decompress) the same records back.
        const consumer = kafka.consumer({ groupId: `bench-settings-${randomUUID()}`, topics: [topic], maxWaitMs: 100 });
        const start = await cpu();
        const t0 = performance.now();
        let received = 0;
        for await (const batch of consumer.batches()) {
          received += batch.length;
          if (received >= N + 1) break;
        }
        const readSeconds = (performance.now() - t0) / 1000;
        const end = await cpu();
        await consumer.close();
        figures.push({ what: `consume, ${compression}, a backlog`, records_per_s: Math.round(N / readSeconds), client_ms_per_record: perRecord(end.self - start.self), broker_ms_per_record: perRecord(end.broker === null ? null : end.broker - start.broker!) });
        log(`consume, ${compression}: ${JSON.stringify(figures.at(-1))}`);
      }
    } finally {
      await kafka.close();
    }
  }
}

// The consumer at a trickle: records arrive 20 at a time every 10 ms (2,000/s), read by one consumer.
for (const fetchMinBytes of [1, 16 * 1024, 256 * 1024]) {
  const kafka = await createKafkaLog({ brokers, clientId: 'metronis-bench-settings', fetchMinBytes });
  const topic = `bench-settings-fetch-${fetchMinBytes}-${randomUUID().slice(0, 8)}`;
  try {
    await kafka.admin.createTopics([{ name: topic, partitions: 6 }]);
    const consumer = kafka.consumer({ groupId: `bench-settings-${randomUUID()}`, topics: [topic], maxWaitMs: 100 });
    const producer = kafka.producer();
    const before = await cpu();
    const started = performance.now();
    let received = 0;
    let fetches = 0;
    const reading = (async () => {
      for await (const batch of consumer.batches()) {
        if (batch.length > 0) fetches++;
        received += batch.length;
        if (received >= N) break;
      }
    })();
    for (let sent = 0; sent < N; sent += 20) {
      await producer.send(Array.from({ length: 20 }, (_, j) => ({ topic, key: randomUUID(), value: valueOf(sent + j) })));
      await new Promise((r) => setTimeout(r, 10));
    }
    await reading;
    const seconds = (performance.now() - started) / 1000;
    const after = await cpu();
    await consumer.close();
    await producer.close();
    const what = `consume at 2,000 records/s, fetchMinBytes ${fetchMinBytes} (${fetches} non-empty batches)`;
    figures.push({ what, records_per_s: Math.round(N / seconds), client_ms_per_record: perRecord(after.self - before.self), broker_ms_per_record: perRecord(after.broker === null ? null : after.broker - before.broker!) });
    log(`${what}: ${JSON.stringify(figures.at(-1))}`);
  } finally {
    await kafka.close();
  }
}

const machine = machineInfo(ROOT);
process.stdout.write(`${JSON.stringify({ machine, records: N, record_bytes: values_[0]!.length, broker_pid: brokerPid ?? null, figures }, null, 2)}\n`);
process.stdout.write(['', '| variant | records/s | client CPU per record | broker CPU per record | disk bytes per record |', '| --- | ---: | ---: | ---: | ---: |', ...figures.map((f) => `| ${f.what} | ${f.records_per_s} | ${f.client_ms_per_record} ms | ${f.broker_ms_per_record ?? 'n/a'} ms | ${f.disk_bytes_per_record ?? ''} |`)].join('\n') + '\n');
