// The client end of Broker.Session: Produce and Fetch requests to one broker on one long-lived
// bidi call, each matched to its answer by correlation id. A unary gRPC call costs roughly four
// times the CPU of a message on an open stream in grpc-js (measured: ~300 us vs ~75 us of client
// CPU per round trip on loopback), and at low linger every record is a Produce request and
// every append sets off follower fetches, so this is where low latency comes from.
//
// The call is opened on first use and again after it breaks. A request whose call breaks, or
// that gets no answer within its timeout, is rejected with a grpc ServiceError (UNAVAILABLE or
// DEADLINE_EXCEEDED), exactly as the unary call would have been, so callers map errors once.
import * as grpc from "@grpc/grpc-js";
import { messageCodec } from "../codec.js";
import type { ErrorCode } from "../errors.js";
import type { Error__Output } from "../generated/tributary/v1/Error.js";
import type { FetchRequest } from "../generated/tributary/v1/FetchRequest.js";
import type { FetchResponse__Output } from "../generated/tributary/v1/FetchResponse.js";
import type { ProduceResponse__Output } from "../generated/tributary/v1/ProduceResponse.js";
import { EarliestTimer } from "../earliest-timer.js";
import { withoutCallerStack } from "../long-lived-call.js";
import { decodeFetchResponse, decodeProduceResponse } from "./answer-decoders.js";
import { installDecoderRelease } from "../grpc-decoder-release.js";
import { installPreframedClientWrite } from "./preframed-client-write.js";
import { SESSION_BODY, type SessionBodyField, type SessionFrameSpec, decodeSessionFrame, encodeSessionFrame } from "./session-frame.js";

export const BROKER_SESSION_PATH = "/tributary.v1.Broker/Session";

const fetchRequestCodec = messageCodec<FetchRequest, unknown>("FetchRequest");
const errorCodec = messageCodec<object, Error__Output>("Error");

/**
 * A request waiting for its answer. A class, not an object literal: V8 learns to allocate a
 * literal's objects in the old generation once many stay pending (a deep producer pipeline) and
 * keeps doing so, and each would then hold its promise's resolvers (and what they reach) in
 * the old generation until a full GC (see young.ts in @tributary/records).
 */
class PendingRequest {
  constructor(
    readonly expected: SessionBodyField,
    readonly resolve: (body: Buffer) => void,
    readonly reject: (error: grpc.ServiceError) => void,
    /** performance.now() after which the request has timed out. */
    readonly deadlineMs: number,
    readonly timeoutMs: number,
  ) {}
}

const identity = (bytes: Buffer): Buffer => bytes;

export class BrokerSession {
  private call: grpc.ClientDuplexStream<Buffer, Buffer> | undefined;
  private readonly pending = new Map<number, PendingRequest>();
  private nextCorrelationId = 1;
  private closed = false;
  /** One timer for every pending request's deadline (performance.now() ms). */
  private readonly deadlines = new EarliestTimer(() => performance.now(), () => this.onDeadlineTimer());

  /**
   * @param client any client on the broker's channel (the Broker stub): the session shares its
   *   HTTP/2 connection.
   * @param name for error messages, e.g. "broker 2".
   */
  constructor(
    private readonly client: grpc.Client,
    private readonly name: string,
  ) {
    // Produce frames (allocateSessionFrame) then go out without grpc-js copying them.
    installPreframedClientWrite();
    // And megabyte Fetch answers do not pin socket buffers until the next answer arrives.
    installDecoderRelease();
  }

  /** Sends an already-encoded ProduceRequest; resolves with the broker's answer. */
  async produce(encodedRequest: Uint8Array, timeoutMs: number): Promise<ProduceResponse__Output> {
    const body = await this.request(SESSION_BODY.produce, (correlationId) => encodeSessionFrame(correlationId, SESSION_BODY.produce, encodedRequest), timeoutMs);
    return decodeProduceResponse(body);
  }

  /**
   * Sends a ProduceRequest its caller frames itself: `encodeFrame` gets the frame spec and
   * returns the whole SessionRequest (see allocateSessionFrame), so the batches are copied once.
   */
  async produceFramed(encodeFrame: (spec: SessionFrameSpec) => Buffer, timeoutMs: number): Promise<ProduceResponse__Output> {
    const body = await this.request(SESSION_BODY.produce, (correlationId) => encodeFrame({ correlationId, bodyField: SESSION_BODY.produce }), timeoutMs);
    return decodeProduceResponse(body);
  }

  async fetch(request: FetchRequest, timeoutMs: number): Promise<FetchResponse__Output> {
    const encoded = fetchRequestCodec.encode(request);
    const body = await this.request(SESSION_BODY.fetch, (correlationId) => encodeSessionFrame(correlationId, SESSION_BODY.fetch, encoded), timeoutMs);
    return decodeFetchResponse(body);
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Ends the call; requests still waiting are rejected (CANCELLED). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.failAll(grpc.status.CANCELLED, `session with ${this.name} closed`);
    this.call?.end();
    this.call = undefined;
  }

