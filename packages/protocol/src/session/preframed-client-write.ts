// Session frames the client sends (Produce requests: every record's bytes) built with their 5-byte
// gRPC prefix (compressed flag, length) already in front. grpc-js's client frames every message
// by allocating a new buffer and copying the serialized message into it
// (compression-filter.js, IdentityHandler.writeMessage): for a producer that was one more copy of
// every record, ~7% of its CPU at 1 KiB records, and one more short-lived external buffer.
// allocateSessionFrame registers the frames it makes; for those, the patched send hands grpc-js
// the prefixed bytes as they are. (The broker sends its Fetch answers the same way, through its
// own server-side patch: grpc-preframed.ts.)
//
// This wraps CompressionFilter.prototype.sendMessage, a grpc-js internal, so it is best effort:
// where the class is not as expected nothing is patched and grpc-js copies as before. Either way
// the peer receives the same bytes. Only frames registered here are affected (other grpc-js calls
// in the same process are not), and only on calls that send uncompressed ("identity").
import { loadGrpcInternal } from "../grpc-internals.js";

export const GRPC_PREFIX_BYTES = 5;

/** Writes the prefix of an uncompressed message of `messageLength` bytes at the start of `out`. */
function writeGrpcPrefix(out: Buffer, messageLength: number): void {
  out[0] = 0;
  out.writeUInt32BE(messageLength, 1);
}

/** Each registered message (a view) -> the same bytes with the gRPC prefix in front. */
const prefixed = new WeakMap<Buffer, Buffer>();

/**
 * A buffer for a message of `messageLength` bytes, with the gRPC prefix of an uncompressed message
 * written in the 5 bytes before it: the returned view is the message to fill and send.
 */
export function allocatePrefixedMessage(messageLength: number): Buffer {
  const whole = Buffer.allocUnsafe(GRPC_PREFIX_BYTES + messageLength);
  writeGrpcPrefix(whole, messageLength);
  const message = whole.subarray(GRPC_PREFIX_BYTES);
  prefixed.set(message, whole);
  return message;
}

/** The prefixed bytes of a registered message, or undefined (unknown, or its prefix does not match its length). */
export function prefixedBytesOf(message: Buffer): Buffer | undefined {
  const whole = prefixed.get(message);
  if (whole === undefined || whole.length !== message.length + GRPC_PREFIX_BYTES || whole.readUInt32BE(1) !== message.length) return undefined;
  return whole;
}

interface WriteObject {
  message: Buffer;
  flags?: number;
}

interface CompressionFilterInternals {
  currentCompressionAlgorithm?: string;
  maxSendMessageLength?: number;
}

interface CompressionFilterPrototype {
  sendMessage(this: CompressionFilterInternals, message: Promise<WriteObject>): Promise<WriteObject>;
}

let installed: boolean | undefined;

/** Idempotent; returns whether the patch is in place. */
export function installPreframedClientWrite(): boolean {
  if (installed !== undefined) return installed;
  installed = false;
  const filterClass = loadGrpcInternal<{ CompressionFilter: { prototype: CompressionFilterPrototype } }>("compression-filter.js")?.CompressionFilter;
  const prototype = filterClass?.prototype;
  const original = prototype?.sendMessage;
  if (filterClass === undefined || prototype === undefined || typeof original !== "function" || !looksAsExpected(filterClass, original)) return installed;
  prototype.sendMessage = async function sendMessage(this: CompressionFilterInternals, message: Promise<WriteObject>): Promise<WriteObject> {
    const resolved = await message;
    const whole = this.currentCompressionAlgorithm === "identity" ? prefixedBytesOf(resolved.message) : undefined;
    const maxBytes = this.maxSendMessageLength ?? -1;
    // Too large a message goes through the original, which refuses it with grpc-js's own error.
    if (whole === undefined || (maxBytes !== -1 && resolved.message.length > maxBytes)) return original.call(this, Promise.resolve(resolved));
    return { message: whole, flags: resolved.flags };
  };
  installed = true;
  return installed;
}

/** The fields the wrapper reads are the ones this grpc-js keeps, and its send frames as assumed. */
function looksAsExpected(filterClass: unknown, sendMessage: (...args: never[]) => unknown): boolean {
  const classSource = Function.prototype.toString.call(filterClass);
  const sendSource = Function.prototype.toString.call(sendMessage);
  return classSource.includes("this.currentCompressionAlgorithm = 'identity'")
    && sendSource.includes("this.maxSendMessageLength")
    && sendSource.includes("this.sendCompression.writeMessage(");
}
