/**
 * The Kafka log's producer compression and consumer fetch size (options.ts) against a real broker:
 * bad values are refused with the option named, and records sent compressed come back intact (value,
 * key, headers, order per key) to a consumer that waits for larger fetches.
 */
import { randomUUID } from 'node:crypto';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createKafkaLog } from '../src/kafka/index.js';
import type { KafkaCompression } from '../src/kafka/options.js';
import type { LogRecord } from '../src/log.js';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const zstd = typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync === 'function';

describe('kafka log settings', () => {
  it('refuses an unknown compression and a fetch size below one byte, naming the option', async () => {
    await expect(createKafkaLog({ brokers, clientId: 'x', compression: 'brotli' as KafkaCompression })).rejects.toThrow(/compression must be one of none, gzip, snappy, lz4, zstd/);
    await expect(createKafkaLog({ brokers, clientId: 'x', fetchMinBytes: 0 })).rejects.toThrow(/fetchMinBytes/);
    await expect(createKafkaLog({ brokers, clientId: 'x', fetchMinBytes: 1.5 })).rejects.toThrow(/fetchMinBytes/);
    if (!zstd) await expect(createKafkaLog({ brokers, clientId: 'x', compression: 'zstd' })).rejects.toThrow(/zstd.*22\.15/);
  });

  for (const compression of ['lz4', 'snappy', ...(zstd ? ['zstd' as const] : [])] as KafkaCompression[]) {
    it(`delivers records produced with ${compression} intact to a consumer waiting for 64 KiB fetches`, { timeout: 60_000 }, async () => {
      const log = await createKafkaLog({ brokers, clientId: `settings-${compression}`, compression, fetchMinBytes: 64 * 1024 });
      const topic = `settings-${compression}-${randomUUID().slice(0, 8)}`;
      try {
        await log.admin.createTopics([{ name: topic, partitions: 3 }]);
        const text = 'The same answer, compressible. '.repeat(40);
        const sent = Array.from({ length: 300 }, (_, i) => ({ topic, key: `trace-${i % 7}`, value: Buffer.from(`${i}:${text}`), headers: { seq: String(i) } }));
        const producer = log.producer();
        await Promise.all(sent.map((record) => producer.send([record])));
        await producer.close();

        const consumer = log.consumer({ groupId: `settings-${randomUUID()}`, topics: [topic], maxWaitMs: 200 });
        const received: LogRecord[] = [];
        for await (const batch of consumer.batches()) {
          received.push(...batch);
          if (received.length >= sent.length) break;
        }
        await consumer.close();

        expect(received).toHaveLength(sent.length);
        const bySeq = new Map(received.map((r) => [r.headers.seq, r]));
        for (const record of sent) {
          const got = bySeq.get(record.headers.seq)!;
          expect(got.key).toBe(record.key);
          expect(got.value!.equals(record.value)).toBe(true);
        }
        // One key's records keep the order they were sent in.
        const seqsOfKey = received.filter((r) => r.key === 'trace-3').map((r) => Number(r.headers.seq));
        expect(seqsOfKey).toEqual([...seqsOfKey].sort((a, b) => a - b));
      } finally {
        await log.close();
      }
    });
  }
});
