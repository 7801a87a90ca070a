import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { encodeBatch } from "./batch-codec.js";
import { BATCH_HEADER_BYTES } from "./batch-header.js";
import { compress, decompress, type CompressionType } from "./compression.js";
import { RecordsError } from "./errors.js";
import { lz4DecompressedBound, zstdDecompressedBound } from "./frame-bounds.js";
import { XERIAL_HEADER_BYTES } from "./snappy-xerial.js";

/** The records section of a three-record batch: what a codec compresses in a real batch. */
const PAYLOAD = encodeBatch({
  records: [0, 1, 2].map((i) => ({ key: Buffer.from(`key-${i}`), value: Buffer.from(`value ${i} `.repeat(20)), timestampMs: 1_700_000_000_000 + i })),
}).subarray(BATCH_HEADER_BYTES);

// PAYLOAD compressed by the reference command-line tools (zstd 1.5, lz4 1.9, GNU gzip), so the
// decoders are checked against encoders other than the ones they ship with.
const ZSTD_CLI_STREAMED_WITH_CHECKSUM = "28b52ffd0468dd01004402d8020000000a6b65792d30c00276616c756520302000d8020002023131200404323220000820303577151413736d6b29509458ec0baea4ec1d78732bf9"; // no content size in the frame, as zstd-jni streams write
const LZ4_CLI_BLOCK_AND_CONTENT_CHECKSUMS = "04224d187440bd49000000ff06d8020000000a6b65792d30c00276616c75652030200800856100d802000202ae001431ae001331ae000f08007f00ae00210404ae001432ae001332ae000f08007b5065203220003896924900000000717209e9";
const LZ4_CLI_WITH_CONTENT_SIZE = "04224d186c400a020000000000003449000000ff06d8020000000a6b65792d30c00276616c75652030200800856100d802000202ae001431ae001331ae000f08007f00ae00210404ae001432ae001332ae000f08007b50652032200000000000717209e9";
const GZIP_CLI_LEVEL_9 = "1f8b08004845076b0203bbc1c4c0c0c0959d5aa96b7080a92c31a73455c14061b0d20c3798189898c0ae3584b9d65061b0d220d7b2b0805d6b0473ad91c260a51900c712708f0a020000";

const CODECS: CompressionType[] = ["gzip", "snappy", "lz4", "zstd"];

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

describe("codecs", () => {
  it.each(CODECS)("%s round-trips empty, small and multi-block inputs", (codec) => {
    const large = Buffer.alloc(300_000);
    for (let i = 0; i < large.length; i++) large[i] = (i * 7919) % 251;
    for (const input of [Buffer.alloc(0), PAYLOAD, large]) {
      expect(decompress(codec, compress(codec, input)).equals(input)).toBe(true);
    }
  });

  it.each([
    ["zstd", ZSTD_CLI_STREAMED_WITH_CHECKSUM],
    ["lz4", LZ4_CLI_BLOCK_AND_CONTENT_CHECKSUMS],
    ["lz4", LZ4_CLI_WITH_CONTENT_SIZE],
    ["gzip", GZIP_CLI_LEVEL_9],
  ] as const)("%s decodes a frame written by the reference tool", (codec, frameHex) => {
    expect(decompress(codec, Buffer.from(frameHex, "hex")).equals(PAYLOAD)).toBe(true);
  });

  it("lz4 writes the frame Kafka's KafkaLZ4BlockOutputStream writes: version 1, independent 64 KiB blocks, no checksums", () => {
    const frame = compress("lz4", PAYLOAD);
    expect([...frame.subarray(0, 6)]).toEqual([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40]);
  });

  it("zstd and gzip write their standard magic numbers", () => {
    expect(compress("zstd", PAYLOAD).readUInt32LE(0)).toBe(0xfd2fb528);
    expect([...compress("gzip", PAYLOAD).subarray(0, 3)]).toEqual([0x1f, 0x8b, 0x08]);
  });

  it("snappy writes snappy-java's xerial framing with 32 KiB blocks", () => {
    const input = Buffer.alloc(100 * 1024, 0x61);
    const framed = compress("snappy", input);
    expect(framed.subarray(0, XERIAL_HEADER_BYTES).toString("hex")).toBe("82534e41505059000000000100000001");
    let pos = XERIAL_HEADER_BYTES;
    let blocks = 0;
    while (pos < framed.length) {
      pos += 4 + framed.readInt32BE(pos);
      blocks++;
    }
    expect(pos).toBe(framed.length);
    expect(blocks).toBe(4); // 32 + 32 + 32 + 4 KiB
  });

  it("snappy decodes raw blocks and concatenated xerial streams too", () => {
    const raw = Buffer.from([21, 80, 40, 0, 10, 0, 8, 1, 2, 3, 4, 6, 5, 6, 7, 2, 6, 8, 9, 10, 4, 11, 12]); // Sarama's
    expect([...decompress("snappy", raw)]).toEqual([40, 0, 10, 0, 8, 1, 2, 3, 4, 6, 5, 6, 7, 2, 6, 8, 9, 10, 4, 11, 12]);
    const a = Buffer.from("first stream ");
    const b = Buffer.from("second stream");
    const joined = Buffer.concat([compress("snappy", a), compress("snappy", b)]);
    expect(decompress("snappy", joined).toString()).toBe("first stream second stream");
  });

  it.each(CODECS)("%s turns garbage into a decompression-failed RecordsError", (codec) => {
    const garbage = Buffer.from("this is not compressed data at all, not even a little");
    expectRecordsError(() => decompress(codec, garbage), "decompression-failed");
    expectRecordsError(() => decompress(codec, compress(codec, PAYLOAD).subarray(0, 20)), "decompression-failed");
  });
});

