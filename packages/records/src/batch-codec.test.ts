import { describe, expect, it } from "vitest";
import { decodeBatch, encodeBatch, iterateBatches, type EncodeBatchOptions } from "./batch-codec.js";
import { BATCH_HEADER_BYTES, BatchField, checkBatch, readBatchHeader, setBaseOffset, setMaxTimestamp, setPartitionLeaderEpoch, writeBatchCrc } from "./batch-header.js";
import type { CompressionType } from "./compression.js";
import { RecordsError } from "./errors.js";
import type { RecordInput } from "./record-codec.js";

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ""), "hex");

// Two batches of a KRaft __cluster_metadata log segment written by Apache Kafka (published as a
// fixture of the CodeCrafters "Build your own Kafka" challenge, reproduced in public
// repositories). Key null, no headers, CRCs computed by Kafka.
const KAFKA_ONE_RECORD = hex(`
  0000000000000001 0000004f 00000001 02 b069457c 0000 00000000 00000191e05af818 00000191e05af818
  ffffffffffffffff ffff ffffffff 00000001
  3a 00 00 00 01 2e 010c00116d657461646174612e76657273696f6e001400 00`);
const KAFKA_TWO_RECORDS = hex(`
  0000000000000002 0000009a 00000001 02 86832f73 0000 00000001 00000191e05b2d15 00000191e05b2d15
  ffffffffffffffff ffff ffffffff 00000002
  3c 00 00 00 01 30 01020004666f6f0000000000004000800000000000008500 00
  9001 00 00 02 01 8201 0103010000000000000000000040008000000000000085020000000102000000010101000000010000000000000000021000000000004000800000000000000100 00`);

// Sarama's record_test.go vectors (checked by Sarama against real brokers): one record with a
// 4-byte key, a 3-byte value and one header, producer id/epoch/sequence 0, max timestamp 0.
const SARAMA_RECORD: RecordInput = {
  key: Buffer.from([1, 2, 3, 4]),
  value: Buffer.from([5, 6, 7]),
  timestampMs: 1479847795000 + 5,
  headers: [{ key: "\x08\x09\x0a", value: Buffer.from([11, 12]) }],
};
const SARAMA_HEADER_OPTIONS: Partial<EncodeBatchOptions> = {
  baseTimestampMs: 1479847795000,
  maxTimestampMs: 0,
  producerId: 0,
  producerEpoch: 0,
  baseSequence: 0,
  partitionLeaderEpoch: 0,
};
const SARAMA_UNCOMPRESSED = Buffer.from([
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 70, 0, 0, 0, 0, 2, 84, 121, 97, 253, 0, 0, 0, 0, 0, 0, 0, 0, 1, 88, 141, 205, 89, 56,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
  40, 0, 10, 0, 8, 1, 2, 3, 4, 6, 5, 6, 7, 2, 6, 8, 9, 10, 4, 11, 12,
]);
const SARAMA_HEADER_PREFIX = [
  0, 0, 1, 88, 141, 205, 89, 56, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
];
function saramaBatch(length: number, crc: number[], attributes: number, records: number[]): Buffer {
  return Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, length, 0, 0, 0, 0, 2, ...crc, 0, attributes, 0, 0, 0, 0, ...SARAMA_HEADER_PREFIX, ...records]);
}
const SARAMA_GZIP = saramaBatch(95, [231, 74, 206, 165], 1, [
  31, 139, 8, 0, 0, 9, 110, 136, 0, 255, 0, 21, 0, 234, 255, 40, 0, 10, 0, 8, 1, 2, 3, 4, 6, 5, 6, 7, 2, 6, 8, 9, 10, 4,
  11, 12, 3, 0, 173, 201, 88, 103, 21, 0, 0, 0,
]);
const SARAMA_RAW_SNAPPY = saramaBatch(72, [21, 0, 159, 97], 2, [21, 80, 40, 0, 10, 0, 8, 1, 2, 3, 4, 6, 5, 6, 7, 2, 6, 8, 9, 10, 4, 11, 12]);
const SARAMA_LZ4 = saramaBatch(89, [169, 74, 119, 197], 3, [
  4, 34, 77, 24, 100, 112, 185, 21, 0, 0, 128, 40, 0, 10, 0, 8, 1, 2, 3, 4, 6, 5, 6, 7, 2, 6, 8, 9, 10, 4, 11, 12, 0, 0,
  0, 0, 12, 59, 239, 146,
]);

