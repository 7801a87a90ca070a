// validateBatchRecords is the leader's guard against batches no consumer can read: it must pass
// every batch the encoder writes, refuse hostile record bytes with a RecordsError (never another
// exception), and agree with decodeBatch on every batch that passes checkBatch.
import { describe, expect, it } from "vitest";
import { prng } from "./testing/prng.js";
import { decodeBatch, encodeBatch } from "./batch-codec.js";
import { Attributes, BATCH_HEADER_BYTES, BATCH_LOG_OVERHEAD_BYTES, BatchField, checkBatch, writeBatchCrc } from "./batch-header.js";
import { type CompressionType, CompressionCodes, compress } from "./compression.js";
import { RecordsError, type RecordsErrorKind } from "./errors.js";
import { writeInt64BE } from "./int64.js";
import type { RecordInput } from "./record-codec.js";
import { type ValidateRecordsOptions, lastVarintValue, skipVarint, skipVarlong, validateBatchRecords } from "./validate-records.js";
import { BoundedReader, writeVarint, writeVarlong } from "./varint.js";

const PRODUCED: ValidateRecordsOptions = { requireContiguousOffsetDeltas: true };
const LOG_READER: ValidateRecordsOptions = {};
const CODECS: CompressionType[] = ["none", "gzip", "snappy", "lz4", "zstd"];
const NOW_MS = 1_700_000_000_000;

function varint(value: number): Buffer {
  const buf = Buffer.alloc(5);
  return buf.subarray(0, writeVarint(buf, 0, value));
}

function varlong(value: number): Buffer {
  const buf = Buffer.alloc(10);
  return buf.subarray(0, writeVarlong(buf, 0, value));
}

interface RawRecord {
  timestampDelta?: number;
  offsetDelta: number;
  key?: Buffer | null;
  value?: Buffer | null;
  /** Raw bytes for the headers part (count and headers); defaults to a count of 0. */
  headers?: Buffer;
  /** Overrides the length prefix; defaults to the body's true length. */
  length?: number;
}

function bytesField(bytes: Buffer | null): Buffer {
  return bytes === null ? varint(-1) : Buffer.concat([varint(bytes.length), bytes]);
}

/** One record, byte for byte as record-codec writes it, with any field overridable. */
function rawRecord(record: RawRecord): Buffer {
  const body = Buffer.concat([
    Buffer.from([0]),
    varlong(record.timestampDelta ?? 0),
    varint(record.offsetDelta),
    bytesField(record.key === undefined ? null : record.key),
    bytesField(record.value === undefined ? Buffer.from("v") : record.value),
    record.headers ?? varint(0),
  ]);
  return Buffer.concat([varint(record.length ?? body.length), body]);
}

/** A batch with a correct header and CRC around the given records section. */
function sealed(section: Buffer, recordCount: number, options: { compression?: CompressionType; attributes?: number } = {}): Buffer {
  const compression = options.compression ?? "none";
  const header = encodeBatch({ records: [{ key: null, value: null, timestampMs: NOW_MS }] }).subarray(0, BATCH_HEADER_BYTES);
  const body = compression === "none" ? section : compress(compression, section);
  const batch = Buffer.concat([header, body]);
  batch.writeInt32BE(batch.length - BATCH_LOG_OVERHEAD_BYTES, BatchField.batchLength);
  batch.writeInt16BE(options.attributes ?? CompressionCodes[compression], BatchField.attributes);
  batch.writeInt32BE(Math.max(recordCount - 1, 0), BatchField.lastOffsetDelta);
  batch.writeInt32BE(recordCount, BatchField.recordCount);
  writeBatchCrc(batch, 0);
  expect(checkBatch(batch).ok).toBe(true);
  return batch;
}

/** `count` well-formed records with offset deltas 0, 1, 2, ... */
function wellFormed(count: number, valueBytes = 1): Buffer {
  return Buffer.concat(Array.from({ length: count }, (_, offsetDelta) => rawRecord({ offsetDelta, value: Buffer.alloc(valueBytes, 0x76) })));
}

