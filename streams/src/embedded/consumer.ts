/**
 * A consumer of the embedded log: a member of its group that fetches from the partitions the group
 * assigned it, from its position (the committed offset when it got the partition, else the start
 * policy). It sleeps while there is nothing to read and is woken by appends, or yields an empty
 * batch after `maxWaitMs` so callers can flush on time.
 */
import { LogUnavailableError } from '../errors.js';
import type { ConsumerOptions, LogConsumer, LogRecord, TopicPartitionOffset } from '../log.js';
import type { GroupCoordinator, GroupMember, TopicPartition } from './groups.js';
import type { OffsetsStore } from './offsets-store.js';
import type { PartitionLog } from './partition-log.js';

/** What a consumer needs from the log that made it. */
export interface ConsumerContext {
  partitionLog(topic: string, partition: number): PartitionLog | undefined;
  offsets: OffsetsStore;
  coordinator: GroupCoordinator;
  /** Throws `LogUnavailableError` when the log is closed or failed. */
  check(): void;
  maxFetchBytes: number;
  /** Called once the consumer left its group. */
  closed(consumer: EmbeddedConsumer): void;
  logger: { debug(obj: object, msg?: string): void };
}

interface Owned extends TopicPartition {
  position: number;
}

export class EmbeddedConsumer implements LogConsumer, GroupMember {
  readonly topics: readonly string[];
  private owned = new Map<string, Owned>();
  private rotation = 0;
  private isClosed = false;
  private readonly sleepers = new Set<() => void>();
  private readonly group: string;
  private readonly start: 'earliest' | 'latest';
  private readonly maxBatchRecords: number;
  private readonly maxWaitMs: number;

  constructor(private readonly ctx: ConsumerContext, options: ConsumerOptions, private readonly failure?: Error) {
    // Options were validated by the log unless `failure` says why they were not usable.
    this.group = String(options?.groupId);
    this.topics = Array.isArray(options?.topics) ? [...new Set(options.topics)] : [];
    this.start = options?.start ?? 'earliest';
    this.maxBatchRecords = options?.maxBatchRecords ?? 500;
    this.maxWaitMs = options?.maxWaitMs ?? 100;
    if (failure) this.isClosed = true;
    else ctx.coordinator.join(this.group, this);
  }

  assign(partitions: TopicPartition[]): void {
    const next = new Map<string, Owned>();
    for (const tp of partitions) {
      const id = `${tp.topic}/${tp.partition}`;
      next.set(id, this.owned.get(id) ?? { ...tp, position: this.initialPosition(tp) });
    }
    this.owned = next;
    this.ctx.logger.debug({ group: this.group, partitions: [...next.keys()] }, 'embedded log: group assignment');
    this.wake();
  }

  private initialPosition(tp: TopicPartition): number {
    const committed = this.ctx.offsets.get(this.group, tp.topic, tp.partition);
    if (committed !== undefined) return committed;
    const log = this.ctx.partitionLog(tp.topic, tp.partition)!;
    return this.start === 'latest' ? log.durableEnd : log.startOffset;
  }

  /** Wakes a fetch waiting for records (an append, a rebalance, a close). */
  wake(): void {
    for (const wake of [...this.sleepers]) wake();
  }

  subscribes(topic: string): boolean {
    return this.topics.includes(topic);
  }

  async *batches(): AsyncGenerator<LogRecord[]> {
    if (this.failure) throw this.failure;
    this.ctx.check();
    while (!this.isClosed) {
      let batch = this.fetch();
      const deadline = Date.now() + this.maxWaitMs;
      while (batch.length === 0 && !this.isClosed) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        await this.sleep(left);
        if (!this.isClosed) batch = this.fetch();
      }
      if (this.isClosed) return;
      yield batch;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  private fetch(): LogRecord[] {
    const owned = [...this.owned.values()];
    const out: LogRecord[] = [];
    if (owned.length === 0) return out;
    let budget = this.ctx.maxFetchBytes;
    const first = this.rotation++ % owned.length;
    for (let k = 0; k < owned.length && out.length < this.maxBatchRecords && budget > 0; k++) {
      const o = owned[(first + k) % owned.length]!;
      const log = this.ctx.partitionLog(o.topic, o.partition)!;
      if (o.position < log.startOffset) o.position = log.startOffset;
      if (o.position >= log.durableEnd) continue;
      let records;
      try {
        records = log.read(o.position, this.maxBatchRecords - out.length, budget);
      } catch (error) {
        throw new LogUnavailableError(`embedded log: cannot read ${o.topic}/${o.partition} at offset ${o.position}: ${(error as Error).message}`, { cause: error });
      }
      for (const r of records) {
        budget -= (r.value?.length ?? 0) + 64;
        out.push({ topic: o.topic, partition: o.partition, offset: r.offset, key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp });
      }
      o.position += records.length;
    }
    return out;
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    if (this.failure) throw this.failure;
    this.ctx.check();
    if (this.isClosed) throw new LogUnavailableError(`embedded log: the consumer of group "${this.group}" is closed; it cannot commit`);
    if (!Array.isArray(offsets)) throw new TypeError('embedded log: commit(offsets) takes an array of { topic, partition, offset }');
    const entries: Array<{ topic: string; partition: number; offset: number }> = [];
    for (const [i, o] of offsets.entries()) {
      const where = `commit: offsets[${i}]`;
      if (!this.subscribes(o?.topic)) throw new Error(`embedded log: ${where}.topic "${o?.topic}" is not a topic this consumer subscribed to (${this.topics.join(', ')})`);
      const log = this.ctx.partitionLog(o.topic, o.partition);
      if (!log) throw new Error(`embedded log: ${where}.partition ${String(o.partition)} does not exist in topic "${o.topic}"`);
      if (typeof o.offset !== 'bigint' || o.offset < 0n || o.offset > BigInt(log.durableEnd)) {
        throw new Error(`embedded log: ${where}.offset must be a bigint between 0 and the end offset ${log.durableEnd} of ${o.topic}/${o.partition}, got ${String(o.offset)}`);
      }
      // A partition the group moved to another member: its new owner re-reads from the committed offset.
      if (!this.owned.has(`${o.topic}/${o.partition}`)) {
        this.ctx.logger.debug({ group: this.group, topic: o.topic, partition: o.partition }, 'embedded log: commit for a partition no longer owned, ignored');
        continue;
      }
      entries.push({ topic: o.topic, partition: o.partition, offset: Number(o.offset) });
    }
    if (entries.length === 0) return;
    try {
      await this.ctx.offsets.commit(this.group, entries);
    } catch (error) {
      throw new LogUnavailableError(`embedded log: cannot persist the offsets of group "${this.group}": ${(error as Error).message}`, { cause: error });
    }
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.ctx.coordinator.leave(this.group, this);
    this.owned.clear();
    this.ctx.closed(this);
    this.wake();
  }
}
