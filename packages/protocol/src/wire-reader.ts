// Reads the protobuf wire format, for the hand-written decoders of the hot answers (see
// session/answer-decoders.ts). Bounds are checked on every read: bytes that run past the end of
// their message, a varint longer than ten bytes, or an unknown wire type throw
// ProtocolDecodeError, as the generated decoder would fail on them.
import { ProtocolDecodeError } from "./codec.js";

const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;
const WIRE_VARINT = 0;

export class WireReader {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    /** One past the last byte of the message being read. */
    public end: number,
  ) {}

  get atEnd(): boolean {
    return this.pos >= this.end;
  }

  /** A field key: field number << 3 | wire type. */
  tag(): number {
    return this.uint32();
  }

  /** An unsigned varint of at most 32 bits (tags, lengths); longer encodings keep the low 32 bits. */
  uint32(): number {
    let value = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      const byte = this.byte();
      if (shift < 28) value |= (byte & 0x7f) << shift;
      else if (shift === 28) value |= (byte & 0x0f) << 28;
      if (byte < 0x80) return value >>> 0;
    }
    throw new ProtocolDecodeError("varint longer than ten bytes");
  }

  /** An int32 field (negative values come sign-extended to ten bytes). */
  int32(): number {
    return this.uint32() | 0;
  }

  /** An int64 field, exactly, as a decimal string (the shape the generated decoder gives). */
  int64String(): string {
    const start = this.pos;
    let value = 0;
    // Up to seven bytes (49 bits) the sum is exact in a double: every offset and timestamp.
    for (let i = 0; i < 7; i++) {
      const byte = this.byte();
      value += (byte & 0x7f) * 2 ** (7 * i);
      if (byte < 0x80) return String(value);
    }
    // Longer: negative values (ten bytes, two's complement) and values past 2^49.
    this.pos = start;
    let big = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const byte = this.byte();
      big |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return BigInt.asIntN(64, big).toString();
    }
    throw new ProtocolDecodeError("varint longer than ten bytes");
  }

  /**
   * Reads a length-delimited field's length and checks it against the message: returns where
   * its contents end, with the reader at their start.
   */
  private contentsEnd(): number {
    const length = this.uint32();
    if (length > this.end - this.pos) throw new ProtocolDecodeError(`a field of ${length} bytes runs past its message (${this.end - this.pos} left)`);
    return this.pos + length;
  }

  /** A bytes field: a view into the buffer, not a copy. */
  bytes(): Buffer {
    const end = this.contentsEnd();
    const start = this.pos;
    this.pos = end;
    return this.buf.subarray(start, end);
  }

  string(): string {
    const end = this.contentsEnd();
    const start = this.pos;
    this.pos = end;
    return this.buf.toString("utf8", start, end);
  }

  /** A reader over an embedded message's bytes; this reader moves past them. */
  message(): WireReader {
    const end = this.contentsEnd();
    const start = this.pos;
    this.pos = end;
    return new WireReader(this.buf, start, end);
  }

  /** Skips a field this decoder does not know (a newer peer's), by its wire type. */
  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.uint32();
        return;
      case WIRE_FIXED64:
        this.advance(8);
        return;
      case WIRE_LENGTH_DELIMITED:
        this.pos = this.contentsEnd();
        return;
      case WIRE_FIXED32:
        this.advance(4);
        return;
      default:
        throw new ProtocolDecodeError(`unsupported wire type ${wireType} at byte ${this.pos}`);
    }
  }

  private advance(bytes: number): void {
    if (bytes > this.end - this.pos) throw new ProtocolDecodeError("a fixed-width field runs past its message");
    this.pos += bytes;
  }

  private byte(): number {
    if (this.pos >= this.end) throw new ProtocolDecodeError("message ends inside a varint");
    return this.buf[this.pos++]!;
  }
}

/** A tag's wire type. */
export const wireTypeOf = (tag: number): number => tag & 7;
