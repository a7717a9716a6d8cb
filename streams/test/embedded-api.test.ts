/**
 * What the embedded log does beyond the shared contract: clear errors for bad input, a closed log
 * refusing work, auto-created topics, wake-up on append, rebalancing, retention, group commit.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEmbeddedLog, type EmbeddedLogOptions } from '../src/embedded/index.js';
import { LogUnavailableError } from '../src/errors.js';
import type { Log, LogConsumer, LogRecord, OutgoingRecord } from '../src/log.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function openLog(options: Partial<EmbeddedLogOptions> = {}): Promise<Log> {
  const dir = await mkdtemp(join(tmpdir(), 'metronis-embedded-api-'));
  const log = await createEmbeddedLog({ dir, ...options });
  cleanups.push(async () => {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  });
  return log;
}

function rec(topic: string, key: string, value = key): OutgoingRecord {
  return { topic, key, value: Buffer.from(value) };
}

async function readUntil(consumer: LogConsumer, done: (seen: LogRecord[]) => boolean): Promise<LogRecord[]> {
  const seen: LogRecord[] = [];
  const iterator = consumer.batches()[Symbol.asyncIterator]();
  while (!done(seen)) {
    const step = await iterator.next();
    if (step.done) break;
    seen.push(...step.value);
  }
  return seen;
}

describe('embedded log', () => {
  it('rejects every method with LogUnavailableError after close', async () => {
    const log = await openLog();
    await log.admin.createTopics([{ name: 't', partitions: 1 }]);
    const producer = log.producer();
    const consumer = log.consumer({ groupId: 'g', topics: ['t'] });
    await log.close();
    await expect(log.admin.createTopics([{ name: 'u', partitions: 1 }])).rejects.toBeInstanceOf(LogUnavailableError);
    await expect(log.admin.endOffsets('t')).rejects.toBeInstanceOf(LogUnavailableError);
    await expect(log.admin.committedOffsets('g', 't')).rejects.toBeInstanceOf(LogUnavailableError);
    await expect(log.admin.resetOffsets('g', 't', 'earliest')).rejects.toBeInstanceOf(LogUnavailableError);
    await expect(log.admin.ping()).rejects.toBeInstanceOf(LogUnavailableError);
    await expect(producer.send([rec('t', 'k')])).rejects.toBeInstanceOf(LogUnavailableError);
    await expect(log.producer().send([rec('t', 'k')])).rejects.toBeInstanceOf(LogUnavailableError);
    await expect(consumer.commit([{ topic: 't', partition: 0, offset: 0n }])).rejects.toBeInstanceOf(LogUnavailableError);
    const late = log.consumer({ groupId: 'g', topics: ['t'] });
    await expect(late.batches()[Symbol.asyncIterator]().next()).rejects.toBeInstanceOf(LogUnavailableError);
    await expect(late.commit([])).rejects.toBeInstanceOf(LogUnavailableError);
    await expect(log.close()).resolves.toBeUndefined();
  });

  it('ends the batches of its consumers when the log closes', async () => {
    const log = await openLog();
    await log.admin.createTopics([{ name: 't', partitions: 1 }]);
    const consumer = log.consumer({ groupId: 'g', topics: ['t'], maxWaitMs: 60_000 });
    const iterator = consumer.batches()[Symbol.asyncIterator]();
    const pending = iterator.next();
    await log.close();
    await expect(pending).resolves.toEqual({ done: true, value: undefined });
  });

  it('refuses bad options with what is wrong', async () => {
    await expect(createEmbeddedLog({ dir: '' })).rejects.toThrow(/options.dir must be a non-empty folder path/);
    await expect(createEmbeddedLog({ dir: join(tmpdir(), 'unused'), defaultPartitions: 0 })).rejects.toThrow(/defaultPartitions must be a positive integer/);
  });

  it('refuses bad records, naming the record and the field, and writes none of the batch', async () => {
    const log = await openLog({ maxRecordBytes: 1000 });
    await log.admin.createTopics([{ name: 't', partitions: 1 }]);
    const send = (r: unknown) => log.producer().send([rec('t', 'fine'), r as OutgoingRecord]);
    await expect(send({ topic: 't', key: 'k', value: 'not a buffer' })).rejects.toThrow('send: records[1].value must be a Buffer');
    await expect(send({ topic: 't', key: 7, value: Buffer.from('v') })).rejects.toThrow('send: records[1].key must be a string');
    await expect(send({ topic: 't', key: 'k', value: Buffer.from('v'), timestamp: -1 })).rejects.toThrow('records[1].timestamp must be epoch milliseconds');
    await expect(send({ topic: 't', key: 'k', value: Buffer.from('v'), headers: { a: 1 } })).rejects.toThrow('records[1].headers["a"] must be a string');
    await expect(send({ topic: 't', key: 'k', value: Buffer.alloc(2000) })).rejects.toThrow(/records\[1\] is \d+ bytes, more than maxRecordBytes \(1000\)/);
    await expect(send({ topic: '../escape', key: 'k', value: Buffer.from('v') })).rejects.toThrow(/topic name "..\/escape" is invalid/);
    await expect(log.producer().send('nope' as never)).rejects.toThrow('send takes an array of records');
    expect(await log.admin.endOffsets('t')).toEqual([{ topic: 't', partition: 0, offset: 0n }]);
  });

  it('refuses bad admin calls with what is wrong', async () => {
    const log = await openLog();
    await expect(log.admin.createTopics([{ name: 'a/b', partitions: 1 }])).rejects.toThrow(/createTopics: topics\[0\]: topic name "a\/b" is invalid/);
    await expect(log.admin.createTopics([{ name: 'ok', partitions: 0 }])).rejects.toThrow('createTopics: topics[0].partitions must be an integer from 1 to 10000, got 0');
    await expect(log.admin.endOffsets('missing')).rejects.toThrow('endOffsets: topic "missing" does not exist');
    await expect(log.admin.committedOffsets('g', 'missing')).rejects.toThrow('committedOffsets: topic "missing" does not exist');
    await log.admin.createTopics([{ name: 't', partitions: 1 }]);
    await expect(log.admin.resetOffsets('g', 't', 'middle' as never)).rejects.toThrow(`"to" must be 'earliest', 'latest' or { timestamp: <epoch ms> }`);
    const consumer = log.consumer({ groupId: 'g', topics: ['t'] });
    await expect(log.admin.resetOffsets('g', 't', 'earliest')).rejects.toThrow('group "g" has 1 active consumer(s); close them before resetting its offsets');
    await consumer.close();
  });

  it('refuses bad consumer options and commits with what is wrong', async () => {
    const log = await openLog();
    await log.admin.createTopics([{ name: 't', partitions: 2 }]);
    const noGroup = log.consumer({ groupId: '', topics: ['t'] });
    await expect(noGroup.batches()[Symbol.asyncIterator]().next()).rejects.toThrow('consumer: groupId must be a non-empty string');
    const badBatch = log.consumer({ groupId: 'g', topics: ['t'], maxBatchRecords: 0 });
    await expect(badBatch.batches()[Symbol.asyncIterator]().next()).rejects.toThrow('maxBatchRecords must be a positive integer, got 0');

    const consumer = log.consumer({ groupId: 'g', topics: ['t'] });
    await expect(consumer.commit([{ topic: 'other', partition: 0, offset: 0n }])).rejects.toThrow('commit: offsets[0].topic "other" is not a topic this consumer subscribed to (t)');
    await expect(consumer.commit([{ topic: 't', partition: 5, offset: 0n }])).rejects.toThrow('commit: offsets[0].partition 5 does not exist in topic "t"');
    await expect(consumer.commit([{ topic: 't', partition: 0, offset: 3n }])).rejects.toThrow('offsets[0].offset must be a bigint between 0 and the end offset 0 of t/0, got 3');
    await consumer.close();
    await expect(consumer.commit([])).rejects.toThrow('is closed; it cannot commit');
  });

  it('creates unknown topics on send with defaultPartitions, or refuses when auto-creation is off', async () => {
    const log = await openLog({ defaultPartitions: 3 });
    await log.producer().send([rec('auto', 'k')]);
    expect(await log.admin.endOffsets('auto')).toHaveLength(3);

    const strict = await openLog({ autoCreateTopics: false });
    await expect(strict.producer().send([rec('auto', 'k')])).rejects.toThrow('send: records[0]: topic "auto" does not exist (create it with admin.createTopics');
    const consumer = strict.consumer({ groupId: 'g', topics: ['auto'] });
    await expect(consumer.batches()[Symbol.asyncIterator]().next()).rejects.toThrow('consumer: topics: topic "auto" does not exist');
  });

  it('wakes a waiting consumer when a record arrives instead of waiting out maxWaitMs', async () => {
    const log = await openLog();
    await log.admin.createTopics([{ name: 't', partitions: 1 }]);
    // maxWaitMs is longer than the test timeout: only a wake-up can deliver the record in time.
    const consumer = log.consumer({ groupId: 'g', topics: ['t'], maxWaitMs: 600_000 });
    const iterator = consumer.batches()[Symbol.asyncIterator]();
    const pending = iterator.next();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await log.producer().send([rec('t', 'k', 'hello')]);
    const step = await pending;
    expect(step.done).toBe(false);
    expect(step.value!.map((r: LogRecord) => r.value!.toString())).toEqual(['hello']);
    await consumer.close();
  }, 10_000);

  it('moves a partition with its uncommitted records to a member that joins, and back when it leaves', async () => {
    const log = await openLog();
    await log.admin.createTopics([{ name: 't', partitions: 2 }]);
    const keys = Array.from({ length: 20 }, (_, i) => `key-${i}`);
    await log.producer().send(keys.map((k) => rec('t', k)));
    const first = log.consumer({ groupId: 'g', topics: ['t'], maxWaitMs: 20 });
    const seenFirst = await readUntil(first, (seen) => seen.length >= 20);
    expect(new Set(seenFirst.map((r) => r.partition))).toEqual(new Set([0, 1]));
    await first.commit([{ topic: 't', partition: 0, offset: 1n }, { topic: 't', partition: 1, offset: 1n }]);

    const second = log.consumer({ groupId: 'g', topics: ['t'], maxWaitMs: 20 });
    const seenSecond = await readUntil(second, (seen) => seen.length > 0);
    const moved = seenSecond[0]!.partition;
    // The new owner starts at the committed offset: the uncommitted records come again.
    expect(seenSecond[0]!.offset).toBe(1n);
    expect(seenSecond.every((r) => r.partition === moved)).toBe(true);

    // A commit by the old owner for the partition it lost is ignored.
    await first.commit([{ topic: 't', partition: moved, offset: 5n }]);
    expect((await log.admin.committedOffsets('g', 't')).find((o) => o.partition === moved)!.offset).toBe(1n);

    await second.close();
    const kept = 1 - moved;
    const iterator = first.batches()[Symbol.asyncIterator]();
    const back: LogRecord[] = [];
    while (!back.some((r) => r.partition === moved)) back.push(...(await iterator.next()).value!);
    expect(back.filter((r) => r.partition === moved)[0]!.offset).toBe(1n);
    expect(back.some((r) => r.partition === kept)).toBe(false);
    await first.close();
  });

  it('shares fsyncs between concurrent sends and gives each record its own offset', async () => {
    const log = await openLog();
    await log.admin.createTopics([{ name: 't', partitions: 4 }]);
    const results = await Promise.all(Array.from({ length: 64 }, (_, i) => log.producer().send([rec('t', `k${i}`), rec('t', `j${i}`)])));
    const all = results.flat();
    expect(all).toHaveLength(128);
    for (const p of [0, 1, 2, 3]) {
      const offsets = all.filter((m) => m.partition === p).map((m) => Number(m.offset)).sort((a, b) => a - b);
      expect(offsets).toEqual(offsets.map((_, i) => i));
    }
    const ends = await log.admin.endOffsets('t');
    expect(ends.reduce((sum, o) => sum + Number(o.offset), 0)).toBe(128);
  });

  it('deletes whole segments older than the topic retention, and consumers start after them', async () => {
    let now = 1_000_000_000;
    const log = await openLog({ segmentBytes: 200, clock: () => now });
    await log.admin.createTopics([{ name: 'short', partitions: 1, retentionMs: 60_000 }]);
    for (let i = 0; i < 10; i++) await log.producer().send([rec('short', 'k', `old-${i}-${'x'.repeat(100)}`)]);
    now += 120_000;
    for (let i = 0; i < 4; i++) await log.producer().send([rec('short', 'k', `new-${i}-${'x'.repeat(100)}`)]);
    const [earliest] = await log.admin.resetOffsets('g', 'short', 'earliest');
    expect(earliest!.offset).toBeGreaterThan(0n);
    const consumer = log.consumer({ groupId: 'g', topics: ['short'], maxWaitMs: 20 });
    const seen = await readUntil(consumer, (s) => s.some((r) => r.value!.toString().startsWith('new-3')));
    expect(seen[0]!.offset).toBe(earliest!.offset);
    expect(seen.filter((r) => r.value!.toString().startsWith('new-'))).toHaveLength(4);
    await consumer.close();
  });
});