const ALL_CODECS: CompressionType[] = ["none", "gzip", "snappy", "lz4", "zstd"];

function inputsOf(batch: ReturnType<typeof decodeBatch>): RecordInput[] {
  return batch.records.map((record) => ({
    key: record.key,
    value: record.value,
    timestampMs: record.timestampMs,
    headers: record.headers,
    offsetDelta: record.offset - batch.header.baseOffset,
  }));
}

function expectRecordsError(run: () => unknown, kind: RecordsError["kind"]): void {
  let error: unknown;
  try {
    run();
  } catch (caught) {
    error = caught;
  }
  expect(error, `expected a RecordsError of kind ${kind}`).toBeInstanceOf(RecordsError);
  expect((error as RecordsError).kind).toBe(kind);
}

describe("encodeBatch / decodeBatch against bytes written by other implementations", () => {
  it("re-encodes Kafka's own one-record and two-record batches byte for byte", () => {
    for (const kafkaBytes of [KAFKA_ONE_RECORD, KAFKA_TWO_RECORDS]) {
      const decoded = decodeBatch(kafkaBytes);
      const encoded = encodeBatch({
        records: inputsOf(decoded),
        baseOffset: decoded.header.baseOffset,
        partitionLeaderEpoch: decoded.header.partitionLeaderEpoch,
      });
      expect(encoded.toString("hex")).toBe(kafkaBytes.toString("hex"));
    }
  });

  it("decodes Kafka's two-record batch to the offsets, timestamps and values it holds", () => {
    const batch = decodeBatch(KAFKA_TWO_RECORDS);
    expect(batch.header).toMatchObject({ baseOffset: 2, partitionLeaderEpoch: 1, lastOffsetDelta: 1, recordCount: 2, producerId: -1 });
    expect(batch.compression).toBe("none");
    expect(batch.timestampType).toBe("create");
    expect(batch.records.map((r) => [r.offset, r.timestampMs, r.key, r.value?.length, r.headers])).toEqual([
      [2, 1726045957397, null, 24, []],
      [3, 1726045957397, null, 65, []],
    ]);
    expect(batch.records[0]!.value!.subarray(4, 7).toString()).toBe("foo");
  });

  it("encodes Sarama's uncompressed vector byte for byte (key, value, header, timestamp delta)", () => {
    const encoded = encodeBatch({ records: [SARAMA_RECORD], ...SARAMA_HEADER_OPTIONS });
    expect([...encoded]).toEqual([...SARAMA_UNCOMPRESSED]);
  });

  it.each([
    ["gzip", SARAMA_GZIP],
    ["snappy", SARAMA_RAW_SNAPPY],
    ["lz4", SARAMA_LZ4],
    ["none", SARAMA_UNCOMPRESSED],
  ] as const)("decodes Sarama's %s batch to its record", (codec, bytes) => {
    const batch = decodeBatch(bytes);
    expect(batch.compression).toBe(codec);
    expect(batch.records).toHaveLength(1);
    const record = batch.records[0]!;
    expect(record.offset).toBe(0);
    expect(record.timestampMs).toBe(1479847795005);
    expect([...record.key!]).toEqual([1, 2, 3, 4]);
    expect([...record.value!]).toEqual([5, 6, 7]);
    expect(record.headers).toEqual([{ key: "\x08\x09\x0a", value: Buffer.from([11, 12]) }]);
  });
});

