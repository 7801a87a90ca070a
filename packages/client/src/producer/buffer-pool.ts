// Free batch buffers of one size (batchSizeBytes), reused by new batches as Kafka's BufferPool
// does. A producer writing a few hundred MB/s would otherwise allocate as much fresh memory:
// page faults on first touch of every page, and external-memory pressure that makes the
// garbage collector run more often. Bounded: at most `maxFreeBuffers` wait here; the rest of
// the buffers of completed batches are left to the garbage collector.
export class BatchBufferPool {
  private readonly free: Buffer[] = [];

  constructor(
    readonly bufferBytes: number,
    readonly maxFreeBuffers: number,
  ) {
    if (!Number.isInteger(bufferBytes) || bufferBytes < 1) throw new RangeError(`pool buffer size must be a positive integer, got ${bufferBytes}`);
  }

  /** Buffers waiting to be reused. */
  get freeBuffers(): number {
    return this.free.length;
  }

  take(): Buffer {
    // allocUnsafeSlow: its own memory, never a slice of Node's shared 8 KiB slab, so a batch can
    // tell whether its bytes still live in this buffer, and giving it back frees nobody else's.
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.bufferBytes);
  }

  /** The caller must hold no view of `buffer` that anything will read again. */
  give(buffer: Buffer): void {
    if (buffer.length !== this.bufferBytes || buffer.byteOffset !== 0) throw new Error("a buffer that did not come from this pool: a bug");
    if (this.free.length < this.maxFreeBuffers) this.free.push(buffer);
  }
}

/** Free buffers kept: up to 16 MiB of them, never more than bufferMemoryBytes would hold. */
export function poolSizeFor(batchSizeBytes: number, bufferMemoryBytes: number): number {
  return Math.floor(Math.min(bufferMemoryBytes, 16 * 1024 * 1024) / batchSizeBytes);
}
