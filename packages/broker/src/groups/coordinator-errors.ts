// How the coordinator's failures become response errors: the typed error that carries a
// redirect hint, and what a failed append to __consumer_offsets means to a group client.
import { type ErrorCode, TributaryError, type v1 } from "@tributary/protocol";

/** A TributaryError that also says which broker to go to. */
export class CoordinatorError extends TributaryError {
  override readonly name = "CoordinatorError";
  constructor(
    code: ErrorCode,
    message: string,
    readonly hint?: v1.LeaderHint,
  ) {
    super(code, message);
  }
}

export const NO_ERROR = { code: "NONE" as const, message: "" };


export function errorOf(error: unknown): { code: ErrorCode; message: string } {
  if (error instanceof TributaryError) return { code: error.code, message: error.message };
  return { code: "UNKNOWN_SERVER_ERROR", message: error instanceof Error ? error.message : String(error) };
}

export function hintOf(error: unknown): v1.LeaderHint | null {
  return error instanceof CoordinatorError && error.hint ? error.hint : null;
}

/** What a failed append means to a group client (as Kafka maps produce errors for commits). */
export function appendErrorToCoordinatorError(error: unknown): TributaryError {
  const code = error instanceof TributaryError ? error.code : "UNKNOWN_SERVER_ERROR";
  const message = error instanceof Error ? error.message : String(error);
  switch (code) {
    case "NOT_LEADER_OR_FOLLOWER":
    case "KAFKA_STORAGE_ERROR":
    case "NOT_COORDINATOR":
      return new TributaryError("NOT_COORDINATOR", `this broker stopped leading the group's offsets partition: ${message}`);
    case "MESSAGE_TOO_LARGE":
    case "RECORD_LIST_TOO_LARGE":
    case "RESOURCE_EXHAUSTED":
      return new TributaryError(code, message);
    default:
      return new TributaryError("COORDINATOR_NOT_AVAILABLE", `writing to __consumer_offsets failed (${code}): ${message}; retry`);
  }
}
