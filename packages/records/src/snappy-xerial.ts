// snappy-java's stream framing ("xerial"), which Kafka's producer wraps snappy in:
//   header  0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00, int32 version (1), int32 min compatible version (1)
//   blocks  int32 compressed length, then one raw snappy block of at most 32 KiB of input
// Decoding also accepts raw snappy (no header), which librdkafka-era clients and Sarama send, and
// a header repeated mid-stream (concatenated streams), as snappy-java's SnappyInputStream does.
import { RecordsError } from "./errors.js";
import { BoundedReader } from "./varint.js";

export const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
export const XERIAL_HEADER_BYTES = 16;
const XERIAL_VERSION = 1;
const XERIAL_MIN_COMPATIBLE_VERSION = 1;
/** snappy-java's default block size, so our blocks are what a Java producer's would be. */
export const XERIAL_BLOCK_BYTES = 32 * 1024;

export function hasXerialHeader(bytes: Buffer, pos = 0): boolean {
  return bytes.length - pos >= XERIAL_HEADER_BYTES && bytes.compare(XERIAL_MAGIC, 0, 8, pos, pos + 8) === 0;
}

/** Frames `plain` as snappy-java does, compressing each 32 KiB block with `compressBlock`. */
export function encodeXerialSnappy(plain: Buffer, compressBlock: (block: Buffer) => Buffer): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(XERIAL_HEADER_BYTES);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(XERIAL_VERSION, 8);
  header.writeInt32BE(XERIAL_MIN_COMPATIBLE_VERSION, 12);
  parts.push(header);
  for (let start = 0; start < plain.length; start += XERIAL_BLOCK_BYTES) {
    const block = compressBlock(plain.subarray(start, Math.min(start + XERIAL_BLOCK_BYTES, plain.length)));
    const length = Buffer.allocUnsafe(4);
    length.writeInt32BE(block.length, 0);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

/** Length of the output a raw snappy block declares in its preamble. */
export function snappyDeclaredLength(block: Buffer): number {
  return new BoundedReader(block, 0, block.length).readUnsignedVarint();
}

/**
 * Decodes xerial-framed or raw snappy. Every block's declared length is checked against
 * `maxBytes` (running total) before `uncompressBlock` allocates its output.
 */
export function decodeSnappyAnyFraming(bytes: Buffer, maxBytes: number, uncompressBlock: (block: Buffer) => Buffer): Buffer {
  if (!hasXerialHeader(bytes)) {
    checkDeclared(snappyDeclaredLength(bytes), maxBytes);
    return uncompressBlock(bytes);
  }
  const blocks: Buffer[] = [];
  let total = 0;
  let pos = 0;
  while (pos < bytes.length) {
    if (hasXerialHeader(bytes, pos)) {
      const compatible = bytes.readInt32BE(pos + 12);
      if (compatible > XERIAL_VERSION) {
        throw new RecordsError("decompression-failed", `xerial snappy stream needs version ${compatible}, only ${XERIAL_VERSION} is known`);
      }
      pos += XERIAL_HEADER_BYTES;
      continue;
    }
    if (bytes.length - pos < 4) throw new RecordsError("decompression-failed", `xerial snappy block length cut at byte ${pos}`);
    const length = bytes.readInt32BE(pos);
    pos += 4;
    if (length < 0 || length > bytes.length - pos) {
      throw new RecordsError("decompression-failed", `xerial snappy block of ${length} bytes at byte ${pos - 4}, ${bytes.length - pos} remain`);
    }
    const block = bytes.subarray(pos, pos + length);
    pos += length;
    total += snappyDeclaredLength(block);
    checkDeclared(total, maxBytes);
    blocks.push(uncompressBlock(block));
  }
  return blocks.length === 1 ? blocks[0]! : Buffer.concat(blocks, total);
}

function checkDeclared(bytes: number, maxBytes: number): void {
  if (bytes > maxBytes) {
    throw new RecordsError("too-large", `snappy records would decompress to ${bytes} bytes, over the limit of ${maxBytes}`);
  }
}