function threeRecords(): Buffer {
  return wellFormed(3);
}

/** The kind of RecordsError validateBatchRecords throws, or "ok"; any other exception fails. */
function verdict(batch: Buffer, options: ValidateRecordsOptions = PRODUCED): RecordsErrorKind | "ok" {
  try {
    validateBatchRecords(batch, 0, options);
    return "ok";
  } catch (error) {
    if (error instanceof RecordsError) return error.kind;
    throw error;
  }
}

describe("validateBatchRecords on batches the encoder writes", () => {
  it.each(CODECS)("passes %s batches with keys, null values, headers and log-append time", (compression) => {
    const records: RecordInput[] = [
      { key: Buffer.from("k"), value: Buffer.from("v".repeat(300)), timestampMs: NOW_MS },
      { key: null, value: null, timestampMs: NOW_MS - 5_000 },
      { key: Buffer.alloc(0), value: Buffer.alloc(0), timestampMs: NOW_MS + 9, headers: [{ key: "h", value: null }, { key: "", value: Buffer.from("x") }] },
    ];
    expect(verdict(encodeBatch({ records, compression }))).toBe("ok");
    expect(verdict(encodeBatch({ records, compression, timestampType: "log-append" }))).toBe("ok");
  });

  it("passes a hand-built batch that record-codec would write, and a batch at a non-zero position", () => {
    const batch = sealed(threeRecords(), 3);
    expect(verdict(batch)).toBe("ok");
    const two = Buffer.concat([encodeBatch({ records: [{ key: null, value: Buffer.from("a"), timestampMs: NOW_MS }] }), batch]);
    expect(() => validateBatchRecords(two, two.length - batch.length, PRODUCED)).not.toThrow();
  });

  it("passes a thousand-record batch (the walk is linear, not per-record allocation heavy)", () => {
    const records = Array.from({ length: 1000 }, (_, i) => ({ key: null, value: Buffer.from(`value-${i}`), timestampMs: NOW_MS + i }));
    expect(verdict(encodeBatch({ records }))).toBe("ok");
  });
});

