// int64 fields of the batch header as JS numbers, without a BigInt per field: encodeBatch runs
// once per producer batch, and small batches (linger.ms=0) make these a visible share of it.
import { RecordsError } from "./errors.js";

const TWO_POW_32 = 0x1_0000_0000;

/** Writes a safe integer as a big-endian int64. */
export function writeInt64BE(buf: Buffer, pos: number, value: number): void {
  if (!Number.isSafeInteger(value)) throw new RangeError(`int64 field must be a safe integer, got ${value}`);
  const high = Math.floor(value / TWO_POW_32); // floor keeps two's complement for negatives
  buf.writeInt32BE(high, pos);
  buf.writeUInt32BE(value - high * TWO_POW_32, pos + 4);
}

/** Reads a big-endian int64 that must be a safe integer; a RecordsError otherwise. */
export function readInt64BE(buf: Buffer, pos: number): number {
  const high = buf.readInt32BE(pos);
  const low = buf.readUInt32BE(pos + 4);
  const value = high * TWO_POW_32 + low;
  if (!Number.isSafeInteger(value)) {
    throw new RecordsError("unsafe-integer", `int64 at byte ${pos} is outside the safe integer range`);
  }
  return value;
}
