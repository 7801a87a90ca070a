import { describe, expect, it } from "vitest";
import { loadGrpcInternal } from "../grpc-internals.js";
import { GRPC_PREFIX_BYTES, installPreframedClientWrite, prefixedBytesOf } from "./preframed-client-write.js";
import { SESSION_BODY, allocateSessionFrame, decodeSessionFrame } from "./session-frame.js";

interface WriteObject { message: Buffer; flags?: number }
interface Filter { sendMessage(message: Promise<WriteObject>): Promise<WriteObject> }
type FilterClass = new (channelOptions: object, sharedFilterConfig: object) => Filter;

function newFilter(channelOptions: object = {}): Filter {
  const filterClass = loadGrpcInternal<{ CompressionFilter: FilterClass }>("compression-filter.js")?.CompressionFilter;
  if (filterClass === undefined) throw new Error("grpc-js has no compression-filter.js");
  return new filterClass(channelOptions, {});
}

function sessionFrame(body: string): Buffer {
  const bytes = Buffer.from(body);
  const { out, bodyOffset } = allocateSessionFrame({ correlationId: 7, bodyField: SESSION_BODY.produce }, bytes.length);
  bytes.copy(out, bodyOffset);
  return out;
}

describe("session frames sent without grpc-js copying them", () => {
  it("installs on this grpc-js (the patch is best effort: this test says when an upgrade breaks it)", () => {
    expect(installPreframedClientWrite()).toBe(true);
  });

  it("hands grpc-js a session frame's own bytes, with the gRPC prefix that was written in front of it", async () => {
    installPreframedClientWrite();
    const frame = sessionFrame("records");
    const sent = await newFilter().sendMessage(Promise.resolve({ message: frame, flags: 0 }));
    // The same memory, five bytes earlier: not a copy.
    expect(sent.message.buffer).toBe(frame.buffer);
    expect(sent.message.byteOffset).toBe(frame.byteOffset - GRPC_PREFIX_BYTES);
    expect([...sent.message.subarray(0, GRPC_PREFIX_BYTES)]).toEqual([0, 0, 0, 0, frame.length]);
    const decoded = decodeSessionFrame(sent.message.subarray(GRPC_PREFIX_BYTES));
    expect(decoded.correlationId).toBe(7);
    expect(decoded.body.toString()).toBe("records");
  });

  it("frames any other message as grpc-js always did (a copy with a prefix)", async () => {
    installPreframedClientWrite();
    const other = Buffer.alloc(10_000, "x"); // alloc: never from the shared pool, so its own memory
    const sent = await newFilter().sendMessage(Promise.resolve({ message: other, flags: 0 }));
    expect(sent.message.buffer).not.toBe(other.buffer);
    expect(sent.message.subarray(GRPC_PREFIX_BYTES).equals(other)).toBe(true);
    expect(sent.message.readUInt32BE(1)).toBe(other.length);
  });

  it("leaves a frame whose length no longer matches its prefix, and a too-large one, to grpc-js", async () => {
    installPreframedClientWrite();
    const frame = sessionFrame("records");
    const shortened = frame.subarray(0, frame.length - 1);
    expect(prefixedBytesOf(shortened)).toBeUndefined();
    const limited = newFilter({ "grpc.max_send_message_length": 4 });
    await expect(limited.sendMessage(Promise.resolve({ message: frame, flags: 0 }))).rejects.toMatchObject({ details: expect.stringContaining("larger than") });
  });
});