describe("decompression limits", () => {
  const LIMIT_BYTES = 1024 * 1024;
  const zeros = Buffer.alloc(8 * LIMIT_BYTES);

  it.each(CODECS)("%s refuses output over the limit", (codec) => {
    expectRecordsError(() => decompress(codec, compress(codec, zeros), LIMIT_BYTES), "too-large");
    expect(decompress(codec, compress(codec, zeros), zeros.length).length).toBe(zeros.length);
  });

  /** A zstd frame of `blocks` RLE blocks of 128 KiB each: 4 bytes per 128 KiB of output. */
  function zstdRleBomb(blocks: number, byte: number): Buffer {
    const parts = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58])]; // magic, no content size, 8 MiB window
    for (let i = 0; i < blocks; i++) {
      const header = ((128 * 1024) << 3) | (1 << 1) | (i === blocks - 1 ? 1 : 0);
      parts.push(Buffer.from([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff, byte]));
    }
    return Buffer.concat(parts);
  }

  it("zstd: a hand-built RLE frame is real zstd, and a large one is refused before decoding", () => {
    const small = zstdRleBomb(3, 0x41);
    expect(zstdDecompressedBound(small)).toBe(3 * 128 * 1024);
    expect(decompress("zstd", small).equals(Buffer.alloc(3 * 128 * 1024, 0x41))).toBe(true);
    // 8 KiB of frame claiming 256 MiB: refused by walking the headers, nothing allocated.
    const bomb = zstdRleBomb(2048, 0x41);
    expect(zstdDecompressedBound(bomb)).toBe(256 * 1024 * 1024);
    expectRecordsError(() => decompress("zstd", bomb, LIMIT_BYTES), "too-large");
  });

  it("lz4 and zstd bounds are never below the real output", () => {
    const inputs = [PAYLOAD, zeros, Buffer.from("abc".repeat(100_000)), Buffer.alloc(0)];
    for (const input of inputs) {
      expect(lz4DecompressedBound(compress("lz4", input))).toBeGreaterThanOrEqual(input.length);
      expect(zstdDecompressedBound(compress("zstd", input))).toBeGreaterThanOrEqual(input.length);
    }
    expect(lz4DecompressedBound(Buffer.from(LZ4_CLI_BLOCK_AND_CONTENT_CHECKSUMS, "hex"))).toBeGreaterThanOrEqual(PAYLOAD.length);
    expect(zstdDecompressedBound(Buffer.from(ZSTD_CLI_STREAMED_WITH_CHECKSUM, "hex"))).toBeGreaterThanOrEqual(PAYLOAD.length);
  });

  it("snappy: a raw block declaring 4 GiB is refused from its preamble", () => {
    expectRecordsError(() => decompress("snappy", Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]), LIMIT_BYTES), "too-large");
  });

  it("gzip: a bomb is stopped by zlib's output limit", () => {
    const bomb = gzipSync(Buffer.alloc(64 * LIMIT_BYTES), { level: 9 });
    expect(bomb.length).toBeLessThan(100_000);
    expectRecordsError(() => decompress("gzip", bomb, LIMIT_BYTES), "too-large");
  });
});
