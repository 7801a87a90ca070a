// The one error type this package throws for bad bytes, so callers can map it to a protocol
// error code (CORRUPT_MESSAGE, UNSUPPORTED_COMPRESSION_TYPE, ...) by `kind` instead of by message.
//
// Programming errors (an encoder asked to write a non-integer offset, say) are RangeErrors and
// TypeErrors as usual: they are bugs in the caller, not bad input from the network or the disk.

export type RecordsErrorKind =
  | "truncated" // fewer bytes than a length field says
  | "bad-length" // a length field is negative or smaller than its fixed part
  | "too-large" // over a configured limit (batch bytes, decompressed bytes)
  | "unsupported-magic"
  | "crc-mismatch"
  | "bad-count" // record count disagrees with the offset deltas or with the bytes present
  | "bad-varint" // a varint longer than its type allows
  | "bad-record" // a record's fields disagree with its own length, or trailing bytes remain
  | "unsafe-integer" // an int64 that a JS number cannot hold exactly
  | "unsupported-compression"
  | "decompression-failed"
  | "missing-key"; // a record without a key where keys are required (a compacted topic)

export class RecordsError extends Error {
  override readonly name = "RecordsError";
  constructor(
    readonly kind: RecordsErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isRecordsError(error: unknown): error is RecordsError {
  return error instanceof RecordsError;
}