describe("validateBatchRecords on hostile record bytes", () => {
  const cases: Array<[string, () => Buffer, RecordsErrorKind]> = [
    ["records that are all 0xff", () => { const b = sealed(threeRecords(), 3); b.fill(0xff, BATCH_HEADER_BYTES); writeBatchCrc(b, 0); return b; }, "bad-varint"],
    ["a record length varint cut off at the section's end", () => sealed(Buffer.concat([wellFormed(1, 20), Buffer.from([0x80, 0x80, 0x80])]), 2), "truncated"],
    ["a record length varint longer than 5 bytes", () => sealed(Buffer.concat([Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), Buffer.alloc(20)]), 2), "bad-varint"],
    ["a negative record length", () => sealed(Buffer.concat([rawRecord({ offsetDelta: 0, length: -3 }), Buffer.alloc(8)]), 2), "bad-record"],
    ["a record length below the smallest record", () => sealed(Buffer.concat([rawRecord({ offsetDelta: 0, length: 2 }), Buffer.alloc(8)]), 2), "bad-record"],
    ["a record length past the section", () => sealed(Buffer.concat([rawRecord({ offsetDelta: 0, length: 0x7fff_ffff })]), 1), "bad-record"],
    ["a record length that ends inside its last field", () => sealed(Buffer.concat([rawRecord({ offsetDelta: 0, value: Buffer.from("abcdef"), length: 11 }), Buffer.alloc(9)]), 2), "truncated"],
    ["a record length that ends inside its value", () => sealed(Buffer.concat([rawRecord({ offsetDelta: 0, value: Buffer.from("abcdef"), length: 9 }), Buffer.alloc(9)]), 2), "bad-record"],
    ["a record length longer than its fields", () => sealed(Buffer.concat([rawRecord({ offsetDelta: 0, length: 10 }), Buffer.alloc(9)]), 1), "bad-record"],
    ["more records claimed than present", () => sealed(wellFormed(3, 20), 4), "truncated"],
    ["more records claimed than the bytes could hold", () => sealed(threeRecords(), 4), "truncated"],
    ["a record count far beyond the bytes", () => sealed(threeRecords(), 0x7fff_ffff), "truncated"],
    ["fewer records claimed than present (trailing records)", () => sealed(threeRecords(), 2), "bad-record"],
    ["trailing bytes after the last record", () => sealed(Buffer.concat([threeRecords(), Buffer.from([0])]), 3), "bad-record"],
    ["a key length of -2", () => sealed(Buffer.concat([varint(6), Buffer.from([0]), varint(0), varint(0), varint(-2), varint(-1), varint(0)]), 1), "bad-record"],
    ["a huge value length", () => sealed(Buffer.concat([varint(11), Buffer.from([0]), varint(0), varint(0), varint(-1), varint(0x3fff_ffff), Buffer.alloc(2)]), 1), "bad-record"],
    ["a negative header count", () => sealed(rawRecord({ offsetDelta: 0, headers: varint(-1) }), 1), "bad-record"],
    ["a header count beyond the record", () => sealed(rawRecord({ offsetDelta: 0, headers: Buffer.concat([varint(50), varint(0), varint(-1)]) }), 1), "bad-record"],
    ["a negative header key length", () => sealed(rawRecord({ offsetDelta: 0, headers: Buffer.concat([varint(1), varint(-1), varint(-1)]) }), 1), "bad-record"],
    ["a header value past the record", () => sealed(rawRecord({ offsetDelta: 0, headers: Buffer.concat([varint(1), varint(1), Buffer.from("h"), varint(40)]) }), 1), "bad-record"],
    ["a timestamp delta that leaves the safe integers", () => sealed(rawRecord({ offsetDelta: 0, timestampDelta: Number.MAX_SAFE_INTEGER }), 1), "unsafe-integer"],
    ["offset deltas that skip", () => sealed(Buffer.concat([0, 2, 3].map((offsetDelta) => rawRecord({ offsetDelta }))), 3), "bad-count"],
    ["offset deltas that repeat", () => sealed(Buffer.concat([0, 0, 1].map((offsetDelta) => rawRecord({ offsetDelta }))), 3), "bad-count"],
    ["a base timestamp outside the safe integers", () => { const b = sealed(threeRecords(), 3); b.writeInt32BE(0x7fff_ffff, BatchField.baseTimestamp); writeBatchCrc(b, 0); return b; }, "unsafe-integer"],
    ["gzip attributes over a body that is not gzip", () => sealed(threeRecords(), 3, { attributes: CompressionCodes.gzip }), "decompression-failed"],
    ["zstd attributes over a body that is not zstd", () => sealed(threeRecords(), 3, { attributes: CompressionCodes.zstd }), "decompression-failed"],
    ["a compression code no codec has", () => sealed(threeRecords(), 3, { attributes: 5 }), "unsupported-compression"],
    ["garbage records inside a valid gzip frame", () => sealed(Buffer.alloc(64, 0xff), 3, { compression: "gzip" }), "bad-varint"],
    ["a valid lz4 frame holding one record too few", () => sealed(wellFormed(3, 20), 4, { compression: "lz4" }), "truncated"],
    ["a valid snappy frame holding trailing bytes", () => sealed(Buffer.concat([threeRecords(), Buffer.from([0])]), 3, { compression: "snappy" }), "bad-record"],
  ];

  it.each(cases)("refuses %s", (_name, build, kind) => {
    const batch = build();
    expect(verdict(batch)).toBe(kind);
    // What the walk refuses (offset deltas aside, a leader's rule), a consumer cannot decode.
    if (kind !== "bad-count") expect(() => decodeBatch(batch)).toThrow(RecordsError);
  });

  it("refuses a keyless record only when keys are required (a compacted topic), compressed or not", () => {
    const keyed = rawRecord({ offsetDelta: 0, key: Buffer.from("k") });
    const keyless = rawRecord({ offsetDelta: 1 });
    const emptyKey = rawRecord({ offsetDelta: 1, key: Buffer.alloc(0) });
    const KEYS: ValidateRecordsOptions = { ...PRODUCED, requireKeys: true };
    for (const compression of CODECS) {
      expect(verdict(sealed(Buffer.concat([keyed, keyless]), 2, { compression }), KEYS)).toBe("missing-key");
      expect(verdict(sealed(Buffer.concat([keyed, keyless]), 2, { compression }))).toBe("ok");
      // An empty key is a key (Kafka refuses only null ones).
      expect(verdict(sealed(Buffer.concat([keyed, emptyKey]), 2, { compression }), KEYS)).toBe("ok");
    }
  });

  it("accepts offset deltas with gaps when contiguity is not asked for (a compacted log)", () => {
    const gapped = sealed(Buffer.concat([0, 2, 3].map((offsetDelta) => rawRecord({ offsetDelta }))), 3);
    expect(verdict(gapped, LOG_READER)).toBe("ok");
  });

  it("refuses a compressed batch that would decompress past maxDecompressedBytes", () => {
    const batch = encodeBatch({ records: [{ key: null, value: Buffer.alloc(100_000), timestampMs: NOW_MS }], compression: "gzip" });
    expect(verdict(batch, { ...PRODUCED, maxDecompressedBytes: 10_000 })).toBe("too-large");
    expect(verdict(batch)).toBe("ok");
  });

  it("refuses a batch whose length field runs past the buffer instead of reading outside it", () => {
    const batch = sealed(threeRecords(), 3).subarray(0, BATCH_HEADER_BYTES + 4);
    expect(verdict(batch)).toBe("truncated");
  });

  it("reads log-append-time batches' timestamps from the batch, as decodeBatch does", () => {
    const batch = sealed(rawRecord({ offsetDelta: 0, timestampDelta: Number.MAX_SAFE_INTEGER }), 1, { attributes: Attributes.timestampTypeLogAppend });
    expect(verdict(batch)).toBe("ok");
    expect(decodeBatch(batch).records).toHaveLength(1);
  });
});