describe("encodeBatch / decodeBatch round trips", () => {
  const records: RecordInput[] = [
    { key: Buffer.from("user-1"), value: Buffer.from("x".repeat(300)), timestampMs: 1_700_000_000_500 },
    { key: null, value: Buffer.alloc(0), timestampMs: 1_700_000_000_000, headers: [{ key: "trace-id", value: Buffer.from("abc") }] },
    { key: Buffer.alloc(0), value: null, timestampMs: 1_700_000_009_999, headers: [{ key: "ünïcødé ✓", value: null }, { key: "", value: Buffer.alloc(0) }] },
  ];

  it.each(ALL_CODECS)("keeps every field through %s", (compression) => {
    const encoded = encodeBatch({ records, compression, baseOffset: 1000, partitionLeaderEpoch: 7, producerId: 4242, producerEpoch: 3, baseSequence: 17 });
    expect(checkBatch(encoded)).toEqual({ ok: true, sizeBytes: encoded.length });
    const batch = decodeBatch(encoded);
    expect(batch.compression).toBe(compression);
    expect(batch.header).toMatchObject({
      baseOffset: 1000,
      partitionLeaderEpoch: 7,
      producerId: 4242,
      producerEpoch: 3,
      baseSequence: 17,
      recordCount: 3,
      lastOffsetDelta: 2,
      baseTimestamp: 1_700_000_000_500, // the first record's, as Kafka's producer sets it
      maxTimestamp: 1_700_000_009_999,
    });
    expect(batch.records.map((r) => r.offset)).toEqual([1000, 1001, 1002]);
    expect(batch.records.map((r) => r.timestampMs)).toEqual(records.map((r) => r.timestampMs)); // incl. a negative delta
    expect(batch.records.map((r) => r.key)).toEqual([Buffer.from("user-1"), null, Buffer.alloc(0)]);
    expect(batch.records.map((r) => r.value)).toEqual([Buffer.from("x".repeat(300)), Buffer.alloc(0), null]);
    expect(batch.records.map((r) => r.headers)).toEqual([[], records[1]!.headers, records[2]!.headers]);
  });

  it("gives decoded values as views into the batch, not copies", () => {
    const encoded = encodeBatch({ records: [{ key: null, value: Buffer.from("hello"), timestampMs: 1 }] });
    const value = decodeBatch(encoded).records[0]!.value!;
    expect(value.buffer).toBe(encoded.buffer);
    expect(value.toString()).toBe("hello");
  });

  it("decodes a batch at a position inside a larger buffer", () => {
    const first = encodeBatch({ records: [{ key: null, value: Buffer.from("a"), timestampMs: 1 }] });
    const second = encodeBatch({ records: [{ key: null, value: Buffer.from("b"), timestampMs: 2 }], baseOffset: 1 });
    const both = Buffer.concat([first, second]);
    expect(decodeBatch(both, first.length).records[0]).toMatchObject({ offset: 1, value: Buffer.from("b") });
  });

  it("keeps compaction's offset gaps, last offset delta and delete horizon", () => {
    const encoded = encodeBatch({
      records: [
        { key: Buffer.from("a"), value: Buffer.from("1"), timestampMs: 10, offsetDelta: 1 },
        { key: Buffer.from("b"), value: null, timestampMs: 20, offsetDelta: 4 },
      ],
      baseOffset: 100,
      lastOffsetDelta: 9,
      deleteHorizonMs: 5000,
    });
    const batch = decodeBatch(encoded);
    expect(batch.header.lastOffsetDelta).toBe(9);
    expect(batch.deleteHorizonMs).toBe(5000);
    expect(batch.records.map((r) => [r.offset, r.timestampMs])).toEqual([
      [101, 10],
      [104, 20],
    ]);
  });

  it("encodes an empty batch (what compaction leaves to keep producer state)", () => {
    const encoded = encodeBatch({ records: [], baseOffset: 50, lastOffsetDelta: 3, producerId: 9, producerEpoch: 1, baseSequence: 40 });
    expect(encoded.length).toBe(BATCH_HEADER_BYTES);
    const batch = decodeBatch(encoded);
    expect(batch.records).toEqual([]);
    expect(batch.header).toMatchObject({ recordCount: 0, lastOffsetDelta: 3, baseTimestamp: -1, maxTimestamp: -1, producerId: 9 });
  });

  it("sets and reads the transactional and control flags", () => {
    const batch = decodeBatch(encodeBatch({ records: [{ key: null, value: null, timestampMs: 0 }], isTransactional: true, isControl: true }));
    expect(batch.isTransactional).toBe(true);
    expect(batch.isControl).toBe(true);
    expect(batch.header.attributes & 0x30).toBe(0x30);
  });

  it("gives every record the batch max timestamp under log-append time", () => {
    const records: RecordInput[] = [
      { key: null, value: Buffer.from("a"), timestampMs: 1000 },
      { key: null, value: Buffer.from("b"), timestampMs: 2000 },
    ];
    const encoded = encodeBatch({ records, timestampType: "log-append", maxTimestampMs: 9999 });
    const batch = decodeBatch(encoded);
    expect(batch.timestampType).toBe("log-append");
    expect(batch.records.map((r) => r.timestampMs)).toEqual([9999, 9999]);
  });

  it("lets the broker stamp log-append time in place, keeping the CRC valid", () => {
    const encoded = encodeBatch({ records: [{ key: null, value: Buffer.from("a"), timestampMs: 1000 }] });
    setBaseOffset(encoded, 0, 77);
    setPartitionLeaderEpoch(encoded, 0, 3);
    setMaxTimestamp(encoded, 0, "log-append", 123456);
    expect(checkBatch(encoded).ok).toBe(true);
    const batch = decodeBatch(encoded);
    expect(batch.records[0]).toMatchObject({ offset: 77, timestampMs: 123456 });
    expect(readBatchHeader(encoded)).toMatchObject({ partitionLeaderEpoch: 3, maxTimestamp: 123456 });
  });

  it("refuses encoder input that would write a wrong batch", () => {
    const one = { key: null, value: null, timestampMs: 0 };
    expect(() => encodeBatch({ records: [{ ...one, offsetDelta: 2 }, { ...one, offsetDelta: 2 }] })).toThrow(RangeError);
    expect(() => encodeBatch({ records: [{ ...one, offsetDelta: -1 }] })).toThrow(RangeError);
    expect(() => encodeBatch({ records: [{ ...one, timestampMs: 1.5 }] })).toThrow(RangeError);
    expect(() => encodeBatch({ records: [one, one], lastOffsetDelta: 0 })).toThrow(RangeError);
    expect(() => encodeBatch({ records: [one], baseOffset: 2 ** 53 })).toThrow(RangeError);
    expect(() => encodeBatch({ records: [one], producerEpoch: 40000 })).toThrow(RangeError);
    expect(() => encodeBatch({ records: [one], compression: "brotli" as CompressionType })).toThrow(RangeError);
  });
});

