// One broker's StreamMetadata: committed metadata from the offset it asks for, in order, then new
// batches as they commit. When that offset is older than the batches kept in memory, the stream
// starts with a snapshot of the image. Buffering is bounded: the stream pulls from the log only
// while gRPC accepts writes, so a slow broker holds a position, never a queue.
import { int64ToNumber, type v1 } from "@tributary/protocol";
import type { MetadataLog } from "./metadata-log.js";

export interface MetadataStreamSink {
  /** Returns false when the transport's buffer is full; `onDrain` is then called once it is not. */
  write(message: v1.StreamMetadataResponse): boolean;
  onDrain(callback: () => void): void;
}

export interface MetadataStreamOptions {
  /** Batches taken from the log per pull. */
  maxBatchesPerPull: number;
}

export class MetadataStream {
  private nextOffset: number;
  private closed = false;
  private scheduled = false;
  private waitingForDrain = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly log: MetadataLog,
    request: v1.StreamMetadataRequest__Output,
    private readonly sink: MetadataStreamSink,
    private readonly options: MetadataStreamOptions = { maxBatchesPerPull: 64 },
  ) {
    this.nextOffset = Math.max(0, int64ToNumber(request.fromOffset));
    this.unsubscribe = log.subscribe(() => this.schedule());
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.closed || this.waitingForDrain) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /** Sends until caught up or until the transport pushes back. */
  pump(): void {
    while (!this.closed && this.nextOffset <= this.log.committedOffset) {
      const committedOffset = String(this.log.committedOffset);
      const batches = this.log.batchesFrom(this.nextOffset, this.options.maxBatchesPerPull);
      let writable = true;
      if (batches === null) {
        const snapshot = this.log.image.toSnapshot(0);
        this.nextOffset = this.log.committedOffset + 1;
        writable = this.sink.write({ snapshot, committedOffset });
      } else {
        for (const committed of batches) {
          this.nextOffset = committed.lastOffset + 1;
          writable = this.sink.write({ batch: committed.batch, committedOffset });
          if (!writable) break;
        }
      }
      if (!writable) {
        this.waitingForDrain = true;
        this.sink.onDrain(() => {
          this.waitingForDrain = false;
          this.schedule();
        });
        return;
      }
    }
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
  }
}