const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe];
/** Raise with RECORDS_FUZZ_ITERATIONS for a longer hunt; CI keeps the default quick. */
const ITERATIONS = Number(process.env["RECORDS_FUZZ_ITERATIONS"] ?? 3000);

/** Damages the records section of a plain batch and reseals it (compressing it, for a codec). */
function damaged(random: () => number, compression: CompressionType): Buffer {
  const records = Array.from({ length: 1 + Math.floor(random() * 6) }, (_, i) => ({
    key: random() < 0.3 ? null : Buffer.from(`key-${i}`),
    value: random() < 0.1 ? null : Buffer.from("payload ".repeat(1 + Math.floor(random() * 20))),
    timestampMs: NOW_MS + Math.floor(random() * 100_000) - 50_000,
    headers: random() < 0.4 ? [{ key: "h", value: random() < 0.5 ? null : Buffer.from("hv") }] : [],
  }));
  const plain = encodeBatch({ records });
  const section = Buffer.from(plain.subarray(BATCH_HEADER_BYTES));
  for (let m = 1 + Math.floor(random() * 3); m > 0; m--) {
    const at = Math.floor(random() * section.length);
    section[at] = random() < 0.5 ? Math.floor(random() * 256) : INTERESTING_BYTES[Math.floor(random() * INTERESTING_BYTES.length)]!;
  }
  const cut = random() < 0.1 ? section.subarray(0, Math.floor(random() * section.length)) : section;
  const batch = sealed(cut, records.length, { compression });
  if (random() < 0.1) {
    writeInt64BE(batch, BatchField.baseTimestamp, Number.MAX_SAFE_INTEGER - Math.floor(random() * 1000));
    writeBatchCrc(batch, 0);
  }
  return batch;
}

