/**
 * The embedded log's promises that Kafka keeps by replication and we keep on one disk: nothing
 * acknowledged is lost by a crash, a torn tail is cut at open, committed offsets survive a
 * restart, and only one process may open a log folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createEmbeddedLog } from '../src/embedded/index.js';
import type { Log, LogRecord } from '../src/log.js';

const here = dirname(fileURLToPath(import.meta.url));
const writer = join(here, 'fixtures', 'embedded-writer.ts');
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'metronis-embedded-durability-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function open(dir: string, options: Partial<Parameters<typeof createEmbeddedLog>[0]> = {}): Promise<Log> {
  const log = await createEmbeddedLog({ dir, ...options });
  cleanups.push(() => log.close());
  return log;
}

/** Every record of a topic, read by a fresh group from the earliest offsets. */
async function readAll(log: Log, topic: string): Promise<LogRecord[]> {
  const ends = await log.admin.endOffsets(topic);
  const total = ends.reduce((sum, o) => sum + Number(o.offset), 0);
  const consumer = log.consumer({ groupId: `read-all-${Math.random()}`, topics: [topic], maxWaitMs: 50 });
  const out: LogRecord[] = [];
  let empty = 0;
  for await (const batch of consumer.batches()) {
    out.push(...batch);
    empty = batch.length === 0 ? empty + 1 : 0;
    if (out.length >= total || empty > 20) break;
  }
  await consumer.close();
  return out;
}

function spawnWriter(args: string[]): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', writer, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

function segmentFiles(dir: string, topic: string, partition: number): string[] {
  const folder = join(dir, 'topics', topic, String(partition));
  return readdirSync(folder).filter((f) => f.endsWith('.log')).sort().map((f) => join(folder, f));
}

