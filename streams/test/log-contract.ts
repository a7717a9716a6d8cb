/**
 * The log contract: one vitest suite that every `Log` implementation must pass (the embedded log in
 * `embedded-log.test.ts`, Kafka in `kafka-log.integration.test.ts`).
 *
 * The suite relies on nothing implementation-specific: every test uses fresh random topic and group
 * names (so it can share one Kafka broker with other runs), waits for conditions with a deadline
 * instead of sleeping, and allows Kafka-sized delays (a group join takes seconds there).
 *
 * @example
 *   describeLogContract('embedded', async () => {
 *     const dir = await mkdtemp(join(tmpdir(), 'log-'));
 *     const log = await createEmbeddedLog({ dir });
 *     return { log, cleanup: async () => { await log.close(); await rm(dir, { recursive: true }); } };
 *   });
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_RECORD_BYTES, type ConsumerOptions, type Log, type LogConsumer, type LogRecord, type OutgoingRecord, type TopicPartitionOffset } from '../src/log.js';
import { partitionFor } from '../src/partitioner.js';

export interface LogUnderTest {
  log: Log;
  /** Closes the log and frees what `makeLog` created. */
  cleanup(): Promise<void>;
}

/** Per-test budget: generous for Kafka group joins and rebalances. */
const TEST_TIMEOUT_MS = 90_000;
/** How long one wait-for-condition may take before the test fails. */
const DEADLINE_MS = 60_000;

function uniqueName(prefix: string): string {
  return `contract-${prefix}-${randomUUID().slice(0, 8)}`;
}

function text(record: LogRecord): string {
  return record.value === null ? '<null>' : record.value.toString('utf8');
}

/** Reads one consumer's batches through a single iterator, so callers can read, check, and read again. */
class Reader {
  readonly records: LogRecord[] = [];
  readonly batches: LogRecord[][] = [];
  private readonly iterator: AsyncIterator<LogRecord[]>;

  constructor(readonly consumer: LogConsumer, private readonly options: { commit?: boolean } = {}) {
    this.iterator = consumer.batches()[Symbol.asyncIterator]();
  }

  /** Reads one batch (possibly empty); commits it when the reader was made with `commit: true`. */
  async next(): Promise<LogRecord[]> {
    const step = await this.iterator.next();
    if (step.done) throw new Error('the consumer stopped yielding batches while the test was still reading');
    const batch = step.value;
    this.batches.push(batch);
    this.records.push(...batch);
    if (this.options.commit && batch.length > 0) await this.consumer.commit(nextOffsets(batch));
    return batch;
  }

