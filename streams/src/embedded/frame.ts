/**
 * The on-disk frame of one record in a segment file:
 *
 *   u32 length of the body | u32 CRC32 of the body | body
 *   body = i64 offset | f64 timestamp (epoch ms) | i32 key length (-1: null) | key
 *        | i32 value length (-1: null) | value | u32 header count | (u32 len | name | u32 len | value)*
 *
 * The length and the checksum let the opener tell a complete frame from a torn or garbage tail;
 * the offset inside the body lets it check that offsets are contiguous.
 */
import { crc32 } from 'node:zlib';
import type { Headers } from '../log.js';

export const FRAME_HEADER_BYTES = 8;

export interface FrameRecord {
  offset: bigint;
  timestamp: number;
  key: string | null;
  value: Buffer | null;
  headers: Headers;
}

/** Encodes records (with their offsets already assigned) into one buffer of consecutive frames. */
export function encodeFrames(records: FrameRecord[]): Buffer {
  const parts = records.map((r) => {
    const key = r.key === null ? null : Buffer.from(r.key, 'utf8');
    const headers = Object.entries(r.headers).map(([k, v]) => [Buffer.from(k, 'utf8'), Buffer.from(v, 'utf8')] as const);
    let body = 8 + 8 + 4 + (key?.length ?? 0) + 4 + (r.value?.length ?? 0) + 4;
    for (const [k, v] of headers) body += 8 + k.length + v.length;
    return { r, key, headers, body };
  });
  const total = parts.reduce((sum, p) => sum + FRAME_HEADER_BYTES + p.body, 0);
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const { r, key, headers, body } of parts) {
    const start = at + FRAME_HEADER_BYTES;
    let pos = start;
    pos = out.writeBigInt64BE(r.offset, pos);
    pos = out.writeDoubleBE(r.timestamp, pos);
    pos = writeBytes(out, pos, key);
    pos = writeBytes(out, pos, r.value);
    pos = out.writeUInt32BE(headers.length, pos);
    for (const [k, v] of headers) {
      pos = writeBytes(out, pos, k);
      pos = writeBytes(out, pos, v);
    }
    out.writeUInt32BE(body, at);
    out.writeUInt32BE(crc32(out.subarray(start, start + body)), at + 4);
    at = start + body;
  }
  return out;
}

function writeBytes(out: Buffer, pos: number, bytes: Buffer | null): number {
  if (bytes === null) return out.writeInt32BE(-1, pos);
  pos = out.writeInt32BE(bytes.length, pos);
  return pos + bytes.copy(out, pos);
}

/** What `checkFrame` found at a position of a buffer. */
export type FrameCheck =
  | { ok: true; size: number; offset: bigint; timestamp: number }
  | { ok: false; reason: 'incomplete' | 'corrupt'; needed?: number };

/**
 * Checks the frame at `pos`: complete, checksum good, plausible length. `incomplete` means the buffer
 * ends inside the frame (read more, or it is a torn tail at the end of a file).
 */
export function checkFrame(buf: Buffer, pos: number, maxBodyBytes: number): FrameCheck {
  if (buf.length - pos < FRAME_HEADER_BYTES) return { ok: false, reason: 'incomplete', needed: FRAME_HEADER_BYTES };
  const body = buf.readUInt32BE(pos);
  if (body < 28 || body > maxBodyBytes) return { ok: false, reason: 'corrupt' };
  if (buf.length - pos < FRAME_HEADER_BYTES + body) return { ok: false, reason: 'incomplete', needed: FRAME_HEADER_BYTES + body };
  const start = pos + FRAME_HEADER_BYTES;
  if (crc32(buf.subarray(start, start + body)) !== buf.readUInt32BE(pos + 4)) return { ok: false, reason: 'corrupt' };
  return { ok: true, size: FRAME_HEADER_BYTES + body, offset: buf.readBigInt64BE(start), timestamp: buf.readDoubleBE(start + 8) };
}

/** Decodes the frame at `pos` (already checked when it was written or scanned). */
export function decodeFrame(buf: Buffer, pos: number): { record: FrameRecord; size: number } {
  const body = buf.readUInt32BE(pos);
  let at = pos + FRAME_HEADER_BYTES;
  const offset = buf.readBigInt64BE(at);
  const timestamp = buf.readDoubleBE(at + 8);
  at += 16;
  const [keyBytes, afterKey] = readBytes(buf, at);
  const [value, afterValue] = readBytes(buf, afterKey);
  at = afterValue;
  const count = buf.readUInt32BE(at);
  at += 4;
  const entries: Array<[string, string]> = [];
  for (let i = 0; i < count; i++) {
    const [k, afterName] = readBytes(buf, at);
    const [v, afterHeader] = readBytes(buf, afterName);
    entries.push([k!.toString('utf8'), v!.toString('utf8')]);
    at = afterHeader;
  }
  // fromEntries defines own properties, so a header named "__proto__" stays a header.
  const headers: Headers = Object.fromEntries(entries);
  return {
    record: { offset, timestamp, key: keyBytes === null ? null : keyBytes.toString('utf8'), value: value === null ? null : Buffer.from(value), headers },
    size: FRAME_HEADER_BYTES + body,
  };
}

function readBytes(buf: Buffer, pos: number): [Buffer | null, number] {
  const length = buf.readInt32BE(pos);
  if (length < 0) return [null, pos + 4];
  return [buf.subarray(pos + 4, pos + 4 + length), pos + 4 + length];
}
