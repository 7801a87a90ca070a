// The envelope of Broker.Session messages (SessionRequest / SessionResponse), framed by hand.
// Both messages are `correlation_id` (field 1) plus one body field that is itself a message:
// the body arrives already encoded (a Produce request written by the producer's own encoder, a
// Fetch response with its records spliced in once), so wrapping it must not re-encode or copy
// it twice. The output is byte for byte what the generated encoder writes for the same message.
import { ProtocolDecodeError } from "../codec.js";
import { WIRE_LENGTH_DELIMITED, WIRE_VARINT, varintLength, wireTag, writeVarint } from "../wire.js";
import { allocatePrefixedMessage } from "./preframed-client-write.js";

/** Field numbers of the body, shared by SessionRequest and SessionResponse. */
export const SESSION_BODY = {
  produce: 2,
  fetch: 3,
  /** Responses only: the request as a whole failed. */
  error: 4,
} as const;

export type SessionBodyField = (typeof SESSION_BODY)[keyof typeof SESSION_BODY];

export interface SessionFrame {
  correlationId: number;
  bodyField: SessionBodyField;
  /** A view into the frame's bytes (no copy). */
  body: Buffer;
}

const CORRELATION_TAG = wireTag(1, WIRE_VARINT);
const WIRE_FIXED64 = 1;
const WIRE_FIXED32 = 5;

/** One encoded SessionRequest or SessionResponse. */
export function encodeSessionFrame(correlationId: number, bodyField: SessionBodyField, body: Uint8Array): Buffer {
  const headerLength = sessionFrameHeaderLength(correlationId, body.length);
  const out = Buffer.allocUnsafe(headerLength + body.length);
  writeSessionFrameHeader(out, correlationId, bodyField, body.length);
  out.set(body, headerLength);
  return out;
}

/**
 * Bytes before the body in a frame. Encoders of large bodies (a Produce request, a Fetch answer
 * with records) reserve this much at the front of their own buffer and write the header there
 * with writeSessionFrameHeader, so the records are not copied once more into a frame.
 */
export function sessionFrameHeaderLength(correlationId: number, bodyLength: number): number {
  assertCorrelationId(correlationId);
  return 1 + varintLength(correlationId) + 1 + varintLength(bodyLength);
}

/** Writes the frame header at the start of `out`; returns where the body starts. */
export function writeSessionFrameHeader(out: Buffer, correlationId: number, bodyField: SessionBodyField, bodyLength: number): number {
  assertCorrelationId(correlationId);
  let offset = 0;
  out[offset++] = CORRELATION_TAG;
  offset = writeVarint(out, offset, correlationId);
  out[offset++] = wireTag(bodyField, WIRE_LENGTH_DELIMITED);
  return writeVarint(out, offset, bodyLength);
}

/** How an encoder of a large body makes it a whole session frame in one buffer. */
export interface SessionFrameSpec {
  correlationId: number;
  bodyField: SessionBodyField;
}

/**
 * A buffer holding the frame header followed by `bodyLength` bytes for the caller to fill, and
 * the offset where the body starts.
 */
export function allocateSessionFrame(spec: SessionFrameSpec | undefined, bodyLength: number): { out: Buffer; bodyOffset: number } {
  if (spec === undefined) return { out: Buffer.allocUnsafe(bodyLength), bodyOffset: 0 };
  // With the gRPC prefix in front, so a client sends it without grpc-js copying it (preframed-client-write.ts).
  const out = allocatePrefixedMessage(sessionFrameHeaderLength(spec.correlationId, bodyLength) + bodyLength);
  return { out, bodyOffset: writeSessionFrameHeader(out, spec.correlationId, spec.bodyField, bodyLength) };
}

/**
 * Reads a SessionRequest or SessionResponse. Unknown fields are skipped (a newer peer may add
 * some); a frame without a correlation id or a body, or with bytes that are not protobuf, is a
 * ProtocolDecodeError.
 */
export function decodeSessionFrame(bytes: Buffer): SessionFrame {
  let correlationId: number | undefined;
  let bodyField: SessionBodyField | undefined;
  let body: Buffer | undefined;
  let offset = 0;
  while (offset < bytes.length) {
    const [key, afterKey] = readVarint(bytes, offset);
    offset = afterKey;
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    if (field === 1 && wireType === WIRE_VARINT) {
      [correlationId, offset] = readVarint(bytes, offset);
    } else if (wireType === WIRE_LENGTH_DELIMITED) {
      const [length, afterLength] = readVarint(bytes, offset);
      const end = afterLength + length;
      if (end > bytes.length) throw new ProtocolDecodeError(`session frame: field ${field} runs ${end - bytes.length} bytes past the end`);
      if (field === SESSION_BODY.produce || field === SESSION_BODY.fetch || field === SESSION_BODY.error) {
        bodyField = field;
        body = bytes.subarray(afterLength, end);
      }
      offset = end;
    } else if (wireType === WIRE_VARINT) {
      offset = readVarint(bytes, offset)[1];
    } else if (wireType === WIRE_FIXED64) {
      offset += 8;
    } else if (wireType === WIRE_FIXED32) {
      offset += 4;
    } else {
      throw new ProtocolDecodeError(`session frame: field ${field} has unsupported wire type ${wireType}`);
    }
  }
  if (offset !== bytes.length) throw new ProtocolDecodeError("session frame: truncated field");
  if (correlationId === undefined) throw new ProtocolDecodeError("session frame without a correlation id");
  if (bodyField === undefined || body === undefined) throw new ProtocolDecodeError(`session frame ${correlationId} without a body`);
  return { correlationId, bodyField, body };
}

/** The correlation id of a frame whose body could not be read, if at least that can be. */
export function peekCorrelationId(bytes: Buffer): number | undefined {
  if (bytes.length < 2 || bytes[0] !== CORRELATION_TAG) return undefined;
  try {
    return readVarint(bytes, 1)[0];
  } catch {
    return undefined;
  }
}

/** An unsigned varint at `offset` as a safe integer, and the offset after it. */
function readVarint(bytes: Buffer, offset: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    const byte = bytes[offset + i];
    if (byte === undefined) throw new ProtocolDecodeError("session frame: truncated varint");
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      if (!Number.isSafeInteger(value)) throw new ProtocolDecodeError("session frame: varint past 2^53");
      return [value, offset + i + 1];
    }
    scale *= 128;
  }
  // Eight 7-bit groups are 56 bits: anything longer is past what a correlation id or a length here can be.
  throw new ProtocolDecodeError("session frame: varint longer than 8 bytes");
}

function assertCorrelationId(correlationId: number): void {
  if (!Number.isSafeInteger(correlationId) || correlationId < 0) throw new RangeError(`correlation id must be a non-negative safe integer, got ${correlationId}`);
}
