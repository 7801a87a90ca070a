// The typed errors the log engine raises for bad input and failed disk I/O.
//
// `kind` is spelled as the protocol's shared error code (packages/protocol/src/errors.ts) so the
// broker maps it by name, without this package depending on the protocol. The one exception is
// OFFSET_OUT_OF_ORDER: a follower handed batches that do not follow its log end, which the
// broker answers by truncating and fetching again, never by sending it to a client.
//
// Broken invariants (an offset going backwards inside the engine) are not StorageErrors: they
// are AssertionErrors from assert.ts, bugs to fix rather than conditions to handle.
import type { BatchProblem, RecordsError } from "@tributary/records";

export type StorageErrorKind =
  /** A read below the log start offset or past the log end offset. */
  | "OFFSET_OUT_OF_RANGE"
  /** A batch failed its length, magic, count or CRC check, or its records do not decode. */
  | "CORRUPT_MESSAGE"
  /** One batch is larger than `maxBatchBytes`. */
  | "MESSAGE_TOO_LARGE"
  /** The whole append is larger than a segment (`segmentBytes`). */
  | "RECORD_LIST_TOO_LARGE"
  /** A batch is well-formed but not acceptable (control or transactional batch from a client, bad producer fields, no batches). */
  | "INVALID_RECORD"
  /** A batch's max timestamp is below -1. */
  | "INVALID_TIMESTAMP"
  /** The compression codec bits name no known codec. */
  | "UNSUPPORTED_COMPRESSION_TYPE"
  /** An idempotent producer's sequence has a gap (or does not restart at 0 with a new epoch). */
  | "OUT_OF_ORDER_SEQUENCE_NUMBER"
  /** An idempotent producer's epoch is older than the one the log knows: it is fenced. */
  | "INVALID_PRODUCER_EPOCH"
  /** Follower append whose offsets go backwards or overlap the log end: truncate and refetch. */
  | "OFFSET_OUT_OF_ORDER"
  /** The log folder cannot be used (not writable, not a folder, disk error). */
  | "KAFKA_STORAGE_ERROR"
  /** A LogConfig value is out of its range. */
  | "INVALID_CONFIG";

const RETRIABLE: Readonly<Record<StorageErrorKind, boolean>> = {
  OFFSET_OUT_OF_RANGE: false,
  CORRUPT_MESSAGE: false,
  MESSAGE_TOO_LARGE: false,
  RECORD_LIST_TOO_LARGE: false,
  INVALID_RECORD: false,
  INVALID_TIMESTAMP: false,
  UNSUPPORTED_COMPRESSION_TYPE: false,
  OUT_OF_ORDER_SEQUENCE_NUMBER: false,
  INVALID_PRODUCER_EPOCH: false,
  OFFSET_OUT_OF_ORDER: false,
  KAFKA_STORAGE_ERROR: true,
  INVALID_CONFIG: false,
};

export interface StorageErrorDetails {
  /** The finer reason inside a kind, e.g. "crc-mismatch" or "unsupported-magic" for CORRUPT_MESSAGE. */
  reason?: string;
  /** Index of the offending batch in the appended buffer (0-based), when one batch is to blame. */
  batchIndex?: number;
  /** Set on OFFSET_OUT_OF_RANGE so the caller can answer with the valid range. */
  logStartOffset?: number;
  logEndOffset?: number;
  cause?: unknown;
}

export class StorageError extends Error {
  override readonly name = "StorageError";
  readonly kind: StorageErrorKind;
  readonly retriable: boolean;
  readonly reason: string | undefined;
  readonly batchIndex: number | undefined;
  readonly logStartOffset: number | undefined;
  readonly logEndOffset: number | undefined;

  constructor(kind: StorageErrorKind, message: string, details: StorageErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.kind = kind;
    this.retriable = RETRIABLE[kind];
    this.reason = details.reason;
    this.batchIndex = details.batchIndex;
    this.logStartOffset = details.logStartOffset;
    this.logEndOffset = details.logEndOffset;
  }
}

export function isStorageError(error: unknown): error is StorageError {
  return error instanceof StorageError;
}

/** Maps a header check failure (from @tributary/records) to the protocol's error kind. */
export function batchProblemError(problem: BatchProblem, batchIndex: number): StorageError {
  const kind: StorageErrorKind = problem.kind === "too-large" ? "MESSAGE_TOO_LARGE" : "CORRUPT_MESSAGE";
  return new StorageError(kind, `batch ${batchIndex}: ${problem.message}`, { reason: problem.kind, batchIndex });
}

/**
 * Maps a record walk failure (validateBatchRecords) to the protocol's error kind: records that
 * cannot be decoded (or decompressed) are CORRUPT_MESSAGE; offset deltas out of sequence are
 * INVALID_RECORD, as Kafka's leader answers for them; the decompression limit and an unknown or
 * unloadable codec keep their own codes. `reason` is the RecordsError kind.
 */
export function recordsProblemError(error: RecordsError, batchIndex: number): StorageError {
  const kind: StorageErrorKind =
    error.kind === "too-large" ? "MESSAGE_TOO_LARGE"
    : error.kind === "unsupported-compression" ? "UNSUPPORTED_COMPRESSION_TYPE"
    : error.kind === "bad-count" || error.kind === "missing-key" ? "INVALID_RECORD"
    : "CORRUPT_MESSAGE";
  return new StorageError(kind, `batch ${batchIndex}: ${error.message}`, { reason: error.kind, batchIndex, cause: error });
}

/** Wraps a failed file operation so the broker can take the log folder offline. */
export function diskError(what: string, path: string, cause: unknown): StorageError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new StorageError("KAFKA_STORAGE_ERROR", `${what} ${path}: ${detail}`, { reason: "io", cause });
}
