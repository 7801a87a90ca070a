// Follows the committed metadata log through the StreamMetadata server stream of a controller
// and applies it, in order, to this broker's MetadataImage. When a stream ends or fails it
// reconnects from the offset after the last one applied, so no record is applied twice or
// skipped. Listeners run after each applied message.
//
// Any controller can serve the stream, but this one is kept on the active controller (the one
// that last answered this broker's writes) and marked as tracking liveness: when this process
// dies its connection closes, and the active controller fences it within a short grace instead
// of the session timeout. So a reconnect goes to the active controller first (other voters only
// after that fails), and the stream moves when another controller becomes active.
import type * as grpc from "@grpc/grpc-js";
import { MetadataImage, int64ToNumber, withoutCallerStack, type v1 } from "@tributary/protocol";
import type { Logger } from "pino";
import type { ControllerClient } from "./controller-client.js";

export type MetadataListener = (image: MetadataImage) => void;

/** A stream that ends this soon after opening, having delivered nothing, failed to connect. */
const FAILED_ATTEMPT_MS = 1_000;
/** Failed attempts at the active controller before trying the other voters. */
const ATTEMPTS_BEFORE_OTHER_VOTERS = 2;

export class MetadataFollower {
  readonly image = new MetadataImage();
  private committedOffset = -1;
  private stream: grpc.ClientReadableStream<v1.StreamMetadataResponse__Output> | undefined;
  private streamAddress: string | undefined;
  /** Streams in a row that ended soon after opening without delivering anything. */
  private failedAttempts = 0;
  private readonly listeners: MetadataListener[] = [];
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly waiters: { offset: number; resolve: () => void }[] = [];

  constructor(
    private readonly brokerId: number,
    private readonly controllers: ControllerClient,
    private readonly log: Logger,
    private readonly reconnectBackoffMs = 200,
  ) {}

  onChange(listener: MetadataListener): void {
    this.listeners.push(listener);
  }

  /** How far the controllers have committed, as last heard (-1 before the first message). */
  get controllerCommittedOffset(): number {
    return this.committedOffset;
  }

  start(): void {
    this.controllers.onActiveConfirmed((address) => this.moveTo(address));
    this.connect(this.controllers.confirmedActiveAddress);
  }

  /** Another controller answers as active: follow it there, so it sees this stream end if we die. */
  private moveTo(address: string): void {
    if (this.stopped || this.streamAddress === address) return;
    const old = this.stream;
    this.log.debug({ from: this.streamAddress, to: address }, "moving the metadata stream to the active controller");
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.stream = undefined; // its end is not a failure: no reconnect from it
    this.failedAttempts = 0;
    old?.cancel();
    this.connect(address);
  }

  /** Resolves once the image has applied `offset` (for callers that just wrote metadata). */
  waitForOffset(offset: number, timeoutMs: number): Promise<boolean> {
    if (this.image.lastAppliedOffset >= offset) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        resolve(false);
      }, timeoutMs);
      const waiter = { offset, resolve: () => { clearTimeout(timer); resolve(true); } };
      this.waiters.push(waiter);
    });
  }

  private connect(address: string): void {
    if (this.stopped) return;
    const client = this.controllers.clientFor(address);
    const stream = withoutCallerStack(() => client.StreamMetadata({ brokerId: this.brokerId, fromOffset: String(this.image.lastAppliedOffset + 1), tracksLiveness: true }));
    this.stream = stream;
    this.streamAddress = address;
    const openedAtMs = performance.now();
    let delivered = false;
    stream.on("data", (message: v1.StreamMetadataResponse__Output) => {
      delivered = true;
      try {
        this.applyMessage(message);
      } catch (error) {
        // A record we cannot apply means our image is broken: start over from a snapshot-able point.
        this.log.error({ err: error, address }, "cannot apply metadata; reconnecting");
        stream.cancel();
      }
    });
    const retry = (reason: string) => {
      if (this.stream !== stream || this.stopped) return;
      this.stream = undefined;
      this.streamAddress = undefined;
      // Back to the active controller (a blip must not leave the stream on another voter, where
      // the active one would take this broker for dead), unless it keeps failing to connect:
      // then any voter, for the metadata; the next write answered moves the stream back.
      const failed = !delivered && performance.now() - openedAtMs < FAILED_ATTEMPT_MS;
      this.failedAttempts = failed ? this.failedAttempts + 1 : 0;
      const next = this.failedAttempts >= ATTEMPTS_BEFORE_OTHER_VOTERS ? this.controllers.nextAddress() : this.controllers.confirmedActiveAddress;
      this.log.debug({ address, next, reason }, "metadata stream ended; reconnecting");
      this.reconnectTimer = setTimeout(() => this.connect(next), this.reconnectBackoffMs);
    };
    stream.on("error", (error: Error) => retry(error.message));
    stream.on("end", () => retry("end"));
  }

  private applyMessage(message: v1.StreamMetadataResponse__Output): void {
    this.committedOffset = Math.max(this.committedOffset, int64ToNumber(message.committedOffset));
    if (message.snapshot) {
      this.image.loadSnapshot(message.snapshot);
    } else if (message.batch) {
      let offset = int64ToNumber(message.batch.baseOffset);
      for (const record of message.batch.records) {
        // A reconnect may replay what we already have: skip it rather than apply twice.
        if (offset > this.image.lastAppliedOffset) this.image.apply(offset, record);
        offset++;
      }
    } else {
      return; // a heartbeat carrying only committed_offset
    }
    for (const listener of this.listeners) listener(this.image);
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i]!;
      if (this.image.lastAppliedOffset >= waiter.offset) {
        this.waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.stream?.cancel();
    this.stream = undefined;
  }
}
