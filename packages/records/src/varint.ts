// Zig-zag varints and varlongs, as Kafka's ByteUtils and protobuf's sint32/sint64 write them:
// a signed value v becomes the unsigned (v << 1) ^ (v >> 31|63), then 7 bits per byte, low
// groups first, high bit set on every byte but the last.
//
// Varints are int32 and mirror Java exactly, including its quirk of dropping bits of the 5th
// byte above bit 31. Varlongs are int64 on the wire but JS numbers here: values outside the
// safe-integer range are refused (a RecordsError on read, a RangeError on write) rather than
// rounded. Readers take an explicit end so a length field can never walk them off a record.
import { RecordsError } from "./errors.js";

const TWO_POW_28 = 0x1000_0000;
const TWO_POW_26 = 0x400_0000;

/** Zig-zag encodes an int32 to its unsigned form (as a uint32 number). */
export function zigzagEncode32(value: number): number {
  return ((value << 1) ^ (value >> 31)) >>> 0;
}

/** Inverse of zigzagEncode32; accepts any uint32 (or int32 bit pattern). */
export function zigzagDecode32(raw: number): number {
  return (raw >>> 1) ^ -(raw & 1);
}

function assertInt32(value: number): void {
  if (!Number.isInteger(value) || value < -0x8000_0000 || value > 0x7fff_ffff) {
    throw new RangeError(`varint value must be an int32, got ${value}`);
  }
}

/** Bytes the zig-zag varint of an int32 takes: 1 to 5. */
export function varintSize(value: number): number {
  let raw = zigzagEncode32(value);
  let bytes = 1;
  while (raw >= 0x80) {
    raw >>>= 7;
    bytes++;
  }
  return bytes;
}

/** Writes the zig-zag varint of an int32 at `pos`; returns the position after it. */
export function writeVarint(buf: Uint8Array, pos: number, value: number): number {
  assertInt32(value);
  let raw = zigzagEncode32(value);
  while (raw >= 0x80) {
    buf[pos++] = (raw & 0x7f) | 0x80;
    raw >>>= 7;
  }
  buf[pos++] = raw;
  return pos;
}

/** Bytes the zig-zag varlong of a safe integer takes: 1 to 8 (a safe integer never needs 9). */
export function varlongSize(value: number): number {
  if (value >= -0x4000_0000 && value < 0x4000_0000) return varintSize(value | 0);
  let rest = Math.floor(varlongMagnitude(value) / 64); // what remains after the first 7 bits
  let bytes = 1;
  while (rest > 0) {
    rest = Math.floor(rest / 128);
    bytes++;
  }
  return bytes;
}

/** |zig-zag(value)| >> 1, exact for every safe integer: v for v >= 0, -v - 1 for v < 0. */
function varlongMagnitude(value: number): number {
  return value >= 0 ? value : -value - 1;
}

/** Writes the zig-zag varlong of a safe integer at `pos`; returns the position after it. */
export function writeVarlong(buf: Uint8Array, pos: number, value: number): number {
  if (!Number.isSafeInteger(value)) throw new RangeError(`varlong value must be a safe integer, got ${value}`);
  if (value >= -0x4000_0000 && value < 0x4000_0000) return writeVarint(buf, pos, value);
  // zig-zag(value) = 2 * magnitude + sign does not fit a double exactly, so split it:
  // the low 7 bits come from magnitude's low 6 bits and the sign, the rest is magnitude / 64.
  const magnitude = varlongMagnitude(value);
  const sign = value < 0 ? 1 : 0;
  let rest = Math.floor(magnitude / 64);
  buf[pos++] = (((magnitude % 64) * 2 + sign) | (rest > 0 ? 0x80 : 0));
  while (rest > 0) {
    const low = rest % 128;
    rest = Math.floor(rest / 128);
    buf[pos++] = low | (rest > 0 ? 0x80 : 0);
  }
  return pos;
}

/** Writes an unsigned varint (no zig-zag) of a uint32; returns the position after it. */
export function writeUnsignedVarint(buf: Uint8Array, pos: number, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new RangeError(`unsigned varint value must be a uint32, got ${value}`);
  }
  let raw = value;
  while (raw >= 0x80) {
    buf[pos++] = (raw & 0x7f) | 0x80;
    raw = Math.floor(raw / 128);
  }
  buf[pos++] = raw;
  return pos;
}

