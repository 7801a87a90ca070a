// The broker end of Broker.Session: Produce and Fetch requests arriving on one long-lived call
// are run by the same handlers as the unary calls, and each answer goes back, tagged with its
// request's correlation id, as soon as it is ready (a long-polling fetch does not hold up a
// produce behind it). Requests are started in arrival order, so a producer's appends to a
// partition happen in the order it sent them, as on one unary connection.
//
// Bad frames never end the process: a frame whose correlation id can be read gets an error
// answer; one that cannot ends the call with INVALID_ARGUMENT.
import * as grpc from "@grpc/grpc-js";
import { type ErrorCode, SESSION_BODY, TributaryError, type SessionBodyField, decodeSessionFrame, encodeSessionFrame, messageCodec, peekCorrelationId, type v1 } from "@tributary/protocol";
import type { Logger } from "pino";
import { encodeFetchResponseFrame } from "./fetch-response-codec.js";
import { IncrementalFetchSession } from "./fetch-session.js";
import { type OutgoingMessage, serializeRawOrPreframed } from "./grpc-preframed.js";

const produceRequestCodec = messageCodec<object, v1.ProduceRequest__Output>("ProduceRequest");
const produceResponseCodec = messageCodec<v1.ProduceResponse, unknown>("ProduceResponse");
const fetchRequestCodec = messageCodec<object, v1.FetchRequest__Output>("FetchRequest");
const errorCodec = messageCodec<v1.Error, unknown>("Error");

export interface SessionHandlers {
  produce(request: v1.ProduceRequest__Output): Promise<v1.ProduceResponse>;
  fetch(request: v1.FetchRequest__Output): Promise<v1.FetchResponse>;
}

/** The broker-wide cap on requests in progress, shared with the unary calls. */
export interface RequestAdmission {
  /** False when the cap is reached: the request is refused with RESOURCE_EXHAUSTED. */
  tryAdmit(): boolean;
  release(): void;
  readonly limit: number;
}

/**
 * The Broker.Session method as this handler serves it: frames are read and written by hand, so
 * the generated (de)serializers are replaced by ones that pass bytes through.
 */
export function sessionMethodDefinition(generated: grpc.MethodDefinition<unknown, unknown>): grpc.MethodDefinition<Buffer, OutgoingMessage> {
  return { ...generated, requestDeserialize: (bytes: Buffer) => bytes, requestSerialize: (bytes: Buffer) => bytes, responseSerialize: serializeRawOrPreframed, responseDeserialize: (bytes: Buffer) => bytes };
}

/** Frames go out as Buffers, PreframedMessages (grpc-js need not copy them) or, for large Fetch answers, PreframedParts (records as read from the log). */
export function sessionHandler(handlers: SessionHandlers, admission: RequestAdmission, log: Logger): grpc.handleBidiStreamingCall<Buffer, OutgoingMessage> {
  return (call) => {
    let outstanding = 0;
    let clientDone = false;
    /** The call's incremental fetch session, made by its first fetch with a session epoch. */
    let fetchSession: IncrementalFetchSession | undefined;
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      call.end();
    };
    const send = (frame: OutgoingMessage): void => {
      if (finished || call.cancelled) return;
      call.write(frame);
    };
    const answerError = (correlationId: number, code: ErrorCode, message: string): void => {
      send(encodeSessionFrame(correlationId, SESSION_BODY.error, errorCodec.encode({ code, message })));
    };

    call.on("data", (frame: Buffer) => {
      let correlationId: number;
      let request: v1.ProduceRequest__Output | v1.FetchRequest__Output;
      let kind: SessionBodyField;
      try {
        const decoded = decodeSessionFrame(frame);
        correlationId = decoded.correlationId;
        kind = decoded.bodyField;
        if (kind === SESSION_BODY.produce) request = produceRequestCodec.decode(decoded.body);
        else if (kind === SESSION_BODY.fetch) request = fetchRequestCodec.decode(decoded.body);
        else throw new Error(`field ${kind} is not a request`);
      } catch (error) {
        const peeked = peekCorrelationId(frame);
        const message = `unreadable session request: ${(error as Error).message}`;
        if (peeked === undefined) {
          finished = true;
          call.emit("error", { code: grpc.status.INVALID_ARGUMENT, details: `INVALID_REQUEST: ${message}` });
        } else {
          answerError(peeked, "INVALID_REQUEST", message);
        }
        return;
      }
      if (!admission.tryAdmit()) {
        answerError(correlationId, "RESOURCE_EXHAUSTED", `${admission.limit} requests are in progress on this broker; back off and retry`);
        return;
      }
      let session: IncrementalFetchSession | undefined;
      if (kind === SESSION_BODY.fetch && (request as v1.FetchRequest__Output).sessionEpoch !== 0) {
        session = fetchSession ??= new IncrementalFetchSession();
        try {
          request = session.begin(request as v1.FetchRequest__Output);
        } catch (error) {
          admission.release();
          const refused = error instanceof TributaryError ? error : new TributaryError("INVALID_REQUEST", String(error));
          send(encodeFetchResponseFrame({ topics: [], throttleTimeMs: 0, error: refused.toResponse() }, { correlationId, bodyField: kind }));
          return;
        }
      }
      outstanding++;
      const frameSpec = { correlationId, bodyField: kind };
      const work =
        kind === SESSION_BODY.produce
          ? handlers.produce(request as v1.ProduceRequest__Output).then((response) => encodeSessionFrame(correlationId, kind, produceResponseCodec.encode(response)))
          : handlers.fetch(request as v1.FetchRequest__Output).then(
              (response) => encodeFetchResponseFrame(session === undefined ? response : session.finish(response), frameSpec),
              (error: unknown) => {
                session?.abandon();
                throw error;
              },
            );
      (work as Promise<OutgoingMessage>).then(
        send,
        (error: unknown) => {
          log.error({ err: error, correlationId }, "session request failed unexpectedly");
          answerError(correlationId, "UNKNOWN_SERVER_ERROR", error instanceof Error ? error.message : String(error));
        },
      ).finally(() => {
        admission.release();
        outstanding--;
        if (clientDone && outstanding === 0) finish();
      });
    });
    // The client half-closed: answer what is in progress, then end our side too.
    call.on("end", () => {
      clientDone = true;
      if (outstanding === 0) finish();
    });
    call.on("error", (error) => log.debug({ err: error }, "session call error"));
  };
}
