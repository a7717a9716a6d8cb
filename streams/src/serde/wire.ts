/**
 * The Confluent wire format: byte 0 is the magic byte 0, bytes 1-4 the schema id (big-endian
 * unsigned), the rest the Avro binary encoding of the value.
 */
import { SerdeError } from '../errors.js';

export const MAGIC_BYTE = 0;
export const HEADER_SIZE = 5;

/** Prefixes an Avro body with the wire header. */
export function frame(schemaId: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER_SIZE + body.length);
  out[0] = MAGIC_BYTE;
  out.writeUInt32BE(schemaId, 1);
  body.copy(out, HEADER_SIZE);
  return out;
}

/** The schema id of a framed value; `SerdeError` when the bytes are not in the wire format. */
export function schemaIdOf(bytes: Buffer | null | undefined): number {
  if (bytes === null || bytes === undefined) throw new SerdeError('record has no value (null), expected Confluent wire-format Avro');
  if (bytes.length < HEADER_SIZE) throw new SerdeError(`value is ${bytes.length} bytes, shorter than the 5-byte Confluent wire-format header`);
  if (bytes[0] !== MAGIC_BYTE) throw new SerdeError(`value starts with byte ${bytes[0]}, expected the Confluent magic byte 0`);
  return bytes.readUInt32BE(1);
}