describe("decodeBatch refuses bad bytes with typed errors", () => {
  const valid = () => encodeBatch({ records: [{ key: Buffer.from("k"), value: Buffer.from("value"), timestampMs: 5 }] });

  /** Changes a batch and re-signs it, so the record parser (not the CRC) has to catch it. */
  function resigned(mutate: (buf: Buffer) => void): Buffer {
    const buf = valid();
    mutate(buf);
    writeBatchCrc(buf, 0);
    return buf;
  }

  it("a flipped bit: crc-mismatch", () => {
    const buf = valid();
    buf[buf.length - 2]! ^= 0x01;
    expectRecordsError(() => decodeBatch(buf), "crc-mismatch");
  });

  it("a short buffer: truncated", () => {
    expectRecordsError(() => decodeBatch(valid().subarray(0, 70)), "truncated");
  });

  it("a record count above what the bytes can hold: bad-count", () => {
    expectRecordsError(() => decodeBatch(resigned((b) => b.writeInt32BE(1000, BatchField.recordCount))), "bad-count");
  });

  it("a record count below the records present: bad-record (trailing bytes)", () => {
    const two = encodeBatch({
      records: [
        { key: null, value: Buffer.from("a"), timestampMs: 1 },
        { key: null, value: Buffer.from("b"), timestampMs: 1 },
      ],
    });
    two.writeInt32BE(1, BatchField.recordCount);
    two.writeInt32BE(0, BatchField.lastOffsetDelta);
    writeBatchCrc(two, 0);
    expectRecordsError(() => decodeBatch(two), "bad-record");
  });

  it("a value length running past its record: bad-record", () => {
    // Record layout here: length, attributes, ts delta, offset delta, key len (2 = 1), key, value len.
    expectRecordsError(() => decodeBatch(resigned((b) => (b[BATCH_HEADER_BYTES + 6] = 0x7e))), "bad-record");
  });

  it("a compression code Kafka does not define: unsupported-compression", () => {
    expectRecordsError(() => decodeBatch(resigned((b) => b.writeInt16BE(5, BatchField.attributes))), "unsupported-compression");
  });

  it("a base offset beyond the safe integers: unsafe-integer", () => {
    const buf = valid();
    buf.writeBigInt64BE(2n ** 60n, BatchField.baseOffset); // outside the CRC, no re-sign needed
    expectRecordsError(() => decodeBatch(buf), "unsafe-integer");
  });

  it("garbage where gzip data should be: decompression-failed", () => {
    const gz = encodeBatch({ records: [{ key: null, value: Buffer.from("v".repeat(100)), timestampMs: 1 }], compression: "gzip" });
    gz[BATCH_HEADER_BYTES + 12]! ^= 0xff;
    writeBatchCrc(gz, 0);
    expectRecordsError(() => decodeBatch(gz), "decompression-failed");
  });

  it("a batch over the caller's size limit: too-large", () => {
    expectRecordsError(() => decodeBatch(valid(), 0, { maxBatchBytes: 64 }), "too-large");
  });

  it("records that decompress past the limit: too-large", () => {
    const big = encodeBatch({ records: [{ key: null, value: Buffer.alloc(100_000), timestampMs: 1 }], compression: "zstd" });
    expectRecordsError(() => decodeBatch(big, 0, { maxDecompressedBytes: 10_000 }), "too-large");
  });
});

