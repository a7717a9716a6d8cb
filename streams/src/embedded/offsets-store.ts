/**
 * Committed offsets of consumer groups, one JSON file per group under `groups/`, each replaced
 * atomically (write a temp file, fsync it, rename it over the old one, fsync the folder). Commits
 * that arrive while a write is under way are coalesced into the next write, as fsyncs are for sends.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

interface GroupFile {
  group: string;
  /** topic → partition → committed offset (decimal string). */
  offsets: Record<string, Record<string, string>>;
}

function fileOf(group: string): string {
  return `${Buffer.from(group, 'utf8').toString('hex')}.json`;
}

export class OffsetsStore {
  /** group → "topic\u0000partition" → offset */
  private readonly groups = new Map<string, Map<string, number>>();
  private readonly dirty = new Set<string>();
  private waiters: Array<{ resolve(): void; reject(error: unknown): void }> = [];
  private running: Promise<void> | null = null;

  private constructor(private readonly dir: string) {}

  /** Loads every group's offsets from `dir` (created when missing); leftover temp files are removed. */
  static open(dir: string): OffsetsStore {
    mkdirSync(dir, { recursive: true });
    const store = new OffsetsStore(dir);
    for (const file of readdirSync(dir)) {
      if (file.endsWith('.tmp')) {
        rmSync(join(dir, file), { force: true });
        continue;
      }
      if (!file.endsWith('.json')) continue;
      let parsed: GroupFile;
      try {
        parsed = JSON.parse(readFileSync(join(dir, file), 'utf8')) as GroupFile;
      } catch (error) {
        throw new Error(`embedded log: cannot read committed offsets from ${join(dir, file)}: ${(error as Error).message}`, { cause: error });
      }
      const offsets = new Map<string, number>();
      for (const [topic, partitions] of Object.entries(parsed.offsets ?? {})) {
        for (const [partition, offset] of Object.entries(partitions)) offsets.set(`${topic}\u0000${partition}`, Number(offset));
      }
      store.groups.set(parsed.group, offsets);
    }
    return store;
  }

  get(group: string, topic: string, partition: number): number | undefined {
    return this.groups.get(group)?.get(`${topic}\u0000${partition}`);
  }

  /** The group's committed offsets on a topic, by partition. */
  ofTopic(group: string, topic: string): Array<{ partition: number; offset: number }> {
    const out: Array<{ partition: number; offset: number }> = [];
    for (const [id, offset] of this.groups.get(group) ?? []) {
      const [t, p] = id.split('\u0000');
      if (t === topic) out.push({ partition: Number(p), offset });
    }
    return out.sort((a, b) => a.partition - b.partition);
  }

  /** Records the offsets and resolves once they are durable. */
  commit(group: string, entries: Array<{ topic: string; partition: number; offset: number }>): Promise<void> {
    let offsets = this.groups.get(group);
    if (!offsets) this.groups.set(group, (offsets = new Map()));
    for (const e of entries) offsets.set(`${e.topic}\u0000${e.partition}`, e.offset);
    this.dirty.add(group);
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.running) this.running = this.writeLoop();
    return done;
  }

  /** Forgets the group's offsets and removes its file (after the writes under way). */
  async forget(group: string): Promise<void> {
    await this.flush();
    this.groups.delete(group);
    this.dirty.delete(group);
    await rm(join(this.dir, fileOf(group)), { force: true });
  }

  /** Waits for the writes under way. */
  async flush(): Promise<void> {
    while (this.running) await this.running.catch(() => undefined);
  }

  private async writeLoop(): Promise<void> {
    try {
      while (this.waiters.length > 0) {
        const waiters = this.waiters;
        const groups = [...this.dirty];
        this.waiters = [];
        this.dirty.clear();
        try {
          await Promise.all(groups.map((g) => this.writeGroup(g)));
          await this.syncDir();
          for (const w of waiters) w.resolve();
        } catch (error) {
          for (const g of groups) this.dirty.add(g);
          for (const w of waiters) w.reject(error);
        }
      }
    } finally {
      this.running = null;
    }
  }

  private async writeGroup(group: string): Promise<void> {
    const file: GroupFile = { group, offsets: {} };
    for (const [id, offset] of this.groups.get(group) ?? []) {
      const [topic, partition] = id.split('\u0000') as [string, string];
      (file.offsets[topic] ??= {})[partition] = String(offset);
    }
    const target = join(this.dir, fileOf(group));
    const temp = `${target}.tmp`;
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(JSON.stringify(file));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  }

  private async syncDir(): Promise<void> {
    const handle = await open(this.dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}