describe('embedded log durability', () => {
  it('keeps every acknowledged record, intact and once, when the writer is killed mid-stream', async () => {
    const dir = await tempDir();
    const child = spawnWriter(['write', dir, 'crash']);
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += String(d)));
    const acked: Array<{ key: string; value: string; partition: number; offset: string }> = [];
    const lines = createInterface({ input: child.stdout! });
    await new Promise<void>((resolve, reject) => {
      lines.on('line', (line) => {
        acked.push(JSON.parse(line));
        if (acked.length >= 2000) resolve();
      });
      child.once('exit', (code) => reject(new Error(`the writer exited (${code}) before it was killed: ${stderr}`)));
    });
    child.kill('SIGKILL');
    await exited(child);
    lines.close();

    const log = await open(dir);
    const records = await readAll(log, 'crash');
    const byPosition = new Map(records.map((r) => [`${r.partition}/${r.offset}`, r]));
    for (const a of acked) {
      const found = byPosition.get(`${a.partition}/${a.offset}`);
      expect(found, `acknowledged ${a.key} at ${a.partition}/${a.offset}`).toBeDefined();
      expect(found!.key).toBe(a.key);
      expect(found!.value!.toString()).toBe(a.value);
    }
    const values = records.map((r) => r.value!.toString());
    expect(new Set(values).size).toBe(values.length);
    for (const p of [0, 1, 2]) {
      const offsets = records.filter((r) => r.partition === p).map((r) => Number(r.offset));
      expect(offsets).toEqual(offsets.map((_, i) => i));
    }

    // The reopened log takes new writes after what survived.
    const ends = await log.admin.endOffsets('crash');
    const [meta] = await log.producer().send([{ topic: 'crash', key: 'after-restart', value: Buffer.from('new') }]);
    expect(meta!.offset).toBe(ends[meta!.partition]!.offset);
  }, 60_000);

  it('cuts garbage appended to a partition file and keeps the records before it', async () => {
    const dir = await tempDir();
    let log = await createEmbeddedLog({ dir });
    await log.admin.createTopics([{ name: 'torn', partitions: 1 }]);
    await log.producer().send(Array.from({ length: 10 }, (_, i) => ({ topic: 'torn', key: `k${i}`, value: Buffer.from(`v${i}`) })));
    await log.close();
    const [file] = segmentFiles(dir, 'torn', 0);
    const size = statSync(file!).size;
    appendFileSync(file!, Buffer.from([0, 0, 0, 40, 1, 2, 3, 4, 5, 6, 7, 8, 9]));

    const warnings: object[] = [];
    log = await open(dir, { logger: { debug() {}, info() {}, error() {}, warn: (obj) => warnings.push(obj) } });
    expect(statSync(file!).size).toBe(size);
    expect(warnings).toEqual([expect.objectContaining({ topic: 'torn', partition: 0, validBytes: size, droppedBytes: 13 })]);
    expect(await log.admin.endOffsets('torn')).toEqual([{ topic: 'torn', partition: 0, offset: 10n }]);
    const [meta] = await log.producer().send([{ topic: 'torn', key: 'k10', value: Buffer.from('v10') }]);
    expect(meta!.offset).toBe(10n);
    const records = await readAll(log, 'torn');
    expect(records.map((r) => r.value!.toString())).toEqual(Array.from({ length: 11 }, (_, i) => `v${i}`));
  });

  it('drops a half-written last record and a record whose checksum does not match', async () => {
    const dir = await tempDir();
    let log = await createEmbeddedLog({ dir });
    await log.admin.createTopics([{ name: 'half', partitions: 1 }]);
    await log.producer().send(Array.from({ length: 5 }, (_, i) => ({ topic: 'half', key: 'k', value: Buffer.from(`record-${i}`) })));
    await log.close();
    const [file] = segmentFiles(dir, 'half', 0);
    truncateSync(file!, statSync(file!).size - 3);

    log = await createEmbeddedLog({ dir });
    expect((await readAll(log, 'half')).map((r) => r.value!.toString())).toEqual(['record-0', 'record-1', 'record-2', 'record-3']);
    await log.close();

    // Flip one byte inside the last record's value: its CRC no longer matches.
    const bytes = Buffer.from(readFileSync(file!));
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
    writeFileSync(file!, bytes);
    log = await open(dir);
    expect((await readAll(log, 'half')).map((r) => r.value!.toString())).toEqual(['record-0', 'record-1', 'record-2']);
  });

  it('keeps records larger than a smaller maxRecordBytes given at reopen, and odd header names', async () => {
    const dir = await tempDir();
    let log = await createEmbeddedLog({ dir });
    await log.producer().send([{ topic: 'big', key: 'k', value: Buffer.alloc(5000, 7), headers: Object.fromEntries([['__proto__', 'kept']]) }]);
    await log.close();
    log = await open(dir, { maxRecordBytes: 1000 });
    const [record] = await readAll(log, 'big');
    expect(record!.value!.length).toBe(5000);
    expect(Object.getOwnPropertyDescriptor(record!.headers, '__proto__')?.value).toBe('kept');
  });

  it('refuses to open when a segment that is not the last one is corrupt', async () => {
    const dir = await tempDir();
    const log = await createEmbeddedLog({ dir, segmentBytes: 256 });
    await log.admin.createTopics([{ name: 'rolled', partitions: 1 }]);
    for (let i = 0; i < 20; i++) await log.producer().send([{ topic: 'rolled', key: 'k', value: Buffer.alloc(100, i) }]);
    await log.close();
    const files = segmentFiles(dir, 'rolled', 0);
    expect(files.length).toBeGreaterThan(2);
    appendFileSync(files[0]!, Buffer.from('garbage'));
    await expect(createEmbeddedLog({ dir })).rejects.toThrow(/is not the last segment; the partition is corrupt/);
  });

  it('reads records across rolled segments after a reopen', async () => {
    const dir = await tempDir();
    let log = await createEmbeddedLog({ dir, segmentBytes: 1024 });
    await log.admin.createTopics([{ name: 'roll', partitions: 2 }]);
    const sent = Array.from({ length: 200 }, (_, i) => `value-${i}`);
    const all = sent.map((v, i) => ({ topic: 'roll', key: `k${i}`, value: Buffer.from(v), headers: { i: String(i) } }));
    // A segment rolls between appends, so send in several batches.
    for (let i = 0; i < all.length; i += 10) await log.producer().send(all.slice(i, i + 10));
    await log.close();
    expect(segmentFiles(dir, 'roll', 0).length).toBeGreaterThan(1);
    log = await open(dir, { segmentBytes: 1024 });
    const records = await readAll(log, 'roll');
    expect(records.map((r) => r.value!.toString()).sort()).toEqual([...sent].sort());
    expect(records.every((r) => r.headers.i === r.value!.toString().slice('value-'.length))).toBe(true);
  });

  it('keeps committed offsets across a restart', async () => {
    const dir = await tempDir();
    let log = await createEmbeddedLog({ dir });
    await log.admin.createTopics([{ name: 'offsets', partitions: 2 }]);
    await log.producer().send(Array.from({ length: 10 }, (_, i) => ({ topic: 'offsets', key: `k${i}`, value: Buffer.from(`v${i}`) })));
    const consumer = log.consumer({ groupId: 'g', topics: ['offsets'] });
    const iterator = consumer.batches()[Symbol.asyncIterator]();
    await iterator.next();
    await consumer.commit([{ topic: 'offsets', partition: 0, offset: 2n }, { topic: 'offsets', partition: 1, offset: 1n }]);
    await consumer.close();
    await log.close();

    log = await open(dir);
    expect(await log.admin.committedOffsets('g', 'offsets')).toEqual([
      { topic: 'offsets', partition: 0, offset: 2n },
      { topic: 'offsets', partition: 1, offset: 1n },
    ]);
    const ends = await log.admin.endOffsets('offsets');
    const again = log.consumer({ groupId: 'g', topics: ['offsets'] });
    const seen: LogRecord[] = [];
    for await (const batch of again.batches()) {
      seen.push(...batch);
      if (seen.length >= Number(ends[0]!.offset) - 2 + Number(ends[1]!.offset) - 1) break;
    }
    expect(seen.filter((r) => r.partition === 0)[0]!.offset).toBe(2n);
    expect(seen.filter((r) => r.partition === 1)[0]!.offset).toBe(1n);
    await again.close();
  });

  it('refuses a second opener of the same folder in this process, and takes it once closed', async () => {
    const dir = await tempDir();
    const log = await createEmbeddedLog({ dir });
    await expect(createEmbeddedLog({ dir })).rejects.toThrow(/already open in this process/);
    await log.close();
    await open(dir);
  });

  it('refuses to open a folder another running process holds, and takes over its lock once it died', async () => {
    const dir = await tempDir();
    const child = spawnWriter(['hold', dir]);
    const lines = createInterface({ input: child.stdout! });
    await new Promise<void>((resolve, reject) => {
      lines.on('line', (line) => line === 'ready' && resolve());
      child.once('exit', (code) => reject(new Error(`the holder exited early (${code})`)));
    });
    await expect(createEmbeddedLog({ dir })).rejects.toThrow(new RegExp(`locked by the running process ${child.pid}`));
    child.kill('SIGKILL');
    await exited(child);
    lines.close();
    const log = await open(dir);
    await expect(log.admin.ping()).resolves.toBeUndefined();
  }, 60_000);
});

