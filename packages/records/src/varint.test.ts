import { describe, expect, it } from "vitest";
import { RecordsError } from "./errors.js";
import {
  BoundedReader,
  readVarint,
  readVarlong,
  varintSize,
  varlongSize,
  writeUnsignedVarint,
  writeVarint,
  writeVarlong,
} from "./varint.js";

// Vectors from Apache Kafka's ByteUtilsTest (testVarintSerde / testVarlongSerde).
const VARINT_VECTORS: Array<[number, number[]]> = [
  [0, [0x00]],
  [-1, [0x01]],
  [1, [0x02]],
  [63, [0x7e]],
  [-64, [0x7f]],
  [64, [0x80, 0x01]],
  [-65, [0x81, 0x01]],
  [8191, [0xfe, 0x7f]],
  [-8192, [0xff, 0x7f]],
  [8192, [0x80, 0x80, 0x01]],
  [-8193, [0x81, 0x80, 0x01]],
  [1048575, [0xfe, 0xff, 0x7f]],
  [-1048576, [0xff, 0xff, 0x7f]],
  [1048576, [0x80, 0x80, 0x80, 0x01]],
  [-1048577, [0x81, 0x80, 0x80, 0x01]],
  [134217727, [0xfe, 0xff, 0xff, 0x7f]],
  [-134217728, [0xff, 0xff, 0xff, 0x7f]],
  [134217728, [0x80, 0x80, 0x80, 0x80, 0x01]],
  [-134217729, [0x81, 0x80, 0x80, 0x80, 0x01]],
  [2147483647, [0xfe, 0xff, 0xff, 0xff, 0x0f]],
  [-2147483648, [0xff, 0xff, 0xff, 0xff, 0x0f]],
];

const VARLONG_VECTORS: Array<[number, number[]]> = [
  ...VARINT_VECTORS,
  [17179869183, [0xfe, 0xff, 0xff, 0xff, 0x7f]],
  [-17179869184, [0xff, 0xff, 0xff, 0xff, 0x7f]],
  [17179869184, [0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
  [-17179869185, [0x81, 0x80, 0x80, 0x80, 0x80, 0x01]],
  [2199023255551, [0xfe, 0xff, 0xff, 0xff, 0xff, 0x7f]],
  [-2199023255552, [0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]],
  [2199023255552, [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
  [-2199023255553, [0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
  [281474976710655, [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]],
  [-281474976710656, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]],
  [281474976710656, [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
  [-281474976710657, [0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
];

/** A plain BigInt zig-zag encoder straight from the spec, to check the number-only one against. */
function referenceVarlong(value: bigint): number[] {
  let raw = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
  const out: number[] = [];
  while (raw >= 0x80n) {
    out.push(Number(raw & 0x7fn) | 0x80);
    raw >>= 7n;
  }
  out.push(Number(raw));
  return out;
}

function encodeVarint(value: number): number[] {
  const buf = Buffer.alloc(10);
  return [...buf.subarray(0, writeVarint(buf, 0, value))];
}

function encodeVarlong(value: number): number[] {
  const buf = Buffer.alloc(10);
  return [...buf.subarray(0, writeVarlong(buf, 0, value))];
}

describe("varint (int32)", () => {
  it.each(VARINT_VECTORS)("%d encodes, sizes and decodes as Kafka does", (value, bytes) => {
    expect(encodeVarint(value)).toEqual(bytes);
    expect(varintSize(value)).toBe(bytes.length);
    expect(readVarint(Buffer.from(bytes))).toEqual({ value, nextPos: bytes.length });
  });

  it("refuses a 6th byte, as Kafka's readVarint does", () => {
    expect(() => readVarint(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).toThrow(
      expect.objectContaining({ kind: "bad-varint" }),
    );
  });

  it("drops bits above 31 in the 5th byte, as Java's int arithmetic does", () => {
    // 0x7f in the 5th byte: Java keeps its low 4 bits only (b << 28).
    expect(readVarint(Buffer.from([0xfe, 0xff, 0xff, 0xff, 0x7f])).value).toBe(2147483647);
  });

  it("reports a cut varint as truncated with a RecordsError", () => {
    let error: unknown;
    try {
      readVarint(Buffer.from([0x80, 0x80]));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RecordsError);
    expect((error as RecordsError).kind).toBe("truncated");
  });

  it("refuses to write what is not an int32", () => {
    const buf = Buffer.alloc(10);
    expect(() => writeVarint(buf, 0, 2 ** 31)).toThrow(RangeError);
    expect(() => writeVarint(buf, 0, 1.5)).toThrow(RangeError);
  });

  it("reads within a BoundedReader's end, not the buffer's", () => {
    const reader = new BoundedReader(Buffer.from([0x80, 0x01, 0x02]), 0, 1);
    expect(() => reader.readVarint()).toThrow(expect.objectContaining({ kind: "truncated" }));
  });
});

describe("varlong (int64 as safe integers)", () => {
  it.each(VARLONG_VECTORS)("%d encodes, sizes and decodes as Kafka does", (value, bytes) => {
    expect(encodeVarlong(value)).toEqual(bytes);
    expect(varlongSize(value)).toBe(bytes.length);
    expect(readVarlong(Buffer.from(bytes))).toEqual({ value, nextPos: bytes.length });
  });

  it("matches a BigInt reference at the safe-integer edges and on random values", () => {
    const values = [Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 53 - 2, -(2 ** 53) + 2, 2 ** 30, -(2 ** 30), 2 ** 30 - 1, -(2 ** 30) - 1];
    let seed = 12345;
    for (let i = 0; i < 2000; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const magnitude = Math.floor((seed / 2 ** 32) * 2 ** (seed % 54));
      values.push(seed & 1 && magnitude !== 0 ? -magnitude : magnitude);
    }
    for (const value of values) {
      const expected = referenceVarlong(BigInt(value));
      expect(encodeVarlong(value), `encode ${value}`).toEqual(expected);
      expect(varlongSize(value), `size ${value}`).toBe(expected.length);
      expect(readVarlong(Buffer.from(expected)).value, `decode ${value}`).toBe(value);
    }
  });

  it("refuses values a JS number cannot hold exactly instead of rounding them", () => {
    for (const value of [2n ** 53n, -(2n ** 53n), 36028797018963967n, 2n ** 63n - 1n, -(2n ** 63n)]) {
      expect(() => readVarlong(Buffer.from(referenceVarlong(value))), String(value)).toThrow(
        expect.objectContaining({ kind: "unsafe-integer" }),
      );
    }
    expect(() => writeVarlong(Buffer.alloc(10), 0, 2 ** 53)).toThrow(RangeError);
  });

  it("refuses an 11th byte, as Kafka's readVarlong does", () => {
    const bytes = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
    expect(() => readVarlong(bytes)).toThrow(expect.objectContaining({ kind: "bad-varint" }));
  });
});

describe("unsigned varint", () => {
  it("round-trips uint32 edges", () => {
    for (const value of [0, 1, 127, 128, 16383, 16384, 2 ** 31, 2 ** 32 - 1]) {
      const buf = Buffer.alloc(5);
      const end = writeUnsignedVarint(buf, 0, value);
      const reader = new BoundedReader(buf, 0, end);
      expect(reader.readUnsignedVarint()).toBe(value);
      expect(reader.pos).toBe(end);
    }
  });

  it("refuses more than 32 bits", () => {
    const reader = new BoundedReader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x1f]), 0, 5);
    expect(() => reader.readUnsignedVarint()).toThrow(expect.objectContaining({ kind: "bad-varint" }));
  });
});
