// Memory for large Produce frames, reused once the broker has answered the request that carried
// one. A producer writing 1 KiB records builds a new frame of up to a few MiB for every request
// (the batches copied in once, behind the session envelope). Fresh memory costs a page fault on
// the first touch of every page, and on this project's VMs pages the guest has not used lately
// cost the host a fault too: in `bench:compare` that copy into fresh frames ran at ~1.4 GB/s and
// was ~8% of the producer's main thread, against ~10 GB/s into memory already touched.
//
// When a frame may be reused is the whole point. grpc-js calls a write's callback once it has
// queued the message, while HTTP/2 may still be reading it; but the broker answers a request only
// after it has received every byte of it, so by the time its answer arrives nothing on this side
// reads the frame again (a retry builds a new frame from the batches). The session gives a frame
// back only then: never after a timeout or a broken call, whose frames are left to the garbage
// collector.
//
// Frames come in power-of-two capacities from 64 KiB up, so a frame of a similar size finds a
// free one; smaller frames are not worth it (Node's allocator serves them from memory in use).

/** Frames below this are allocated as usual. */
export const MIN_POOLED_FRAME_BYTES = 64 * 1024;

export class FramePool {
  /** Free buffers, by capacity. */
  private readonly free = new Map<number, Buffer[]>();
  private freeBytesTotal = 0;
  /** Each lent frame -> the whole buffer it is a view of; a frame is given back once. */
  private readonly lent = new WeakMap<Buffer, Buffer>();

  /** @param maxFreeBytes memory kept for reuse between requests; frames beyond it go to the GC. */
  constructor(readonly maxFreeBytes: number) {
    if (!Number.isInteger(maxFreeBytes) || maxFreeBytes < 0) throw new RangeError(`frame pool size must be a non-negative integer, got ${maxFreeBytes}`);
  }

  /** Bytes of free buffers waiting to be reused. */
  get freeBytes(): number {
    return this.freeBytesTotal;
  }

  /** `bytes` of memory for a frame, or undefined when a frame this small is not pooled. */
  take(bytes: number): Buffer | undefined {
    if (bytes < MIN_POOLED_FRAME_BYTES || bytes > this.maxFreeBytes) return undefined;
    const capacity = capacityFor(bytes);
    const reused = this.free.get(capacity)?.pop();
    if (reused !== undefined) this.freeBytesTotal -= capacity;
    // allocUnsafeSlow: its own memory, never a slice of Node's shared slab.
    const whole = reused ?? Buffer.allocUnsafeSlow(capacity);
    const frame = whole.subarray(0, bytes);
    this.lent.set(frame, whole);
    return frame;
  }

  /** Whether `frame` came from take() and has not been given back. */
  isLent(frame: Buffer): boolean {
    return this.lent.has(frame);
  }

  /**
   * Takes back a frame from take(). The caller must be sure nothing reads it any more (for a
   * request: its answer has arrived). A frame that did not come from here, or came back already,
   * is ignored.
   */
  give(frame: Buffer): void {
    const whole = this.lent.get(frame);
    if (whole === undefined) return;
    this.lent.delete(frame);
    if (this.freeBytesTotal + whole.length > this.maxFreeBytes) return;
    let list = this.free.get(whole.length);
    if (list === undefined) this.free.set(whole.length, (list = []));
    list.push(whole);
    this.freeBytesTotal += whole.length;
  }
}

function capacityFor(bytes: number): number {
  return 2 ** Math.ceil(Math.log2(bytes));
}
