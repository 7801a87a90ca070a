// One unary gRPC call with a deadline, its transport failures turned into typed errors with a
// protocol code: an unreachable broker is NETWORK_EXCEPTION (retriable), a missed deadline is
// REQUEST_TIMED_OUT (retriable), so callers branch on codes, never on gRPC statuses.
import * as grpc from "@grpc/grpc-js";
import type { ErrorCode } from "@tributary/protocol";
import { type TributaryError, errorFor } from "./errors.js";

export type UnaryStarter<Res> = (options: grpc.CallOptions, callback: grpc.requestCallback<Res>) => unknown;

/** The protocol code for a gRPC status that ended a call before the server answered. */
export function codeForGrpcStatus(status: grpc.status): ErrorCode {
  switch (status) {
    case grpc.status.UNAVAILABLE:
    case grpc.status.CANCELLED:
    case grpc.status.ABORTED:
      return "NETWORK_EXCEPTION";
    case grpc.status.DEADLINE_EXCEEDED:
      return "REQUEST_TIMED_OUT";
    case grpc.status.RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc.status.UNIMPLEMENTED:
      return "UNSUPPORTED_VERSION";
    case grpc.status.INVALID_ARGUMENT:
      return "INVALID_REQUEST";
    default:
      return "UNKNOWN_SERVER_ERROR";
  }
}

export function grpcErrorToTributary(error: grpc.ServiceError, context: string): TributaryError {
  const code = codeForGrpcStatus(error.code);
  return errorFor(code, `${context}: ${error.details || error.message}`, { cause: error });
}

/** Runs one unary call, failing with REQUEST_TIMED_OUT if no answer within `timeoutMs`. */
export function unary<Res>(start: UnaryStarter<Res>, timeoutMs: number, context: string): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    start({ deadline: Date.now() + timeoutMs }, (error, response) => {
      if (error) reject(grpcErrorToTributary(error, context));
      else if (response === undefined) reject(errorFor("UNKNOWN_SERVER_ERROR", `${context}: empty response`));
      else resolve(response);
    });
  });
}

/** Runs one request on a broker Session call, its failures typed as `unary` types them. */
export function sessionRequest<Res>(start: () => Promise<Res>, context: string): Promise<Res> {
  return start().catch((error: unknown) => {
    if (isServiceError(error)) throw grpcErrorToTributary(error, context);
    throw error;
  });
}

function isServiceError(error: unknown): error is grpc.ServiceError {
  return error instanceof Error && typeof (error as Partial<grpc.ServiceError>).code === "number";
}
