// Outgoing gRPC messages built with their 5-byte gRPC prefix (compressed flag, length) already
// in front. grpc-js's server frames every message by allocating a new buffer and copying the
// serialized message into it; for Fetch answers that is one more copy of every record the broker
// sends to each follower and consumer, and one more short-lived external buffer of that size
// (page faults on fresh memory, and the external-memory growth that drives V8's GCs). A handler
// that writes a PreframedMessage has the buffer sent as it is.
//
// This reaches into grpc-js internals (BaseServerInterceptingCall.prototype.serializeMessage),
// so it is best effort: where the method is missing, nothing is patched and the method's
// serializer (serializeRawOrPreframed) hands grpc-js the message bytes to frame as usual. Either
// way the peer receives the same bytes.
import { GRPC_PREFIX_BYTES, loadGrpcInternal, prefixedBytesOf } from "@tributary/protocol";

export class PreframedMessage {
  /** @param framed the gRPC prefix (flag 0: not compressed, then the message length) and the message. */
  constructor(readonly framed: Buffer) {}

  /** The message without its prefix (a view, no copy). */
  get message(): Buffer {
    return this.framed.subarray(GRPC_PREFIX_BYTES);
  }
}

/**
 * The PreframedMessage of a message made by the protocol's allocatePrefixedMessage (every
 * allocateSessionFrame frame is one): its prefix is already in front of it.
 */
export function preframedOf(message: Buffer): PreframedMessage {
  const framed = prefixedBytesOf(message);
  if (framed === undefined) throw new Error("the message was not allocated with its gRPC prefix in front: a bug");
  return new PreframedMessage(framed);
}

/** The response serializer for a method whose handler writes Buffers (already serialized) or PreframedMessages. */
export function serializeRawOrPreframed(value: Buffer | PreframedMessage): Buffer {
  return value instanceof PreframedMessage ? value.message : value;
}

interface ServerCallPrototype {
  serializeMessage(this: unknown, value: unknown): Buffer;
}

let installed: boolean | undefined;

/**
 * Makes grpc-js send PreframedMessages without copying them. Idempotent; returns whether the
 * patch is in place (false: this grpc-js has no such method, and messages are copied as before).
 */
export function installPreframedSerialization(): boolean {
  if (installed !== undefined) return installed;
  installed = false;
  const prototype = loadGrpcInternal<{ BaseServerInterceptingCall: { prototype: ServerCallPrototype } }>("server-interceptors.js")?.BaseServerInterceptingCall?.prototype;
  const original = prototype?.serializeMessage;
  if (prototype === undefined || typeof original !== "function") return installed;
  prototype.serializeMessage = function serializeMessage(this: unknown, value: unknown): Buffer {
    return value instanceof PreframedMessage ? value.framed : original.call(this, value);
  };
  installed = true;
  return installed;
}
