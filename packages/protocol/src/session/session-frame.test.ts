import { describe, expect, it } from "vitest";
import { ProtocolDecodeError, messageCodec } from "../codec.js";
import { SESSION_BODY, decodeSessionFrame, encodeSessionFrame, peekCorrelationId } from "./session-frame.js";

const requestCodec = messageCodec<object, { correlationId: string; body?: string; fetch?: { maxWaitMs: number } }>("SessionRequest");
const fetchCodec = messageCodec<object, unknown>("FetchRequest");

describe("session frames", () => {
  it("writes exactly what the generated encoder writes", () => {
    const fetch = { replicaId: -1, maxWaitMs: 500, minBytes: 1, topics: [{ topic: "t", partitions: [{ partition: 3, fetchOffset: "42" }] }] };
    for (const correlationId of [0, 1, 127, 128, 300_000, 2 ** 40]) {
      const byHand = encodeSessionFrame(correlationId, SESSION_BODY.fetch, fetchCodec.encode(fetch));
      expect(byHand).toEqual(requestCodec.encode({ correlationId: String(correlationId), fetch }));
      expect(requestCodec.decode(byHand)).toMatchObject({ correlationId: String(correlationId), body: "fetch", fetch: { maxWaitMs: 500 } });
    }
  });

  it("reads back correlation id, body field and body without copying", () => {
    const body = Buffer.from([1, 2, 3, 4]);
    const frame = encodeSessionFrame(999, SESSION_BODY.produce, body);
    const decoded = decodeSessionFrame(frame);
    expect(decoded).toMatchObject({ correlationId: 999, bodyField: SESSION_BODY.produce });
    expect([...decoded.body]).toEqual([1, 2, 3, 4]);
    expect(decoded.body.buffer).toBe(frame.buffer);
    expect(peekCorrelationId(frame)).toBe(999);
  });

  it("skips fields it does not know", () => {
    const frame = Buffer.concat([encodeSessionFrame(5, SESSION_BODY.error, Buffer.alloc(0)), Buffer.from([(9 << 3) | 0, 1, (10 << 3) | 2, 2, 0, 0, (11 << 3) | 5, 0, 0, 0, 0])]);
    expect(decodeSessionFrame(frame)).toMatchObject({ correlationId: 5, bodyField: SESSION_BODY.error });
  });

  it("refuses truncated, overlong and bodiless frames with a ProtocolDecodeError", () => {
    const good = encodeSessionFrame(5, SESSION_BODY.fetch, Buffer.alloc(10));
    for (let cut = 1; cut < good.length; cut++) expect(() => decodeSessionFrame(good.subarray(0, cut))).toThrow(ProtocolDecodeError);
    expect(() => decodeSessionFrame(Buffer.from([0x08, 0x05]))).toThrow(/without a body/);
    expect(() => decodeSessionFrame(Buffer.from([0x1a, 0x01, 0x00]))).toThrow(/without a correlation id/);
    expect(() => decodeSessionFrame(Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).toThrow(ProtocolDecodeError);
    expect(() => decodeSessionFrame(Buffer.from([0x08, 0x01, 0x1a, 0xff, 0xff, 0xff, 0x7f]))).toThrow(/past the end/);
    expect(() => decodeSessionFrame(Buffer.from([0x0f]))).toThrow(/wire type/);
    expect(peekCorrelationId(Buffer.from([0x1a, 0x00]))).toBeUndefined();
  });
});
