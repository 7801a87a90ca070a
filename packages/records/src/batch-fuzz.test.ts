// Hostile bytes: random mutations of valid batches must make decodeBatch return or throw a
// RecordsError, never anything else (no TypeError from a missing bounds check, no RangeError
// from Buffer, no hang, no giant allocation). Most mutations are re-signed with a fresh CRC so
// the record parser and the decompressors, not just the CRC check, see the damage.
import { describe, expect, it } from "vitest";
import { prng } from "./testing/prng.js";
import { decodeBatch, encodeBatch, iterateBatches } from "./batch-codec.js";
import { BATCH_HEADER_BYTES, BATCH_LOG_OVERHEAD_BYTES, BatchField, writeBatchCrc } from "./batch-header.js";
import { type CompressionType, CompressionCodes, compress } from "./compression.js";
import { RecordsError } from "./errors.js";
import type { RecordInput } from "./record-codec.js";


function sampleRecords(random: () => number): RecordInput[] {
  const count = 1 + Math.floor(random() * 6);
  return Array.from({ length: count }, (_, i) => ({
    key: random() < 0.3 ? null : Buffer.from(`key-${i}-${Math.floor(random() * 1000)}`),
    value: random() < 0.1 ? null : Buffer.from("payload ".repeat(1 + Math.floor(random() * 20))),
    timestampMs: 1_700_000_000_000 + Math.floor(random() * 100_000) - 50_000,
    headers: random() < 0.4 ? [{ key: "h", value: random() < 0.5 ? null : Buffer.from("hv") }] : [],
  }));
}

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe];

function mutate(original: Buffer, random: () => number): Buffer {
  const buf = Buffer.from(original);
  const mutations = 1 + Math.floor(random() * 4);
  for (let m = 0; m < mutations; m++) {
    const choice = random();
    // Mostly hit the records section: the header is covered by checkBatch's own tests.
    const from = random() < 0.85 ? BATCH_HEADER_BYTES : 0;
    const at = from + Math.floor(random() * (buf.length - from));
    if (choice < 0.5) buf[at] = Math.floor(random() * 256);
    else if (choice < 0.8) buf[at] = INTERESTING_BYTES[Math.floor(random() * INTERESTING_BYTES.length)]!;
    else buf[at]! ^= 1 << Math.floor(random() * 8);
  }
  if (random() < 0.1) return buf.subarray(0, Math.floor(random() * buf.length));
  if (random() < 0.85) writeBatchCrc(buf, 0);
  return buf;
}

/** Compresses an uncompressed batch's (possibly damaged) records section into a valid frame. */
function recompressed(plainBatch: Buffer, compression: CompressionType): Buffer {
  if (plainBatch.length < BATCH_HEADER_BYTES) return plainBatch; // a truncation: nothing to frame
  const records = compress(compression, plainBatch.subarray(BATCH_HEADER_BYTES));
  const buf = Buffer.concat([plainBatch.subarray(0, BATCH_HEADER_BYTES), records]);
  buf.writeInt32BE(buf.length - BATCH_LOG_OVERHEAD_BYTES, BatchField.batchLength);
  buf.writeInt16BE(CompressionCodes[compression], BatchField.attributes);
  writeBatchCrc(buf, 0);
  return buf;
}

/** Runs `decode`; a RecordsError is a fair refusal, anything else fails the test with its seed. */
function survive(seed: number, iteration: number, hostile: Buffer, decode: () => unknown): "decoded" | "refused" {
  try {
    decode();
    return "decoded";
  } catch (error) {
    if (error instanceof RecordsError) return "refused";
    throw new Error(`seed ${seed} iteration ${iteration}: ${String(error)} on ${hostile.toString("hex")}`, { cause: error });
  }
}

const CODECS: CompressionType[] = ["none", "gzip", "snappy", "lz4", "zstd"];
/** Raise with RECORDS_FUZZ_ITERATIONS for a longer hunt; CI keeps the default quick. */
const ITERATIONS_PER_CODEC = Number(process.env["RECORDS_FUZZ_ITERATIONS"] ?? 1500);

describe("decodeBatch on hostile bytes", () => {
  it.each(CODECS)("returns or throws RecordsError for mutated %s batches", (compression) => {
    const seed = Number(process.env["RECORDS_FUZZ_SEED"] ?? 0x5eed) + CODECS.indexOf(compression);
    const random = prng(seed);
    const outcomes = { decoded: 0, refused: 0 };
    for (let i = 0; i < ITERATIONS_PER_CODEC; i++) {
      const records = sampleRecords(random);
      const baseOffset = Math.floor(random() * 1e6);
      // Half the time the damage is inside the compressed frame, half inside valid-framed records.
      const hostile =
        compression !== "none" && random() < 0.5
          ? recompressed(mutate(encodeBatch({ records, baseOffset }), random), compression)
          : mutate(encodeBatch({ records, compression, baseOffset }), random);
      const outcome = survive(seed, i, hostile, () => decodeBatch(hostile, 0, { maxDecompressedBytes: 1 << 20 }));
      outcomes[outcome]++;
      survive(seed, i, hostile, () => {
        for (const found of iterateBatches(hostile)) expect(found.sizeBytes).toBeGreaterThanOrEqual(BATCH_HEADER_BYTES);
      });
    }
    // Both outcomes must occur, or the mutations are not reaching the parser.
    expect(outcomes.refused).toBeGreaterThan(ITERATIONS_PER_CODEC / 4);
    expect(outcomes.decoded).toBeGreaterThan(0);
  });
});
