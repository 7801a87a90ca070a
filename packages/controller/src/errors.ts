// The controller's typed error: a protocol error code plus a message for the human, so every
// request check has one way to say "no" and the gRPC layer one way to turn it into a response.
import { type ErrorCode, ERROR_CODES, TributaryError } from "@tributary/protocol";

/** An error as a response carries it. */
export interface WireError {
  code: ErrorCode;
  message: string;
}

export class ControllerError extends TributaryError {
  override readonly name = "ControllerError";
}

export function fail(code: ErrorCode, message: string): never {
  throw new ControllerError(code, message);
}

/** A bug, never bad input: the controller must not go on after one. */
export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`controller invariant broken: ${message}`);
}

/** The response form of any thrown value: ControllerError keeps its code, anything else is a server error. */
export function toResponseError(error: unknown): WireError {
  if (error instanceof TributaryError) return { code: error.code, message: error.message };
  return { code: "UNKNOWN_SERVER_ERROR", message: error instanceof Error ? error.message : String(error) };
}

export function wireError(code: ErrorCode, message?: string): WireError {
  return { code, message: message ?? ERROR_CODES[code].description };
}

export const OK: WireError = { code: "NONE", message: "" };
