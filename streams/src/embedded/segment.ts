/**
 * One segment file of a partition: the frames of consecutive offsets starting at `baseOffset`, in a
 * file named after that offset. The segment keeps an in-memory index (offset → byte position and
 * timestamp) rebuilt by scanning the file at open; record bytes stay on disk and are read on fetch.
 */
import { closeSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { checkFrame, decodeFrame, type FrameRecord } from './frame.js';

const SCAN_CHUNK_BYTES = 1 << 20;

/** A growable array of numbers (positions, timestamps) without a number object per record. */
class NumberColumn {
  private data = new Float64Array(1024);
  length = 0;
  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }
  at(i: number): number {
    return this.data[i]!;
  }
}

export function segmentFileName(baseOffset: number): string {
  return `${String(baseOffset).padStart(20, '0')}.log`;
}

export interface SegmentScan {
  /** Bytes of whole, valid frames from the start of the file. */
  validBytes: number;
  /** The file's size on disk; more than `validBytes` when the tail is torn or garbage. */
  fileBytes: number;
}

export class Segment {
  private readonly positions = new NumberColumn();
  private readonly timestamps = new NumberColumn();
  /** Bytes of frames written (the next write position). */
  size = 0;
  maxTimestamp = -Infinity;

  private constructor(readonly path: string, readonly baseOffset: number, private fd: number) {}

  /** Creates an empty segment file (it must not exist). */
  static create(dir: string, baseOffset: number): Segment {
    const path = join(dir, segmentFileName(baseOffset));
    return new Segment(path, baseOffset, openSync(path, 'wx+'));
  }

  /**
   * Opens an existing segment file and indexes its valid frames. The caller decides what to do with
   * an invalid tail (`scan.validBytes < scan.fileBytes`): truncate it (the last segment) or refuse.
   */
  static open(dir: string, baseOffset: number, maxBodyBytes: number): { segment: Segment; scan: SegmentScan } {
    const path = join(dir, segmentFileName(baseOffset));
    const segment = new Segment(path, baseOffset, openSync(path, 'r+'));
    const fileBytes = fstatSync(segment.fd).size;
    let filePos = 0;
    let buf = Buffer.alloc(0);
    let bufStart = 0;
    for (;;) {
      const rel = filePos - bufStart;
      const check = checkFrame(buf, rel, maxBodyBytes);
      if (check.ok) {
        if (check.offset !== BigInt(baseOffset + segment.count)) break;
        segment.index(filePos, check.timestamp);
        filePos += check.size;
        continue;
      }
      if (check.reason === 'corrupt') break;
      const want = Math.max(SCAN_CHUNK_BYTES, check.needed ?? 0);
      const available = fileBytes - filePos;
      if (available <= buf.length - rel || available < (check.needed ?? 0)) break;
      buf = Buffer.allocUnsafe(Math.min(want, available));
      const read = readSync(segment.fd, buf, 0, buf.length, filePos);
      buf = buf.subarray(0, read);
      bufStart = filePos;
    }
    segment.size = filePos;
    return { segment, scan: { validBytes: filePos, fileBytes } };
  }

  get count(): number {
    return this.positions.length;
  }

  get nextOffset(): number {
    return this.baseOffset + this.count;
  }

  get descriptor(): number {
    return this.fd;
  }

  private index(position: number, timestamp: number): void {
    this.positions.push(position);
    this.timestamps.push(timestamp);
    if (timestamp > this.maxTimestamp) this.maxTimestamp = timestamp;
  }

  /** Cuts the file back to its valid frames (a torn tail after a crash). */
  truncateToValid(): void {
    ftruncateSync(this.fd, this.size);
  }

  /**
   * Writes encoded frames at the end (no fsync: the caller groups fsyncs). On a failed write the file
   * is cut back to where it was so the segment never keeps half a frame, and the error is rethrown.
   */
  append(frames: Buffer, timestamps: number[]): void {
    const start = this.size;
    try {
      let written = 0;
      while (written < frames.length) written += writeSync(this.fd, frames, written, frames.length - written, start + written);
    } catch (error) {
      ftruncateSync(this.fd, start);
      throw error;
    }
    let pos = start;
    for (const ts of timestamps) {
      this.index(pos, ts);
      pos += frames.readUInt32BE(pos - start) + 8;
    }
    this.size = pos;
  }

  /** Reads up to `maxRecords` records from `offset` (within this segment), stopping near `maxBytes`. */
  read(offset: number, maxRecords: number, maxBytes: number): FrameRecord[] {
    const first = offset - this.baseOffset;
    let n = Math.min(maxRecords, this.count - first);
    if (n <= 0) return [];
    const start = this.positions.at(first);
    const endOf = (k: number) => (first + k < this.count ? this.positions.at(first + k) : this.size);
    while (n > 1 && endOf(n) - start > maxBytes) n = Math.max(1, n >> 1);
    const end = endOf(n);
    const buf = Buffer.allocUnsafe(end - start);
    let read = 0;
    while (read < buf.length) {
      const got = readSync(this.fd, buf, read, buf.length - read, start + read);
      if (got === 0) throw new Error(`segment ${this.path}: unexpected end of file at byte ${start + read}`);
      read += got;
    }
    const out: FrameRecord[] = [];
    let pos = 0;
    for (let i = 0; i < n; i++) {
      const { record, size } = decodeFrame(buf, pos);
      out.push(record);
      pos += size;
    }
    return out;
  }

  /** The first offset in this segment whose timestamp is at or after `timestamp`, or undefined. */
  offsetForTime(timestamp: number): number | undefined {
    if (this.maxTimestamp < timestamp) return undefined;
    for (let i = 0; i < this.count; i++) if (this.timestamps.at(i) >= timestamp) return this.baseOffset + i;
    return undefined;
  }

  close(): void {
    closeSync(this.fd);
  }
}
