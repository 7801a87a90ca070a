// The five codecs a RecordBatch may use, in Kafka's framings, all synchronous:
//   gzip   node:zlib (RFC 1952)
//   snappy the `snappy` package (napi-rs) inside snappy-java's "xerial" framing on encode, as
//          Kafka's producer writes it; raw snappy is accepted on decode (other clients send it)
//   lz4    the `lz4-napi` package's LZ4 *frame* format (not the block format), as Kafka uses
//   zstd   the `@toondepauw/node-zstd` package (napi-rs, zstd 1.5.7)
// The native packages ship prebuilt binaries as npm optional dependencies. They are loaded on
// first use, so a process that never meets a codec never loads it (a broker loads one when a
// leader first validates a batch compressed with it), and a missing binary is a clear error at
// that codec rather than at import.
//
// Decompression is bounded before any output is allocated where the format allows it (gzip by
// zlib's maxOutputLength, snappy and xerial by their length preambles, lz4 and zstd by walking
// their frame and block headers): a few hostile bytes must not make a consumer allocate gigabytes.
import { createRequire } from "node:module";
import { gunzipSync, gzipSync } from "node:zlib";
import { Attributes } from "./batch-header.js";
import { RecordsError } from "./errors.js";
import { lz4DecompressedBound, zstdDecompressedBound } from "./frame-bounds.js";
import { decodeSnappyAnyFraming, encodeXerialSnappy } from "./snappy-xerial.js";

export type CompressionType = "none" | "gzip" | "snappy" | "lz4" | "zstd";

/** The attribute codes of Kafka's CompressionType. */
export const CompressionCodes: Readonly<Record<CompressionType, number>> = {
  none: 0,
  gzip: 1,
  snappy: 2,
  lz4: 3,
  zstd: 4,
};

const TYPES_BY_CODE: readonly CompressionType[] = ["none", "gzip", "snappy", "lz4", "zstd"];

/** Default limit on a batch's decompressed records: far above Kafka's 1 MiB batches, far below memory. */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024;

/** Kafka's default levels (compression.gzip.level, compression.zstd.level). */
export const DEFAULT_GZIP_LEVEL = 6;
export const DEFAULT_ZSTD_LEVEL = 3;

export function compressionCode(type: CompressionType): number {
  const code = CompressionCodes[type];
  if (code === undefined) throw new RangeError(`unknown compression type: ${String(type)}`);
  return code;
}

/** The compression a batch's attributes name; a RecordsError for codes 5-7. */
export function compressionFromAttributes(attributes: number): CompressionType {
  const code = attributes & Attributes.compressionMask;
  const type = TYPES_BY_CODE[code];
  if (type === undefined) throw new RecordsError("unsupported-compression", `compression code ${code} is not supported`);
  return type;
}

type SnappyModule = typeof import("snappy");
type Lz4Module = typeof import("lz4-napi");
type ZstdModule = typeof import("@toondepauw/node-zstd");

const requireNative = createRequire(import.meta.url);
let snappyModule: SnappyModule | undefined;
let lz4Module: Lz4Module | undefined;
let zstdModule: ZstdModule | undefined;
const zstdEncoders = new Map<number, InstanceType<ZstdModule["Encoder"]>>();
let zstdDecoder: InstanceType<ZstdModule["Decoder"]> | undefined;

function loadNative<T>(name: string): T {
  try {
    return requireNative(name) as T;
  } catch (error) {
    throw new RecordsError("unsupported-compression", `codec package ${name} could not be loaded on this platform`, { cause: error });
  }
}

function snappy(): SnappyModule {
  return (snappyModule ??= loadNative<SnappyModule>("snappy"));
}

function lz4(): Lz4Module {
  return (lz4Module ??= loadNative<Lz4Module>("lz4-napi"));
}

function zstd(): ZstdModule {
  return (zstdModule ??= loadNative<ZstdModule>("@toondepauw/node-zstd"));
}

