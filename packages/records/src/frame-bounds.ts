// Upper bounds on what an LZ4 frame or a zstd frame decompresses to, found by walking frame and
// block headers only (no decompression). The native decoders allocate whatever a frame asks
// for, so decompress() checks these bounds against its limit first: a 1 MiB hostile batch must
// not become gigabytes in a consumer. Both walkers also reject frames whose structure is broken.
//
// LZ4 frame format: github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md
// zstd frame format: RFC 8878, section 3.1
import { RecordsError } from "./errors.js";

const LZ4_MAGIC = 0x184d2204;
const ZSTD_MAGIC = 0xfd2fb528;
/** Both formats share the skippable frame magics 0x184D2A50 to 0x184D2A5F. */
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
/** LZ4 block maximum sizes by BD byte id 4-7. */
const LZ4_BLOCK_MAX_BYTES = [0, 0, 0, 0, 64 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024];
/**
 * An LZ4 sequence turns each input byte into at most 255 output bytes (a match-length
 * extension byte); the constant covers the few bytes of a final short sequence.
 */
const LZ4_MAX_EXPANSION = 255;
const LZ4_EXPANSION_SLACK_BYTES = 64;
/** zstd's Block_Maximum_Size: no block, of any type, produces more. */
const ZSTD_BLOCK_MAX_BYTES = 128 * 1024;

function broken(codec: string, what: string, pos: number): RecordsError {
  return new RecordsError("decompression-failed", `${codec} frame is malformed: ${what} at byte ${pos}`);
}

function need(codec: string, bytes: Buffer, pos: number, count: number, what: string): void {
  if (bytes.length - pos < count) throw broken(codec, `${what} is cut short`, pos);
}

/** Skips a skippable frame at `pos` if there is one; returns the position after it, or -1. */
function skipSkippable(codec: string, bytes: Buffer, pos: number, magic: number): number {
  if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 !== SKIPPABLE_MAGIC) return -1;
  need(codec, bytes, pos, 8, "skippable frame header");
  const size = bytes.readUInt32LE(pos + 4);
  need(codec, bytes, pos + 8, size, "skippable frame");
  return pos + 8 + size;
}

/** Upper bound, in bytes, of what the LZ4 frame(s) in `bytes` decompress to. */
export function lz4DecompressedBound(bytes: Buffer): number {
  if (bytes.length === 0) throw broken("lz4", "no frame", 0);
  let pos = 0;
  let bound = 0;
  while (pos < bytes.length) {
    need("lz4", bytes, pos, 4, "magic number");
    const magic = bytes.readUInt32LE(pos);
    const afterSkippable = skipSkippable("lz4", bytes, pos, magic);
    if (afterSkippable >= 0) {
      pos = afterSkippable;
      continue;
    }
    if (magic !== LZ4_MAGIC) throw broken("lz4", `magic number ${magic.toString(16)}`, pos);
    const frame = lz4FrameBound(bytes, pos + 4);
    bound += frame.bound;
    pos = frame.end;
  }
  return bound;
}