  /** Reads until `done()` holds, failing after the deadline with `what` in the message. */
  async until(what: string, done: () => boolean, deadlineMs = DEADLINE_MS): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (read ${this.records.length} records)`);
      await this.next();
    }
  }

  values(): string[] {
    return this.records.map(text);
  }
}

/** For a batch: the next offset to read of each partition it touched. */
function nextOffsets(batch: LogRecord[]): TopicPartitionOffset[] {
  const next = new Map<string, TopicPartitionOffset>();
  for (const r of batch) {
    const id = `${r.topic}/${r.partition}`;
    const current = next.get(id);
    if (!current || current.offset < r.offset + 1n) next.set(id, { topic: r.topic, partition: r.partition, offset: r.offset + 1n });
  }
  return [...next.values()];
}

function byPartition(offsets: TopicPartitionOffset[]): Record<number, bigint> {
  const out: Record<number, bigint> = {};
  for (const o of offsets) out[o.partition] = o.offset;
  return out;
}

function records(topic: string, values: string[], keyOf: (value: string, index: number) => string = (_, i) => `key-${i}`): OutgoingRecord[] {
  return values.map((value, i) => ({ topic, key: keyOf(value, i), value: Buffer.from(value) }));
}

function range(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
}

export function describeLogContract(name: string, makeLog: () => Promise<LogUnderTest>): void {
  describe(`log contract: ${name}`, () => {
    let subject: LogUnderTest;
    let log: Log;
    const open: LogConsumer[] = [];

    beforeAll(async () => {
      subject = await makeLog();
      log = subject.log;
    }, TEST_TIMEOUT_MS);

    afterAll(async () => {
      await Promise.allSettled(open.map((c) => c.close()));
      await subject?.cleanup();
    }, TEST_TIMEOUT_MS);

    function consumer(options: ConsumerOptions): LogConsumer {
      const c = log.consumer({ maxWaitMs: 200, ...options });
      open.push(c);
      return c;
    }

    async function topic(partitions: number): Promise<string> {
      const name = uniqueName('t');
      await log.admin.createTopics([{ name, partitions }]);
      return name;
    }

    async function send(topicName: string, values: string[], keyOf?: (value: string, index: number) => string) {
      return log.producer().send(records(topicName, values, keyOf));
    }

    it('reports its kind and answers ping', async () => {
      expect(['kafka', 'embedded']).toContain(log.kind);
      await expect(log.admin.ping()).resolves.toBeUndefined();
    });

    it('createTopics is idempotent and leaves an existing topic as it is', async () => {
      const name = uniqueName('t');
      await log.admin.createTopics([{ name, partitions: 3 }]);
      await log.admin.createTopics([{ name, partitions: 3 }]);
      await log.admin.createTopics([{ name, partitions: 5 }]);
      const ends = await log.admin.endOffsets(name);
      expect(ends.map((o) => o.partition).sort()).toEqual([0, 1, 2]);
      expect(ends.every((o) => o.offset === 0n && o.topic === name)).toBe(true);
    }, TEST_TIMEOUT_MS);

    it('keeps each key on one partition, the one Kafka\'s default partitioner picks, in send order', async () => {
      const t = await topic(4);
      const keys = ['trace-a', 'trace-b', 'trace-c', 'trace-d', 'trace-e'];
      const values = range('v', 40);
      const meta = await send(t, values, (_, i) => keys[i % keys.length]!);
      expect(meta).toHaveLength(values.length);
      for (const [i, m] of meta.entries()) {
        expect(m.topic).toBe(t);
        expect(m.partition).toBe(partitionFor(keys[i % keys.length]!, 4));
      }
      const reader = new Reader(consumer({ groupId: uniqueName('g'), topics: [t] }));
      await reader.until('all 40 records', () => reader.records.length >= values.length);
      for (const key of keys) {
        const mine = reader.records.filter((r) => r.key === key);
        expect(mine).toHaveLength(values.length / keys.length);
        expect(new Set(mine.map((r) => r.partition)).size).toBe(1);
        const sent = values.filter((_, i) => keys[i % keys.length] === key);
        expect(mine.map(text)).toEqual(sent);
        const offsets = mine.map((r) => r.offset);
        expect([...offsets].sort((a, b) => (a < b ? -1 : 1))).toEqual(offsets);
      }
    }, TEST_TIMEOUT_MS);

    it('takes records up to MAX_RECORD_BYTES, and one send of several MiB on one partition, in order', async () => {
      const t = await topic(1);
      const big = (i: number, size: number) => ({ topic: t, key: 'k', value: Buffer.alloc(size, 97 + (i % 26)) });
      // One key: every record in one partition, 3.5 MB in one send (Kafka refuses one batch over 1 MiB).
      const sent = [big(0, MAX_RECORD_BYTES - 1), ...Array.from({ length: 25 }, (_, i) => big(i + 1, 100_000))];
      const meta = await log.producer().send(sent);
      expect(meta.map((m) => m.offset)).toEqual(sent.map((_, i) => BigInt(i)));
      const reader = new Reader(consumer({ groupId: uniqueName('g'), topics: [t] }));
      await reader.until('every record', () => reader.records.length >= sent.length);
      expect(reader.records.map((r) => r.value?.length)).toEqual(sent.map((r) => r.value.length));
      expect(reader.records.map((r) => r.value?.[0])).toEqual(sent.map((r) => r.value[0]));
    }, TEST_TIMEOUT_MS);

    it('refuses a record over MAX_RECORD_BYTES before writing anything of its send', async () => {
      const t = await topic(1);
      const refused = log.producer().send([
        { topic: t, key: 'k', value: Buffer.from('small') },
        { topic: t, key: 'k', value: Buffer.alloc(MAX_RECORD_BYTES) },
      ]);
      await expect(refused).rejects.toThrow(/more than/);
      expect((await log.admin.endOffsets(t)).map((o) => o.offset)).toEqual([0n]);
    }, TEST_TIMEOUT_MS);

    it('gives contiguous offsets from 0 on each partition', async () => {
      const t = await topic(2);
      const first = await send(t, range('a', 10));
      const second = await send(t, range('b', 10));
      for (const p of [0, 1]) {
        const offsets = [...first, ...second].filter((m) => m.partition === p).map((m) => m.offset);
        expect(offsets).toEqual(offsets.map((_, i) => BigInt(i)));
      }
    }, TEST_TIMEOUT_MS);

    it('a group consumes everything produced', async () => {
      const t = await topic(3);
      const values = range('all', 60);
      await send(t, values.slice(0, 30));
      const reader = new Reader(consumer({ groupId: uniqueName('g'), topics: [t] }));
      await reader.next();
      await send(t, values.slice(30));
      await reader.until('all 60 records', () => new Set(reader.values()).size >= values.length);
      expect(new Set(reader.values())).toEqual(new Set(values));
      expect(reader.records).toHaveLength(values.length);
    }, TEST_TIMEOUT_MS);

    it('respects maxBatchRecords', async () => {
      const t = await topic(1);
      await send(t, range('m', 25));
      const reader = new Reader(consumer({ groupId: uniqueName('g'), topics: [t], maxBatchRecords: 10 }));
      await reader.until('25 records', () => reader.records.length >= 25);
      expect(reader.batches.every((b) => b.length <= 10)).toBe(true);
    }, TEST_TIMEOUT_MS);

    it('a new consumer of the group resumes after the committed offsets', async () => {
      const t = await topic(3);
      const group = uniqueName('g');
      const before = range('before', 20);
      await send(t, before);
      const first = new Reader(consumer({ groupId: group, topics: [t] }), { commit: true });
      await first.until('the first 20 records', () => first.records.length >= before.length);
      await first.consumer.close();

      const after = range('after', 10);
      await send(t, after);
      const second = new Reader(consumer({ groupId: group, topics: [t] }), { commit: true });
      await second.until('the 10 new records', () => second.records.length >= after.length);
      // Within a partition the old records would come first, so none of them may have appeared.
      expect(new Set(second.values())).toEqual(new Set(after));
      expect(second.records).toHaveLength(after.length);
    }, TEST_TIMEOUT_MS);

    it('delivers records that were not committed again after close', async () => {
      const t = await topic(1);
      const group = uniqueName('g');
      const values = range('u', 10);
      await send(t, values);
      const first = new Reader(consumer({ groupId: group, topics: [t] }));
      await first.until('10 records', () => first.records.length >= 10);
      // Commit only the first four.
      await first.consumer.commit([{ topic: t, partition: 0, offset: 4n }]);
      await first.consumer.close();

      const second = new Reader(consumer({ groupId: group, topics: [t] }));
      await second.until('the 6 uncommitted records', () => second.records.length >= 6);
      expect(second.values()).toEqual(values.slice(4));
    }, TEST_TIMEOUT_MS);

    it('two groups are independent', async () => {
      const t = await topic(2);
      const values = range('ind', 16);
      await send(t, values);
      const groupA = uniqueName('ga');
      const groupB = uniqueName('gb');
      const a = new Reader(consumer({ groupId: groupA, topics: [t] }), { commit: true });
      await a.until('group A to read all', () => a.records.length >= values.length);
      const b = new Reader(consumer({ groupId: groupB, topics: [t] }));
      await b.until('group B to read all', () => b.records.length >= values.length);
      expect(new Set(a.values())).toEqual(new Set(values));
      expect(new Set(b.values())).toEqual(new Set(values));
      expect(await log.admin.committedOffsets(groupB, t)).toEqual([]);
      const committedA = byPartition(await log.admin.committedOffsets(groupA, t));
      expect(committedA).toEqual(byPartition(await log.admin.endOffsets(t)));
    }, TEST_TIMEOUT_MS);

    it('two consumers in one group split the partitions and together see every record', async () => {
      const t = await topic(4);
      const group = uniqueName('g');
      const one = new Reader(consumer({ groupId: group, topics: [t] }), { commit: true });
      const two = new Reader(consumer({ groupId: group, topics: [t] }), { commit: true });

      // Warm-up: keep producing until both members have received records, i.e. the group settled on both.
      const deadline = Date.now() + DEADLINE_MS;
      let warm = 0;
      while (one.records.length === 0 || two.records.length === 0) {
        if (Date.now() > deadline) throw new Error('timed out waiting for both group members to receive records');
        await send(t, range(`warm${warm++}`, 8));
        await Promise.all([one.next(), two.next()]);
      }
      const seenBefore = { one: one.records.length, two: two.records.length };
      const warmValues = new Set([...one.values(), ...two.values()]);
      const warmProduced = warm * 8;
      // Both read concurrently until every warm-up record was seen, then the measured phase starts.
      while (warmValues.size < warmProduced) {
        if (Date.now() > deadline) throw new Error('timed out waiting for the warm-up records');
        await Promise.all([one.next(), two.next()]);
        for (const v of [...one.values(), ...two.values()]) warmValues.add(v);
      }

      const values = range('split', 80);
      await send(t, values);
      const phase = () => [...one.records.slice(seenBefore.one), ...two.records.slice(seenBefore.two)].filter((r) => text(r).startsWith('split-'));
      const stop = Date.now() + DEADLINE_MS;
      while (new Set(phase().map(text)).size < values.length) {
        if (Date.now() > stop) throw new Error(`timed out: the group saw ${new Set(phase().map(text)).size} of ${values.length}`);
        await Promise.all([one.next(), two.next()]);
      }
      const seen = phase();
      // A settled group delivers each record to exactly one member.
      expect(seen.map(text).sort()).toEqual([...values].sort());
      const partitionsOne = new Set(one.records.filter((r) => text(r).startsWith('split-')).map((r) => r.partition));
      const partitionsTwo = new Set(two.records.filter((r) => text(r).startsWith('split-')).map((r) => r.partition));
      expect([...partitionsOne].filter((p) => partitionsTwo.has(p))).toEqual([]);
      expect(partitionsOne.size + partitionsTwo.size).toBe(4);
      expect(partitionsOne.size).toBeGreaterThan(0);
      expect(partitionsTwo.size).toBeGreaterThan(0);
      expect(byPartition(await log.admin.committedOffsets(group, t))).toEqual(byPartition(await log.admin.endOffsets(t)));
    }, TEST_TIMEOUT_MS);

    it("start: 'latest' skips history for a group without commits", async () => {
      const t = await topic(2);
      await send(t, range('old', 10));
      const reader = new Reader(consumer({ groupId: uniqueName('g'), topics: [t], start: 'latest' }));
      // Keep producing until something arrives: a Kafka consumer takes its position only once it joined.
      const deadline = Date.now() + DEADLINE_MS;
      let n = 0;
      while (reader.records.length === 0) {
        if (Date.now() > deadline) throw new Error('timed out waiting for a new record');
        await send(t, [`new-${n++}`]);
        await reader.next();
      }
      expect(reader.values().some((v) => v.startsWith('old-'))).toBe(false);
    }, TEST_TIMEOUT_MS);

    it("start: 'earliest' (the default) reads history", async () => {
      const t = await topic(1);
      await send(t, range('hist', 5));
      const reader = new Reader(consumer({ groupId: uniqueName('g'), topics: [t] }));
      await reader.until('5 records', () => reader.records.length >= 5);
      expect(reader.values()).toEqual(range('hist', 5));
    }, TEST_TIMEOUT_MS);

    it('resets a group to earliest, to latest and to a timestamp', async () => {
      const t = await topic(1);
      const group = uniqueName('g');
      const base = Date.now() - 60_000;
      await log.producer().send(range('ts', 10).map((value, i) => ({ topic: t, key: 'k', value: Buffer.from(value), timestamp: base + i * 1000 })));
      const first = new Reader(consumer({ groupId: group, topics: [t] }), { commit: true });
      await first.until('10 records', () => first.records.length >= 10);
      await first.consumer.close();
      expect(byPartition(await log.admin.committedOffsets(group, t))).toEqual({ 0: 10n });

      expect(byPartition(await log.admin.resetOffsets(group, t, 'earliest'))).toEqual({ 0: 0n });
      expect(byPartition(await log.admin.committedOffsets(group, t))).toEqual({ 0: 0n });
      expect(byPartition(await log.admin.resetOffsets(group, t, 'latest'))).toEqual({ 0: 10n });
      expect(byPartition(await log.admin.committedOffsets(group, t))).toEqual({ 0: 10n });
      expect(byPartition(await log.admin.resetOffsets(group, t, { timestamp: base + 6500 }))).toEqual({ 0: 7n });
      expect(byPartition(await log.admin.resetOffsets(group, t, { timestamp: base + 5000 }))).toEqual({ 0: 5n });

      const again = new Reader(consumer({ groupId: group, topics: [t] }));
      await again.until('the 5 records after the timestamp', () => again.records.length >= 5);
      expect(again.values()).toEqual(range('ts', 10).slice(5));
    }, TEST_TIMEOUT_MS);

    it('refuses to reset the offsets of a group with active consumers', async () => {
      const t = await topic(1);
      const group = uniqueName('g');
      await send(t, ['x']);
      const reader = new Reader(consumer({ groupId: group, topics: [t] }), { commit: true });
      await reader.until('the record', () => reader.records.length >= 1);
      await expect(log.admin.resetOffsets(group, t, 'earliest')).rejects.toThrow();
      await reader.consumer.close();
      expect(byPartition(await log.admin.resetOffsets(group, t, 'earliest'))).toEqual({ 0: 0n });
    }, TEST_TIMEOUT_MS);

    it('endOffsets and committedOffsets agree with what was produced and committed', async () => {
      const t = await topic(3);
      const group = uniqueName('g');
      expect(await log.admin.committedOffsets(group, t)).toEqual([]);
      const meta = await send(t, range('eo', 30));
      const produced: Record<number, bigint> = { 0: 0n, 1: 0n, 2: 0n };
      for (const m of meta) produced[m.partition]! += 1n;
      expect(byPartition(await log.admin.endOffsets(t))).toEqual(produced);

      const reader = new Reader(consumer({ groupId: group, topics: [t] }));
      await reader.until('30 records', () => reader.records.length >= 30);
      const busiest = Object.entries(produced).sort((a, b) => (a[1] < b[1] ? 1 : -1))[0]!;
      const partition = Number(busiest[0]);
      await reader.consumer.commit([{ topic: t, partition, offset: 1n }]);
      expect(await log.admin.committedOffsets(group, t)).toEqual([{ topic: t, partition, offset: 1n }]);
    }, TEST_TIMEOUT_MS);

    it('round-trips keys, values, headers and timestamps', async () => {
      const t = await topic(1);
      const value = Buffer.from([0, 1, 2, 254, 255, 0x7b, 0x7d]);
      const headers = { 'content-type': 'application/avro', 'x-ünïcode': 'välue ✓', empty: '' };
      const timestamp = Date.now() - 12_345;
      const before = Date.now();
      await log.producer().send([
        { topic: t, key: 'trace-✓', value, headers, timestamp },
        { topic: t, key: 'plain', value: Buffer.alloc(0) },
      ]);
      const after = Date.now();
      const reader = new Reader(consumer({ groupId: uniqueName('g'), topics: [t] }));
      await reader.until('2 records', () => reader.records.length >= 2);
      const [first, second] = reader.records;
      expect(first).toMatchObject({ topic: t, partition: 0, offset: 0n, key: 'trace-✓', headers, timestamp });
      expect(Buffer.compare(first!.value!, value)).toBe(0);
      expect(second!.offset).toBe(1n);
      expect(second!.headers).toEqual({});
      expect(second!.value?.length ?? 0).toBe(0);
      expect(second!.timestamp).toBeGreaterThanOrEqual(before - 1000);
      expect(second!.timestamp).toBeLessThanOrEqual(after + 1000);
    }, TEST_TIMEOUT_MS);

    it('an idle consumer yields empty batches', async () => {
      const t = await topic(1);
      const reader = new Reader(consumer({ groupId: uniqueName('g'), topics: [t], maxWaitMs: 100 }));
      await reader.until('three empty batches', () => reader.batches.filter((b) => b.length === 0).length >= 3);
      expect(reader.records).toEqual([]);
    }, TEST_TIMEOUT_MS);

    it('ends the batches of a closed consumer', async () => {
      const t = await topic(1);
      const c = consumer({ groupId: uniqueName('g'), topics: [t] });
      const iterator = c.batches()[Symbol.asyncIterator]();
      await iterator.next();
      const pending = (async () => {
        for (;;) {
          const step = await iterator.next();
          if (step.done) return 'ended';
        }
      })();
      await c.close();
      await expect(pending).resolves.toBe('ended');
    }, TEST_TIMEOUT_MS);
  });
}
