// The few protobuf wire-format primitives that hand-written encoders need: the hot Produce
// request (client) and Fetch response (broker) are framed by hand so their record bytes are
// copied once, and both must write exactly what the generated encoder writes.

export const WIRE_VARINT = 0;
export const WIRE_LENGTH_DELIMITED = 2;

/** A field's key: field number and wire type. */
export const wireTag = (field: number, wireType: number): number => (field << 3) | wireType;

/** Bytes of an unsigned varint. Works for values past 2^31 (record lengths of large batches). */
export function varintLength(value: number): number {
  let length = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    length++;
  }
  return length;
}

/** Writes an unsigned varint at `offset`; returns the offset after it. */
export function writeVarint(out: Buffer, offset: number, value: number): number {
  while (value >= 0x80) {
    out[offset++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  out[offset++] = value;
  return offset;
}

/** Bytes of an int32 as protobuf writes it: a negative value takes ten (sign-extended to 64 bits). */
export function int32Length(value: number): number {
  return value < 0 ? 10 : varintLength(value);
}

/** Writes an int32 field value (negative values sign-extended to 64 bits, as protobuf does). */
export function writeInt32(out: Buffer, offset: number, value: number): number {
  if (value >= 0) return writeVarint(out, offset, value);
  let rest = BigInt.asUintN(64, BigInt(value));
  for (let i = 0; i < 9; i++) {
    out[offset++] = Number(rest & 0x7fn) | 0x80;
    rest >>= 7n;
  }
  out[offset++] = Number(rest);
  return offset;
}
