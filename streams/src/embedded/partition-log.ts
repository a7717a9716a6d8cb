/**
 * One partition of a topic: a folder of segment files that roll at a size. Appends go to the
 * active (last) segment without fsync; `sync()` makes everything written so far durable and moves
 * the durable end, which is all that readers see (Kafka's high watermark).
 */
import { fsync, fsyncSync, mkdirSync, openSync, closeSync, readdirSync, rmSync } from 'node:fs';
import { encodeFrames, type FrameRecord } from './frame.js';
import { Segment } from './segment.js';

export interface PartitionLogOptions {
  dir: string;
  /** Roll to a new segment once the active one has at least this many bytes. */
  segmentBytes: number;
  /** Largest frame body accepted when scanning (anything larger is a corrupt length). */
  maxBodyBytes: number;
  /** Segments whose newest record is older than this are deleted when the partition rolls or opens. */
  retentionMs?: number;
  now: () => number;
  /** Told about a torn tail cut off at open. */
  onTruncate?: (info: { file: string; validBytes: number; droppedBytes: number }) => void;
}

export type NewRecord = Omit<FrameRecord, 'offset'>;

function fsyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (error) => (error ? reject(error) : resolve())));
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export class PartitionLog {
  private readonly segments: Segment[] = [];
  /** Offset after the last record written (maybe not yet durable). */
  private written = 0;
  /** Offset after the last durable record: what readers may see. */
  durableEnd = 0;

  private constructor(private readonly options: PartitionLogOptions) {}

  /** Opens (or creates) the partition folder, indexing its segments and cutting a torn tail. */
  static open(options: PartitionLogOptions): PartitionLog {
    const log = new PartitionLog(options);
    mkdirSync(options.dir, { recursive: true });
    const bases = readdirSync(options.dir)
      .filter((f) => /^\d{20}\.log$/.test(f))
      .map((f) => Number(f.slice(0, 20)))
      .sort((a, b) => a - b);
    for (const [i, base] of bases.entries()) {
      const { segment, scan } = Segment.open(options.dir, base, options.maxBodyBytes);
      const previous = log.segments.at(-1);
      if (previous && previous.nextOffset !== base) {
        segment.close();
        log.close();
        throw new Error(`embedded log: ${segment.path} starts at offset ${base} but the previous segment ends at ${previous.nextOffset}; the partition is corrupt`);
      }
      const last = i === bases.length - 1;
      if (scan.validBytes < scan.fileBytes) {
        if (!last) {
          segment.close();
          log.close();
          throw new Error(`embedded log: ${segment.path} has ${scan.fileBytes - scan.validBytes} invalid bytes after byte ${scan.validBytes} but is not the last segment; the partition is corrupt`);
        }
        segment.truncateToValid();
        fsyncSync(segment.descriptor);
        options.onTruncate?.({ file: segment.path, validBytes: scan.validBytes, droppedBytes: scan.fileBytes - scan.validBytes });
      }
      log.segments.push(segment);
    }
    if (log.segments.length === 0) {
      log.segments.push(Segment.create(options.dir, 0));
      fsyncDir(options.dir);
    }
    log.written = log.active.nextOffset;
    log.durableEnd = log.written;
    log.applyRetention();
    return log;
  }

  private get active(): Segment {
    return this.segments.at(-1)!;
  }

  /** The first offset still on disk (0 unless retention deleted old segments). */
  get startOffset(): number {
    return this.segments[0]!.baseOffset;
  }

  /** Offset after the last record written, durable or not. */
  get writtenEnd(): number {
    return this.written;
  }

  /** Appends records (offsets assigned here) and returns the offset of the first one. Not durable until `sync()`. */
  append(records: NewRecord[]): number {
    const first = this.written;
    if (this.active.size >= this.options.segmentBytes && this.active.count > 0) this.roll();
    const frames = encodeFrames(records.map((r, i) => ({ ...r, offset: BigInt(first + i) })));
    this.active.append(frames, records.map((r) => r.timestamp));
    this.written = first + records.length;
    return first;
  }

  /** Makes everything written so far durable, then moves the durable end to it. Returns true when it moved. */
  async sync(): Promise<boolean> {
    const end = this.written;
    if (end === this.durableEnd) return false;
    await fsyncAsync(this.active.descriptor);
    if (end <= this.durableEnd) return false;
    this.durableEnd = end;
    return true;
  }

  private roll(): void {
    // The finished segment is made durable now, so a torn tail can only ever be in the last segment.
    fsyncSync(this.active.descriptor);
    this.segments.push(Segment.create(this.options.dir, this.written));
    fsyncDir(this.options.dir);
    this.applyRetention();
  }

  private applyRetention(): void {
    const { retentionMs } = this.options;
    if (retentionMs === undefined) return;
    const cutoff = this.options.now() - retentionMs;
    while (this.segments.length > 1 && this.segments[0]!.maxTimestamp < cutoff) {
      const old = this.segments.shift()!;
      old.close();
      rmSync(old.path);
    }
  }

  /** Durable records from `offset` on, at most `maxRecords`, stopping near `maxBytes`. */
  read(offset: number, maxRecords: number, maxBytes: number): FrameRecord[] {
    if (offset < this.startOffset) offset = this.startOffset;
    const out: FrameRecord[] = [];
    let budget = maxBytes;
    let at = offset;
    let i = this.segmentIndexOf(at);
    while (i < this.segments.length && at < this.durableEnd && out.length < maxRecords && budget > 0) {
      const segment = this.segments[i]!;
      const limit = Math.min(maxRecords - out.length, this.durableEnd - at);
      const got = segment.read(at, limit, budget);
      for (const r of got) budget -= (r.value?.length ?? 0) + 64;
      out.push(...got);
      at += got.length;
      if (at >= segment.nextOffset) i++;
      else if (got.length === 0) break;
    }
    return out;
  }

  private segmentIndexOf(offset: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.segments[mid]!.baseOffset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The first durable offset whose timestamp is at or after `timestamp`; the durable end if none. */
  offsetForTime(timestamp: number): number {
    for (const segment of this.segments) {
      const found = segment.offsetForTime(timestamp);
      if (found !== undefined && found < this.durableEnd) return found;
    }
    return this.durableEnd;
  }

  close(): void {
    for (const segment of this.segments.splice(0)) segment.close();
  }
}