describe("iterateBatches", () => {
  const batchAt = (baseOffset: number, count: number): Buffer =>
    encodeBatch({ records: Array.from({ length: count }, (_, i) => ({ key: null, value: Buffer.from(`v${i}`), timestampMs: i })), baseOffset });

  it("yields each whole batch and stops at a partial one at the end", () => {
    const a = batchAt(0, 2);
    const b = batchAt(2, 3);
    const c = batchAt(5, 1);
    const log = Buffer.concat([a, b, c.subarray(0, c.length - 1)]);
    const found = [...iterateBatches(log)];
    expect(found).toEqual([
      { pos: 0, sizeBytes: a.length },
      { pos: a.length, sizeBytes: b.length },
    ]);
    expect(found.map(({ pos }) => decodeBatch(log, pos).records.length)).toEqual([2, 3]);
  });

  it("stops when fewer bytes than a length field remain", () => {
    const a = batchAt(0, 1);
    expect([...iterateBatches(Buffer.concat([a, Buffer.alloc(11)]))]).toHaveLength(1);
    expect([...iterateBatches(Buffer.alloc(0))]).toEqual([]);
  });

  it("throws bad-length for a length field no batch can have, instead of looping", () => {
    const buf = Buffer.alloc(200);
    buf.writeInt32BE(-12, BatchField.batchLength);
    expectRecordsError(() => [...iterateBatches(buf)], "bad-length");
  });
});
