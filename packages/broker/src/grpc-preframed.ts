// Outgoing gRPC messages built with their 5-byte gRPC prefix (compressed flag, length) already
// in front. grpc-js's server frames every message by allocating a new buffer and copying the
// serialized message into it; for Fetch answers that is one more copy of every record the broker
// sends to each follower and consumer, and one more short-lived external buffer of that size
// (page faults on fresh memory, and the external-memory growth that drives V8's GCs). A handler
// that writes a PreframedMessage has the buffer sent as it is.
//
// A handler may also write PreframedParts: the same bytes as several buffers (a Fetch answer's
// small fields, then each partition's records as read from the log). They are written to the
// HTTP/2 stream one after another, corked, so Node hands them to the socket in one writev and
// no buffer holding every record is ever made: a record is copied by the kernel only.
//
// This reaches into grpc-js internals (BaseServerInterceptingCall.prototype.serializeMessage and
// sendMessage), so it is best effort: where they are missing, nothing is patched and the method's
// serializer (serializeRawOrPreframed) hands grpc-js the message bytes to frame as usual (parts
// joined into one buffer). Either way the peer receives the same bytes.
import { status as GrpcStatus } from "@grpc/grpc-js";
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

/**
 * One gRPC message as consecutive buffers: the first starts with the gRPC prefix (flag 0, then
 * the length of the message, which is every part's bytes after the prefix). The buffers must not
 * change until they are written: records read from the log are never written to again.
 */
export class PreframedParts {
  readonly byteLength: number;

  constructor(readonly parts: readonly Buffer[]) {
    let byteLength = 0;
    for (const part of parts) byteLength += part.length;
    if (parts.length === 0 || parts[0]!.length < GRPC_PREFIX_BYTES || parts[0]![0] !== 0 || parts[0]!.readUInt32BE(1) !== byteLength - GRPC_PREFIX_BYTES) {
      throw new Error("PreframedParts: the first part must start with the gRPC prefix of the whole message: a bug");
    }
    this.byteLength = byteLength;
  }

  /** Every part in one buffer, prefix included (where the parts cannot be written one by one). */
  joined(): Buffer {
    return Buffer.concat(this.parts as Buffer[], this.byteLength);
  }
}

export type OutgoingMessage = Buffer | PreframedMessage | PreframedParts;

/** The response serializer for a method whose handler writes Buffers (already serialized), PreframedMessages or PreframedParts. */
export function serializeRawOrPreframed(value: OutgoingMessage): Buffer {
  if (value instanceof PreframedMessage) return value.message;
  if (value instanceof PreframedParts) return value.joined().subarray(GRPC_PREFIX_BYTES);
  return value;
}

interface WritableHttp2Stream {
  cork(): void;
  uncork(): void;
  write(chunk: Buffer, callback?: (error?: Error | null) => void): boolean;
}

/** The fields and methods of grpc-js's BaseServerInterceptingCall that sending parts uses. */
interface ServerCallInternals {
  stream?: WritableHttp2Stream;
  maxSendMessageSize?: number;
  callEventTracker?: { addMessageSent(): void };
  checkCancelled(): boolean;
  maybeSendMetadata(): void;
  sendStatus(status: { code: number; details: string; metadata: null }): void;
}

interface ServerCallPrototype {
  serializeMessage(this: unknown, value: unknown): Buffer;
  sendMessage(this: ServerCallInternals, message: unknown, callback: () => void): void;
  checkCancelled?: unknown;
  maybeSendMetadata?: unknown;
  sendStatus?: unknown;
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
    if (value instanceof PreframedMessage) return value.framed;
    if (value instanceof PreframedParts) return value.joined();
    return original.call(this, value);
  };
  installPartsSending(prototype);
  installed = true;
  return installed;
}

/**
 * Wraps sendMessage so that PreframedParts are written part by part. Mirrors grpc-js's own
 * sendMessage (cancelled check, size limit, headers first, INTERNAL status on a write error);
 * where the internals it needs are not there, parts go through serializeMessage (joined).
 */
function installPartsSending(prototype: ServerCallPrototype): void {
  const originalSend = prototype.sendMessage;
  if (typeof originalSend !== "function" || typeof prototype.checkCancelled !== "function" || typeof prototype.maybeSendMetadata !== "function" || typeof prototype.sendStatus !== "function") return;
  prototype.sendMessage = function sendMessage(this: ServerCallInternals, message: unknown, callback: () => void): void {
    const stream = this.stream;
    const maxBytes = this.maxSendMessageSize ?? -1;
    // Too large a message goes through the original, which refuses it with grpc-js's own status.
    if (!(message instanceof PreframedParts) || stream === undefined || typeof stream.cork !== "function" || (maxBytes !== -1 && message.byteLength - GRPC_PREFIX_BYTES > maxBytes)) {
      originalSend.call(this, message, callback);
      return;
    }
    if (this.checkCancelled()) return;
    this.maybeSendMetadata();
    const parts = message.parts;
    const last = parts.length - 1;
    stream.cork();
    for (let i = 0; i < last; i++) stream.write(parts[i]!);
    stream.write(parts[last]!, (error) => {
      if (error) {
        this.sendStatus({ code: GrpcStatus.INTERNAL, details: "Internal server error", metadata: null });
        return;
      }
      this.callEventTracker?.addMessageSent();
      callback();
    });
    stream.uncork();
  };
}
