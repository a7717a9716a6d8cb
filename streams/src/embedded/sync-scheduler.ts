/**
 * Group commit: sends write their records without fsync and then ask for durability; every request
 * made while an fsync round runs is served by the next round, so many concurrent sends share one
 * fsync per partition instead of paying one each.
 */
import type { PartitionLog } from './partition-log.js';

export interface SyncSchedulerOptions {
  /** Told which partitions' durable end moved after a round (to wake their consumers). */
  onDurable(partitions: PartitionLog[]): void;
  /** Told when an fsync fails: the data's fate is unknown, the log must stop taking writes. */
  onFailure(error: unknown): void;
}

export class SyncScheduler {
  private readonly dirty = new Set<PartitionLog>();
  private waiters: Array<{ resolve(): void; reject(error: unknown): void }> = [];
  private loop: Promise<void> | null = null;

  constructor(private readonly options: SyncSchedulerOptions) {}

  /** Resolves once everything written to `partitions` before the call is durable. */
  request(partitions: Iterable<PartitionLog>): Promise<void> {
    for (const p of partitions) this.dirty.add(p);
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    // The first round starts on the next turn of the event loop, so the sends of this turn share it.
    this.loop ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.run());
    return done;
  }

  /** Waits until no round is running or pending. */
  async drain(): Promise<void> {
    while (this.loop) await this.loop;
  }

  private async run(): Promise<void> {
    try {
      while (this.waiters.length > 0) {
        const waiters = this.waiters;
        const partitions = [...this.dirty];
        this.waiters = [];
        this.dirty.clear();
        try {
          const moved = await Promise.all(partitions.map((p) => p.sync()));
          this.options.onDurable(partitions.filter((_, i) => moved[i]));
          for (const w of waiters) w.resolve();
        } catch (error) {
          this.options.onFailure(error);
          for (const w of waiters) w.reject(error);
        }
      }
    } finally {
      this.loop = null;
    }
  }
}