function lz4FrameBound(bytes: Buffer, pos: number): { bound: number; end: number } {
  need("lz4", bytes, pos, 3, "frame descriptor");
  const flags = bytes[pos]!;
  const blockDescriptor = bytes[pos + 1]!;
  if (flags >> 6 !== 1 || (flags & 0x02) !== 0) throw broken("lz4", `frame flags ${flags.toString(16)}`, pos);
  const blockMaxBytes = LZ4_BLOCK_MAX_BYTES[(blockDescriptor >> 4) & 0x07] ?? 0;
  if (blockMaxBytes === 0 || (blockDescriptor & 0x8f) !== 0) throw broken("lz4", `block descriptor ${blockDescriptor.toString(16)}`, pos + 1);
  const blockChecksumBytes = flags & 0x10 ? 4 : 0;
  const contentChecksumBytes = flags & 0x04 ? 4 : 0;
  pos += 2 + (flags & 0x08 ? 8 : 0) + (flags & 0x01 ? 4 : 0) + 1; // FLG BD [size] [dict id] HC
  let bound = 0;
  for (;;) {
    need("lz4", bytes, pos, 4, "block size");
    const word = bytes.readUInt32LE(pos);
    pos += 4;
    if (word === 0) break; // end mark
    const size = word & 0x7fffffff;
    const uncompressed = word >>> 31 === 1;
    if (size > blockMaxBytes) throw broken("lz4", `block of ${size} bytes over the frame's ${blockMaxBytes}`, pos - 4);
    need("lz4", bytes, pos, size + blockChecksumBytes, "block");
    bound += uncompressed ? size : Math.min(blockMaxBytes, size * LZ4_MAX_EXPANSION + LZ4_EXPANSION_SLACK_BYTES);
    pos += size + blockChecksumBytes;
  }
  need("lz4", bytes, pos, contentChecksumBytes, "content checksum");
  return { bound, end: pos + contentChecksumBytes };
}

/** Upper bound, in bytes, of what the zstd frame(s) in `bytes` decompress to. */
export function zstdDecompressedBound(bytes: Buffer): number {
  if (bytes.length === 0) throw broken("zstd", "no frame", 0);
  let pos = 0;
  let bound = 0;
  while (pos < bytes.length) {
    need("zstd", bytes, pos, 4, "magic number");
    const magic = bytes.readUInt32LE(pos);
    const afterSkippable = skipSkippable("zstd", bytes, pos, magic);
    if (afterSkippable >= 0) {
      pos = afterSkippable;
      continue;
    }
    if (magic !== ZSTD_MAGIC) throw broken("zstd", `magic number ${magic.toString(16)}`, pos);
    const frame = zstdFrameBound(bytes, pos + 4);
    bound += frame.bound;
    pos = frame.end;
  }
  return bound;
}

const ZSTD_DICT_ID_BYTES = [0, 1, 2, 4];
const ZSTD_CONTENT_SIZE_BYTES = [0, 2, 4, 8];

function zstdFrameBound(bytes: Buffer, pos: number): { bound: number; end: number } {
  need("zstd", bytes, pos, 1, "frame header");
  const descriptor = bytes[pos]!;
  if ((descriptor & 0x08) !== 0) throw broken("zstd", "reserved frame header bit set", pos);
  const singleSegment = (descriptor & 0x20) !== 0;
  const contentSizeFlag = descriptor >> 6;
  const contentSizeBytes = contentSizeFlag === 0 ? (singleSegment ? 1 : 0) : ZSTD_CONTENT_SIZE_BYTES[contentSizeFlag]!;
  const checksumBytes = descriptor & 0x04 ? 4 : 0;
  pos += 1 + (singleSegment ? 0 : 1) + ZSTD_DICT_ID_BYTES[descriptor & 0x03]! + contentSizeBytes;
  let bound = 0;
  for (;;) {
    need("zstd", bytes, pos, 3, "block header");
    const header = bytes[pos]! | (bytes[pos + 1]! << 8) | (bytes[pos + 2]! << 16);
    const last = (header & 1) === 1;
    const type = (header >> 1) & 0x03;
    const size = header >>> 3;
    pos += 3;
    if (type === 3) throw broken("zstd", "reserved block type", pos - 3);
    if (size > ZSTD_BLOCK_MAX_BYTES) throw broken("zstd", `block of ${size} bytes over ${ZSTD_BLOCK_MAX_BYTES}`, pos - 3);
    const payloadBytes = type === 1 ? 1 : size; // an RLE block stores one byte, repeated `size` times
    need("zstd", bytes, pos, payloadBytes, "block");
    bound += type === 2 ? ZSTD_BLOCK_MAX_BYTES : size;
    pos += payloadBytes;
    if (last) break;
  }
  need("zstd", bytes, pos, checksumBytes, "content checksum");
  return { bound, end: pos + checksumBytes };
}