describe("validateBatchRecords agrees with decodeBatch", () => {
  it.each(CODECS)("on damaged %s batches: refused exactly when a consumer could not decode them", (compression) => {
    const seed = Number(process.env["RECORDS_FUZZ_SEED"] ?? Math.floor(Math.random() * 2 ** 31));
    const random = prng(seed);
    const disagreements: string[] = [];
    let refused = 0;
    const iterations = compression === "none" ? ITERATIONS : ITERATIONS / 5;
    for (let i = 0; i < iterations; i++) {
      const batch = damaged(random, compression);
      const walk = verdict(batch, LOG_READER);
      let decoded: RecordsErrorKind | "ok" = "ok";
      try {
        decodeBatch(batch);
      } catch (error) {
        if (!(error instanceof RecordsError)) throw error;
        decoded = error.kind;
      }
      if (walk !== "ok") refused++;
      if ((walk === "ok") !== (decoded === "ok")) disagreements.push(`#${i} walk ${walk}, decode ${decoded}: ${batch.toString("hex")}`);
      // Produced batches: the contiguity rule may refuse more, never less.
      if (walk !== "ok") expect(verdict(batch)).not.toBe("ok");
    }
    expect(disagreements, `seed ${seed}`).toEqual([]);
    expect(refused, `seed ${seed}: the mutations should break some batches`).toBeGreaterThan(0);
  });
});

describe("the walk's varint readers", () => {
  type Read = { value: number; end: number } | { error: RecordsErrorKind };
  function attempt(read: () => { value: number; end: number }): Read {
    try {
      return read();
    } catch (error) {
      if (error instanceof RecordsError) return { error: error.kind };
      throw error;
    }
  }

  it("read exactly what BoundedReader reads, errors included, on random and edge bytes", () => {
    const seed = Number(process.env["RECORDS_FUZZ_SEED"] ?? Math.floor(Math.random() * 2 ** 31));
    const random = prng(seed);
    const samples: Buffer[] = [varint(-8192), varint(8191), varint(-8193), varint(0x7fff_ffff), varint(-0x8000_0000),
      varlong(Number.MAX_SAFE_INTEGER), varlong(Number.MIN_SAFE_INTEGER), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f]), Buffer.alloc(11, 0xff),
      Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]), Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x00])];
    for (let i = 0; i < 20_000; i++) {
      // Mostly continuation bytes, so long and overlong encodings come up often.
      samples.push(Buffer.from(Array.from({ length: Math.floor(random() * 12) }, () => (random() < 0.7 ? 0x80 : 0) | Math.floor(random() * 128))));
    }
    const mismatches: string[] = [];
    for (const bytes of samples) {
      for (const end of [bytes.length, Math.floor(bytes.length / 2)]) {
        const expectedInt = attempt(() => { const r = new BoundedReader(bytes, 0, end); return { value: r.readVarint(), end: r.pos }; });
        const actualInt = attempt(() => { const next = skipVarint(bytes, 0, end); return { value: lastVarintValue(), end: next }; });
        const expectedLong = attempt(() => { const r = new BoundedReader(bytes, 0, end); return { value: r.readVarlong(), end: r.pos }; });
        const actualLong = attempt(() => { const next = skipVarlong(bytes, 0, end); return { value: lastVarintValue(), end: next }; });
        if (JSON.stringify(actualInt) !== JSON.stringify(expectedInt)) mismatches.push(`varint ${bytes.toString("hex")} end ${end}: ${JSON.stringify(actualInt)} vs ${JSON.stringify(expectedInt)}`);
        if (JSON.stringify(actualLong) !== JSON.stringify(expectedLong)) mismatches.push(`varlong ${bytes.toString("hex")} end ${end}: ${JSON.stringify(actualLong)} vs ${JSON.stringify(expectedLong)}`);
      }
    }
    expect(mismatches.slice(0, 5), `seed ${seed}`).toEqual([]);
  });
});
