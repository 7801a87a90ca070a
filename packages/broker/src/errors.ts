// Turning whatever a handler caught into the protocol's typed error: TributaryErrors pass as
// they are; the log engine's StorageErrors carry a kind spelled as a protocol code; anything
// else is a bug, logged by the caller and answered UNKNOWN_SERVER_ERROR (never a crash).
import { ERROR_CODES, TributaryError, type ErrorCode } from "@tributary/protocol";

export function toTributaryError(error: unknown): TributaryError {
  if (error instanceof TributaryError) return error;
  const kind = (error as { kind?: unknown } | null)?.kind;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof kind === "string") {
    // OFFSET_OUT_OF_ORDER is a follower-internal condition; a client never caused it.
    if (kind in ERROR_CODES) return new TributaryError(kind as ErrorCode, message, { cause: error });
  }
  return new TributaryError("UNKNOWN_SERVER_ERROR", message, { cause: error });
}

export function isUnexpected(error: TributaryError): boolean {
  return error.code === "UNKNOWN_SERVER_ERROR";
}
