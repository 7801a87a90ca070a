// Hostile RecordBatch bytes: every one must be refused by a leader. Random mutations touch only
// bytes a broker must check (magic, CRC, the CRC-covered body, the length field), so none of
// them can be a valid batch by accident; the "resealed" ones carry a correct CRC over absurd
// header values, so only the broker's own validation (not the checksum) can refuse them.
import { BATCH_HEADER_BYTES, BatchField, crc32cOf, encodeBatch } from "../../packages/records/dist/index.js";
import { Random } from "../faults/history.js";

export interface HostileBatch {
  name: string;
  bytes: Buffer;
}

const CRC_OFFSET = BatchField.crc;
const CRC_START = BatchField.attributes;

export function validBatch(values: readonly string[]): Buffer {
  return encodeBatch({ records: values.map((v) => ({ key: null, value: Buffer.from(v), timestampMs: Date.now() })) });
}

/** Rewrites the CRC so that it matches the (mutated) bytes it covers. */
export function reseal(batch: Buffer): Buffer {
  batch.writeUInt32BE(crc32cOf(batch, CRC_START, batch.length) >>> 0, CRC_OFFSET);
  return batch;
}

function edit(base: Buffer, change: (b: Buffer) => void): Buffer {
  const copy = Buffer.from(base);
  change(copy);
  return copy;
}

/** Absurd but checksummed headers, truncations and framing lies. */
export function namedHostileBatches(): HostileBatch[] {
  const base = validBatch(["a", "b", "c"]);
  const resealed = (name: string, change: (b: Buffer) => void): HostileBatch => ({ name, bytes: reseal(edit(base, change)) });
  return [
    { name: "empty records field", bytes: Buffer.alloc(0) },
    { name: "one byte", bytes: Buffer.from([0]) },
    { name: "header only, truncated at 60 bytes", bytes: base.subarray(0, 60) },
    { name: "truncated mid-record", bytes: base.subarray(0, base.length - 3) },
    { name: "batchLength says 2 GiB", bytes: edit(base, (b) => b.writeInt32BE(0x7fffffff, BatchField.batchLength)) },
    { name: "batchLength negative", bytes: edit(base, (b) => b.writeInt32BE(-1, BatchField.batchLength)) },
    { name: "batchLength smaller than the header", bytes: edit(base, (b) => b.writeInt32BE(10, BatchField.batchLength)) },
    { name: "trailing garbage after a valid batch", bytes: Buffer.concat([base, Buffer.from("garbage-garbage-garbage")]) },
    { name: "magic 0", bytes: edit(base, (b) => b.writeInt8(0, BatchField.magic)) },
    { name: "magic 99", bytes: edit(base, (b) => b.writeInt8(99, BatchField.magic)) },
    { name: "bad CRC", bytes: edit(base, (b) => b.writeUInt32BE((b.readUInt32BE(CRC_OFFSET) ^ 1) >>> 0, CRC_OFFSET)) },
    resealed("recordCount 2^31-1", (b) => b.writeInt32BE(0x7fffffff, BatchField.recordCount)),
    resealed("recordCount -1", (b) => b.writeInt32BE(-1, BatchField.recordCount)),
    resealed("recordCount 0 with records", (b) => b.writeInt32BE(0, BatchField.recordCount)),
    resealed("recordCount 4 for 3 records", (b) => b.writeInt32BE(4, BatchField.recordCount)),
    resealed("lastOffsetDelta 2^31-1", (b) => b.writeInt32BE(0x7fffffff, BatchField.lastOffsetDelta)),
    resealed("lastOffsetDelta -1", (b) => b.writeInt32BE(-1, BatchField.lastOffsetDelta)),
    resealed("unknown compression codec 7", (b) => b.writeInt16BE(7, BatchField.attributes)),
    resealed("control batch flag from a client", (b) => b.writeInt16BE(0x20, BatchField.attributes)),
    resealed("transactional flag without a producer id", (b) => b.writeInt16BE(0x10, BatchField.attributes)),
  ];
}

/**
 * A batch whose attributes say gzip but whose body is not gzip, with a correct CRC: the checksum
 * cannot catch it; only decompressing on the broker (as Kafka's LogValidator does) can.
 */
export function undecompressableBatch(): Buffer {
  const batch = validBatch(["a", "b", "c"]);
  batch.writeInt16BE(1, BatchField.attributes);
  return reseal(batch);
}

/** An uncompressed batch whose record bytes are garbage, with a correct CRC and a consistent header. */
export function garbageRecordsBatch(): Buffer {
  const batch = validBatch(["aaaa", "bbbb", "cccc"]);
  batch.fill(0xff, BATCH_HEADER_BYTES);
  return reseal(batch);
}

/** Seeded random corruptions of a valid batch. */
export function randomHostileBatches(seed: number, count: number): HostileBatch[] {
  const random = new Random(seed);
  const out: HostileBatch[] = [];
  for (let i = 0; i < count; i++) {
    const base = validBatch(Array.from({ length: random.int(1, 20) }, (_, j) => `r${i}-${j}-${"x".repeat(random.int(0, 200))}`));
    const kind = random.int(0, 3);
    if (kind === 0) {
      // Flip bits in the CRC-covered body or the CRC itself: the checksum no longer matches.
      const bytes = Buffer.from(base);
      const flips = random.int(1, 8);
      for (let f = 0; f < flips; f++) {
        const at = random.int(CRC_OFFSET, bytes.length - 1);
        bytes[at] = bytes[at]! ^ (1 << random.int(0, 7)) ;
      }
      out.push({ name: `flip ${flips} bit(s) #${i}`, bytes });
    } else if (kind === 1) {
      const cut = random.int(1, base.length - 1);
      out.push({ name: `truncate at ${cut}/${base.length} #${i}`, bytes: base.subarray(0, cut) });
    } else if (kind === 2) {
      const value = random.pick([-(2 ** 31), -1, 0, 1, 61, base.length + 1, 2 ** 31 - 1, random.int(-1e9, 1e9)]);
      const bytes = Buffer.from(base);
      if (value !== bytes.length - 12) bytes.writeInt32BE(value, BatchField.batchLength);
      else bytes.writeInt32BE(value + 1, BatchField.batchLength);
      out.push({ name: `batchLength ${value} #${i}`, bytes });
    } else {
      const bytes = Buffer.alloc(random.int(1, 4096));
      for (let j = 0; j < bytes.length; j++) bytes[j] = random.int(0, 255);
      out.push({ name: `${bytes.length} random bytes #${i}`, bytes });
    }
  }
  return out;
}
