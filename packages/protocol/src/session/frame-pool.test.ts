import { describe, expect, it } from "vitest";
import { FramePool, MIN_POOLED_FRAME_BYTES } from "./frame-pool.js";
import { GRPC_PREFIX_BYTES, allocatePrefixedMessage, prefixedBytesOf } from "./preframed-client-write.js";

const KIB = 1024;

describe("FramePool", () => {
  it("leaves frames below 64 KiB, and frames larger than it may keep, to the usual allocator", () => {
    const pool = new FramePool(1024 * KIB);
    expect(pool.take(MIN_POOLED_FRAME_BYTES - 1)).toBeUndefined();
    expect(pool.take(1024 * KIB + 1)).toBeUndefined();
    expect(pool.take(MIN_POOLED_FRAME_BYTES)).toHaveLength(MIN_POOLED_FRAME_BYTES);
  });

  it("lends a frame's memory again only after it is given back", () => {
    const pool = new FramePool(1024 * KIB);
    const first = pool.take(100 * KIB)!;
    const second = pool.take(100 * KIB)!;
    expect(second.buffer).not.toBe(first.buffer);
    pool.give(first);
    expect(pool.freeBytes).toBe(128 * KIB); // the power of two it was cut from
    // A frame of another size in the same power of two gets the same memory.
    const third = pool.take(120 * KIB)!;
    expect(third.buffer).toBe(first.buffer);
    expect(third).toHaveLength(120 * KIB);
    expect(pool.freeBytes).toBe(0);
    // One of another power of two does not.
    pool.give(third);
    expect(pool.take(200 * KIB)!.buffer).not.toBe(first.buffer);
  });

  it("takes a frame back once: giving it twice, or giving a stranger, frees nothing more", () => {
    const pool = new FramePool(1024 * KIB);
    const frame = pool.take(100 * KIB)!;
    expect(pool.isLent(frame)).toBe(true);
    pool.give(frame);
    pool.give(frame);
    expect(pool.isLent(frame)).toBe(false);
    pool.give(Buffer.alloc(100 * KIB));
    expect(pool.freeBytes).toBe(128 * KIB);
    const a = pool.take(100 * KIB)!;
    const b = pool.take(100 * KIB)!;
    expect(a.buffer).toBe(frame.buffer);
    expect(b.buffer).not.toBe(frame.buffer);
  });

  it("keeps at most maxFreeBytes for reuse; the rest goes to the garbage collector", () => {
    const pool = new FramePool(256 * KIB);
    const frames = [pool.take(128 * KIB)!, pool.take(128 * KIB)!, pool.take(128 * KIB)!];
    for (const frame of frames) pool.give(frame);
    expect(pool.freeBytes).toBe(256 * KIB);
  });

  it("backs prefixed messages: the gRPC prefix in front, the memory reused once given back", () => {
    const pool = new FramePool(1024 * KIB);
    const message = allocatePrefixedMessage(100 * KIB, pool);
    const whole = prefixedBytesOf(message)!;
    expect(whole.readUInt32BE(1)).toBe(100 * KIB);
    expect(message.byteOffset).toBe(whole.byteOffset + GRPC_PREFIX_BYTES);
    expect(pool.isLent(whole)).toBe(true);
    pool.give(whole);
    expect(allocatePrefixedMessage(90 * KIB, pool).buffer).toBe(message.buffer);
    // Small messages never touch the pool.
    expect(pool.isLent(prefixedBytesOf(allocatePrefixedMessage(1000, pool))!)).toBe(false);
  });
});
