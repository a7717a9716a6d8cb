/**
 * The tail contract (`openTail`, ../src/tail.ts), run against the embedded log (`tail.test.ts`) and
 * Kafka (`tail.integration.test.ts`): two tails both see every record of every partition; a tail opened at a time sees the
 * records from that time on; closing a tail deletes its group.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Log, LogRecord } from '../src/log.js';
import { openTail, type LogTail } from '../src/tail.js';

const TIMEOUT_MS = 90_000;

/** One iterator per tail (a Kafka consumer's batches may be iterated once), read until a condition holds. */
class Reader {
  readonly records: LogRecord[] = [];
  private readonly iterator: AsyncIterator<LogRecord[]>;
  constructor(readonly tail: LogTail) {
    this.iterator = tail.batches()[Symbol.asyncIterator]();
  }
  async until(done: (records: LogRecord[]) => boolean, deadlineMs = 60_000): Promise<LogRecord[]> {
    const deadline = Date.now() + deadlineMs;
    while (!done(this.records)) {
      if (Date.now() > deadline) throw new Error(`tail ${this.tail.groupId}: only ${this.records.length} records before the deadline`);
      const step = await this.iterator.next();
      if (step.done) throw new Error(`tail ${this.tail.groupId} stopped`);
      this.records.push(...step.value);
    }
    return this.records;
  }
}

export function describeTailContract(name: string, makeLog: () => Promise<{ log: Log; cleanup(): Promise<void> }>): void {
  describe(`tail contract (${name})`, () => {
    let log: Log;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      ({ log, cleanup } = await makeLog());
    }, TIMEOUT_MS);
    afterAll(async () => cleanup?.(), TIMEOUT_MS);

    it(
      'gives every tail every record of every partition',
      async () => {
        const topic = `tail-${randomUUID().slice(0, 8)}`;
        await log.admin.createTopics([{ name: topic, partitions: 3 }]);
        const a = new Reader(await openTail(log, { name: 'a', topics: [topic], from: 'latest' }));
        const b = new Reader(await openTail(log, { name: 'b', topics: [topic], from: 'latest' }));
        const producer = log.producer();
        // Kafka: a tail holds its partitions once its group is joined; send a marker until both saw one.
        const primed = Promise.all([a.until((r) => r.length > 0), b.until((r) => r.length > 0)]);
        let done = false;
        void primed.finally(() => (done = true));
        for (let i = 0; !done && i < 120; i++) {
          await producer.send([0, 1, 2].map((p) => ({ topic, key: `prime-${i}-${p}`, value: Buffer.from('p') })));
          await Promise.race([primed, new Promise((r) => setTimeout(r, 500))]);
        }
        await primed;
        const keys = Array.from({ length: 30 }, (_, i) => `k-${i}`);
        await producer.send(keys.map((key) => ({ topic, key, value: Buffer.from(key) })));
        const all = (r: LogRecord[]) => keys.every((k) => r.some((x) => x.key === k));
        const [recordsA, recordsB] = await Promise.all([a.until(all), b.until(all)]);
        for (const records of [recordsA, recordsB]) {
          const got = records.filter((r) => r.key?.startsWith('k-'));
          expect(new Set(got.map((r) => r.key)).size).toBe(30);
          expect(new Set(got.map((r) => r.partition)).size).toBe(3);
        }
        await Promise.all([a.tail.close(), b.tail.close(), producer.close()]);
        expect(await log.admin.committedOffsets(a.tail.groupId, topic)).toEqual([]);
      },
      TIMEOUT_MS,
    );

    it(
      'starts at the first record at or after a time',
      async () => {
        const topic = `tail-${randomUUID().slice(0, 8)}`;
        await log.admin.createTopics([{ name: topic, partitions: 2 }]);
        const producer = log.producer();
        const now = Date.now();
        await producer.send([
          { topic, key: 'old', value: Buffer.from('old'), timestamp: now - 600_000 },
          { topic, key: 'recent', value: Buffer.from('recent'), timestamp: now - 60_000 },
        ]);
        const tail = new Reader(await openTail(log, { name: 'since', topics: [topic], from: { timestamp: now - 120_000 } }));
        const records = await tail.until((r) => r.some((x) => x.key === 'recent'));
        expect(records.map((r) => r.key)).toEqual(['recent']);
        await Promise.all([tail.tail.close(), producer.close()]);
      },
      TIMEOUT_MS,
    );

    it('refuses a bad name', async () => {
      await expect(openTail(log, { name: 'has space', topics: ['x'], from: 'latest' })).rejects.toThrow(/name/);
    });
  });
}