function zstdEncoder(level: number): InstanceType<ZstdModule["Encoder"]> {
  let encoder = zstdEncoders.get(level);
  if (encoder === undefined) {
    encoder = new (zstd().Encoder)(level);
    zstdEncoders.set(level, encoder);
  }
  return encoder;
}

/** Compresses a batch's records section with the given codec, in Kafka's framing. */
export function compress(type: CompressionType, plain: Buffer, level?: number): Buffer {
  switch (type) {
    case "none":
      return plain;
    case "gzip":
      return gzipSync(plain, { level: level ?? DEFAULT_GZIP_LEVEL });
    case "snappy":
      return encodeXerialSnappy(plain, (block) => snappy().compressSync(block));
    case "lz4":
      // lz4-napi's defaults are Kafka's frame: independent 64 KiB blocks, no checksums.
      return lz4().compressFrameSync(plain);
    case "zstd":
      return zstdEncoder(level ?? DEFAULT_ZSTD_LEVEL).encodeSync(plain);
    default:
      throw new RangeError(`unknown compression type: ${String(type)}`);
  }
}

/**
 * Decompresses a batch's records section. Throws RecordsError "too-large" when the output would
 * pass `maxBytes`, and "decompression-failed" when the bytes are not valid for the codec.
 */
export function decompress(type: CompressionType, compressed: Buffer, maxBytes: number = DEFAULT_MAX_DECOMPRESSED_BYTES): Buffer {
  let plain: Buffer;
  switch (type) {
    case "none":
      plain = compressed;
      break;
    case "gzip":
      plain = guarded("gzip", () => gunzipSync(compressed, { maxOutputLength: maxBytes }), maxBytes);
      break;
    case "snappy":
      plain = decodeSnappyAnyFraming(compressed, maxBytes, (block) => guarded("snappy", () => snappyUncompress(block), maxBytes));
      break;
    case "lz4":
      checkBound("lz4", lz4DecompressedBound(compressed), maxBytes);
      plain = guarded("lz4", () => lz4().decompressFrameSync(compressed), maxBytes);
      break;
    case "zstd":
      checkBound("zstd", zstdDecompressedBound(compressed), maxBytes);
      plain = guarded("zstd", () => zstdDecode(compressed), maxBytes);
      break;
    default:
      throw new RangeError(`unknown compression type: ${String(type)}`);
  }
  if (plain.length > maxBytes) throw tooLarge(type, plain.length, maxBytes);
  return plain;
}

function snappyUncompress(block: Buffer): Buffer {
  const plain = snappy().uncompressSync(block, { asBuffer: true });
  if (typeof plain === "string") throw new Error("snappy returned a string where a Buffer was asked for");
  return plain;
}

function zstdDecode(compressed: Buffer): Buffer {
  zstdDecoder ??= new (zstd().Decoder)();
  return zstdDecoder.decodeSync(compressed);
}

function checkBound(type: CompressionType, boundBytes: number, maxBytes: number): void {
  if (boundBytes > maxBytes) throw tooLarge(type, boundBytes, maxBytes);
}

function tooLarge(type: CompressionType, bytes: number, maxBytes: number): RecordsError {
  return new RecordsError("too-large", `${type} records would decompress to ${bytes} bytes, over the limit of ${maxBytes}`);
}

/** Runs a native decoder, turning whatever it throws into a RecordsError. */
function guarded(type: CompressionType, decode: () => Buffer, maxBytes: number): Buffer {
  try {
    return decode();
  } catch (error) {
    if (error instanceof RecordsError) throw error;
    if ((error as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE") {
      throw new RecordsError("too-large", `${type} records decompress to more than ${maxBytes} bytes`, { cause: error });
    }
    const reason = error instanceof Error ? error.message : String(error);
    throw new RecordsError("decompression-failed", `${type} records could not be decompressed: ${reason}`, { cause: error });
  }
}