/**
 * A cursor over `buf[pos, end)` that reads varints and fixed fields, throwing a RecordsError
 * instead of reading past `end`. One object per decode, so the hot loop allocates nothing.
 */
export class BoundedReader {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    public end: number,
  ) {}

  remaining(): number {
    return this.end - this.pos;
  }

  readInt8(): number {
    if (this.pos >= this.end) throw truncated("an int8", this.pos);
    const byte = this.buf[this.pos++]!;
    return (byte << 24) >> 24;
  }

  /** A zig-zag varint (int32), as Java's ByteUtils.readVarint reads it. */
  readVarint(): number {
    const buf = this.buf;
    const end = this.end;
    let pos = this.pos;
    let raw = 0;
    for (let shift = 0; shift <= 28; shift += 7) {
      if (pos >= end) throw truncated("a varint", this.pos);
      const byte = buf[pos++]!;
      raw |= (byte & 0x7f) << shift; // at shift 28 Java drops the bits above 31 too
      if (byte < 0x80) {
        this.pos = pos;
        return (raw >>> 1) ^ -(raw & 1);
      }
    }
    throw new RecordsError("bad-varint", `varint at byte ${this.pos} is longer than 5 bytes`);
  }

  /** A zig-zag varlong (int64) whose value must be a safe integer. */
  readVarlong(): number {
    const start = this.pos;
    const buf = this.buf;
    const end = this.end;
    let pos = start;
    let low = 0; // the first 28 bits
    for (let shift = 0; shift < 28; shift += 7) {
      if (pos >= end) throw truncated("a varlong", start);
      const byte = buf[pos++]!;
      low |= (byte & 0x7f) << shift;
      if (byte < 0x80) {
        this.pos = pos;
        return (low >>> 1) ^ -(low & 1);
      }
    }
    let high = 0; // bits 28 and up, as a number; must stay below 2^26 (raw below 2^54)
    let scale = 1;
    for (let groups = 4; ; groups++) {
      if (groups >= 10) throw new RecordsError("bad-varint", `varlong at byte ${start} is longer than 10 bytes`);
      if (pos >= end) throw truncated("a varlong", start);
      const byte = buf[pos++]!;
      high += (byte & 0x7f) * scale;
      scale *= 128;
      if (high >= TWO_POW_26) {
        throw new RecordsError("unsafe-integer", `varlong at byte ${start} is outside the safe integer range`);
      }
      if (byte < 0x80) break;
    }
    const magnitude = high * (TWO_POW_28 / 2) + (low >>> 1);
    const value = low & 1 ? -magnitude - 1 : magnitude;
    if (!Number.isSafeInteger(value)) {
      throw new RecordsError("unsafe-integer", `varlong at byte ${start} is outside the safe integer range`);
    }
    this.pos = pos;
    return value;
  }

  /** An unsigned varint of at most 32 bits (snappy's length preamble). */
  readUnsignedVarint(): number {
    const start = this.pos;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 5; i++) {
      if (this.pos >= this.end) throw truncated("an unsigned varint", start);
      const byte = this.buf[this.pos++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (value > 0xffff_ffff) break;
        return value;
      }
      scale *= 128;
    }
    throw new RecordsError("bad-varint", `unsigned varint at byte ${start} does not fit 32 bits`);
  }
}

function truncated(what: string, pos: number): RecordsError {
  return new RecordsError("truncated", `${what} at byte ${pos} runs past the end of its field`);
}

/** Reads one zig-zag varint at `pos` (convenience; hot paths use a BoundedReader). */
export function readVarint(buf: Uint8Array, pos = 0): { value: number; nextPos: number } {
  const reader = new BoundedReader(asBuffer(buf), pos, buf.length);
  const value = reader.readVarint();
  return { value, nextPos: reader.pos };
}

/** Reads one zig-zag varlong at `pos` (convenience; hot paths use a BoundedReader). */
export function readVarlong(buf: Uint8Array, pos = 0): { value: number; nextPos: number } {
  const reader = new BoundedReader(asBuffer(buf), pos, buf.length);
  const value = reader.readVarlong();
  return { value, nextPos: reader.pos };
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