  private request(kind: SessionBodyField, frameFor: (correlationId: number) => Buffer, timeoutMs: number): Promise<Buffer> {
    if (this.closed) return Promise.reject(serviceError(grpc.status.CANCELLED, `session with ${this.name} is closed`));
    const correlationId = this.nextCorrelationId++;
    let frame: Buffer;
    try {
      frame = frameFor(correlationId);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    const call = this.openCall();
    return new Promise<Buffer>((resolve, reject) => {
      const deadlineMs = performance.now() + timeoutMs;
      this.pending.set(correlationId, new PendingRequest(kind, resolve, reject, deadlineMs, timeoutMs));
      this.deadlines.armAt(deadlineMs);
      call.write(frame);
    });
  }

  private onDeadlineTimer(): void {
    const nowMs = performance.now();
    let earliestMs = Infinity;
    for (const [correlationId, request] of this.pending) {
      if (request.deadlineMs > nowMs) {
        earliestMs = Math.min(earliestMs, request.deadlineMs);
        continue;
      }
      this.pending.delete(correlationId);
      request.reject(serviceError(grpc.status.DEADLINE_EXCEEDED, `no answer from ${this.name} within ${request.timeoutMs} ms`));
      // Every request's timeout leaves the broker time to answer (its own timeouts are
      // shorter), so a missed one means the broker or the path to it is stuck (SIGSTOP, a
      // cut link). Drop the call, as a unary call would be cancelled: the bytes still queued
      // on it are freed instead of piling up behind each retry, and the next request starts
      // a new call. That fails every other request too, so there is nothing left to time.
      this.dropCall(grpc.status.UNAVAILABLE, `${this.name} did not answer a request within ${request.timeoutMs} ms`);
      return;
    }
    if (earliestMs < Infinity) this.deadlines.armAt(earliestMs);
  }

  private openCall(): grpc.ClientDuplexStream<Buffer, Buffer> {
    if (this.call !== undefined) return this.call;
    const call = withoutCallerStack(() => this.client.makeBidiStreamRequest<Buffer, Buffer>(BROKER_SESSION_PATH, identity, identity));
    this.call = call;
    call.on("data", (frame: Buffer) => this.onFrame(frame));
    // A broken call fails what it carried; the next request opens a new one. `status` comes
    // after `error` for a failed call and alone for one the broker ended cleanly.
    const onBroken = (code: grpc.status, details: string): void => {
      if (this.call !== call) return;
      this.call = undefined;
      this.failAll(code === grpc.status.OK ? grpc.status.UNAVAILABLE : code, `session with ${this.name} ended: ${details}`);
    };
    call.on("error", (error: grpc.ServiceError) => onBroken(error.code, error.details || error.message));
    call.on("status", (status: grpc.StatusObject) => onBroken(status.code, status.details));
    return call;
  }

  /** Ends the current call and fails every request it carried. */
  private dropCall(code: grpc.status, details: string): void {
    const call = this.call;
    this.call = undefined;
    this.failAll(code, details);
    call?.cancel();
  }

  private onFrame(frame: Buffer): void {
    let decoded;
    try {
      decoded = decodeSessionFrame(frame);
    } catch (error) {
      // An unreadable answer cannot be matched to its request: drop the call and fail them all.
      this.dropCall(grpc.status.INTERNAL, `unreadable session answer from ${this.name}: ${(error as Error).message}`);
      return;
    }
    const request = this.pending.get(decoded.correlationId);
    if (request === undefined) return; // timed out already; the broker answered late
    this.pending.delete(decoded.correlationId);
    if (decoded.bodyField === SESSION_BODY.error) {
      const error = errorCodec.decode(decoded.body);
      request.reject(serviceError(statusForCode(error.code as ErrorCode), `${error.code}: ${error.message}`));
    } else if (decoded.bodyField !== request.expected) {
      request.reject(serviceError(grpc.status.INTERNAL, `${this.name} answered request ${decoded.correlationId} with the wrong kind of body`));
    } else {
      request.resolve(decoded.body);
    }
  }

  private failAll(code: grpc.status, details: string): void {
    const requests = [...this.pending.values()];
    this.pending.clear();
    this.deadlines.disarm();
    for (const request of requests) request.reject(serviceError(code, details));
  }
}

/** The gRPC status a unary call would have ended with for a whole-request error code. */
function statusForCode(code: ErrorCode): grpc.status {
  switch (code) {
    case "RESOURCE_EXHAUSTED":
      return grpc.status.RESOURCE_EXHAUSTED;
    case "INVALID_REQUEST":
      return grpc.status.INVALID_ARGUMENT;
    case "NETWORK_EXCEPTION":
      return grpc.status.UNAVAILABLE;
    case "REQUEST_TIMED_OUT":
      return grpc.status.DEADLINE_EXCEEDED;
    default:
      return grpc.status.INTERNAL;
  }
}

function serviceError(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(`${code} ${grpc.status[code]}: ${details}`), { code, details, metadata: new grpc.Metadata() });
}
