// The Fetch response encoding with one copy of the records, against the generated encoder.
import { SESSION_BODY, encodeSessionFrame, tributaryV1, type v1 } from "@tributary/protocol";
import { describe, expect, it } from "vitest";
import { SPLICE_MIN_RECORDS_BYTES, encodeFetchResponse, encodeFetchResponseFrame } from "./fetch-response-codec.js";
import { PreframedParts } from "./grpc-preframed.js";

const fetch = tributaryV1().Broker.service.Fetch;
const generated = (response: v1.FetchResponse): Buffer => fetch.responseSerialize(response);
const decode = (bytes: Buffer): v1.FetchResponse__Output => fetch.responseDeserialize(bytes) as v1.FetchResponse__Output;

const partition = (index: number, records: Buffer, extra: Partial<v1.FetchPartitionResponse> = {}): v1.FetchPartitionResponse => ({
  partition: index, error: { code: "NONE", message: "" },
  highWatermark: "1234567890123", lastStableOffset: "1234567890123", logStartOffset: "0", logEndOffset: "9007199254740991",
  records, ...extra,
});

describe("encodeFetchResponse", () => {
  it("writes what the generated encoder writes when every partition has records", () => {
    const big = Buffer.alloc(70_000, 3); // a length needing a three-byte varint
    const response: v1.FetchResponse = {
      topics: [
        { topic: "orders", partitions: [partition(0, Buffer.from("batch-a")), partition(1, big)] },
        { topic: "ünïcode", partitions: [partition(7, Buffer.from([1]), { divergingEpoch: { epoch: 4, endOffset: "77" } })] },
      ],
      throttleTimeMs: 5,
    };
    expect(encodeFetchResponse(response)).toEqual(generated(response));
  });

  it("reads back errors, leader hints, empty records and a whole-request error beside large records", () => {
    const response: v1.FetchResponse = {
      topics: [{ topic: "t", partitions: [
        partition(0, Buffer.alloc(0)),
        partition(2, Buffer.alloc(SPLICE_MIN_RECORDS_BYTES, 9)),
        partition(1, Buffer.alloc(0), { error: { code: "NOT_LEADER_OR_FOLLOWER", message: "moved" }, currentLeader: { nodeId: 3, leaderEpoch: 9, endpoint: { host: "127.0.0.1", port: 9093, listenerName: "PLAINTEXT" } } }),
      ] }],
      throttleTimeMs: 0,
      error: { code: "STALE_BROKER_EPOCH", message: "stale" },
    };
    const ours = decode(encodeFetchResponse(response));
    expect(ours).toEqual(decode(generated(response)));
    expect(ours.error?.code).toBe("STALE_BROKER_EPOCH");
    expect(ours.topics[0]!.partitions[2]!.currentLeader?.endpoint?.port).toBe(9093);
    expect(Buffer.from(ours.topics[0]!.partitions[1]!.records)).toEqual(Buffer.alloc(SPLICE_MIN_RECORDS_BYTES, 9));
    expect(ours.topics[0]!.partitions[0]!.records.length).toBe(0);
  });

  it("with a frame spec, writes the Broker.Session frame around the same bytes, large or small", () => {
    for (const records of [Buffer.alloc(70_000, 5), Buffer.from("small")]) {
      const response: v1.FetchResponse = { topics: [{ topic: "t", partitions: [partition(0, records)] }], throttleTimeMs: 0 };
      const spec = { correlationId: 129, bodyField: SESSION_BODY.fetch };
      expect(encodeFetchResponse(response, spec)).toEqual(encodeSessionFrame(129, SESSION_BODY.fetch, encodeFetchResponse(response)));
    }
  });

  it("pre-framed, puts the gRPC prefix in front of the same session frame, large or small", () => {
    for (const records of [Buffer.alloc(70_000, 5), Buffer.from("small")]) {
      const response: v1.FetchResponse = { topics: [{ topic: "t", partitions: [partition(0, records)] }], throttleTimeMs: 0 };
      const spec = { correlationId: 300, bodyField: SESSION_BODY.fetch };
      const frame = encodeFetchResponse(response, spec);
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(frame.length, 1);
      const framed = encodeFetchResponseFrame(response, spec);
      expect(framed instanceof PreframedParts ? framed.joined() : framed.framed).toEqual(Buffer.concat([prefix, frame]));
    }
  });

  it("pre-framed and large, is parts around the very records buffers read from the log", () => {
    const a = Buffer.alloc(SPLICE_MIN_RECORDS_BYTES, 1);
    const b = Buffer.alloc(200_000, 2);
    const c = Buffer.from("tiny records");
    const response: v1.FetchResponse = {
      topics: [
        { topic: "orders", partitions: [partition(0, a), partition(1, Buffer.alloc(0), { error: { code: "NOT_LEADER_OR_FOLLOWER", message: "moved" } }), partition(2, b)] },
        { topic: "ünïcode", partitions: [partition(5, c)] },
      ],
      throttleTimeMs: 3,
      error: { code: "NONE", message: "" },
    };
    const spec = { correlationId: 70_000, bodyField: SESSION_BODY.fetch };
    const framed = encodeFetchResponseFrame(response, spec);
    expect(framed).toBeInstanceOf(PreframedParts);
    const parts = (framed as PreframedParts).parts;
    // small bytes, records, small bytes, records, small bytes, records, small bytes (the tail)
    expect(parts).toHaveLength(7);
    expect(parts[1]).toBe(a);
    expect(parts[3]).toBe(b);
    expect(parts[5]).toBe(c);
    const frame = encodeFetchResponse(response, spec);
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(frame.length, 1);
    expect((framed as PreframedParts).joined()).toEqual(Buffer.concat([prefix, frame]));
    expect((framed as PreframedParts).byteLength).toBe(frame.length + 5);
  });

  it("pre-framed and large, leaves out empty pieces (records last, a tail of defaults)", () => {
    const records = Buffer.alloc(SPLICE_MIN_RECORDS_BYTES, 4);
    // No throttle time: the generated encoder writes a field that is set, even to 0.
    const response: v1.FetchResponse = { topics: [{ topic: "t", partitions: [partition(0, records)] }] };
    const spec = { correlationId: 1, bodyField: SESSION_BODY.fetch };
    const framed = encodeFetchResponseFrame(response, spec) as PreframedParts;
    expect(framed.parts).toHaveLength(2);
    expect(framed.parts[1]).toBe(records);
    expect(framed.parts.every((part) => part.length > 0)).toBe(true);
    const frame = encodeFetchResponse(response, spec);
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(frame.length, 1);
    expect(framed.joined()).toEqual(Buffer.concat([prefix, frame]));
  });

  it("writes small answers exactly as the generated encoder does", () => {
    const small: v1.FetchResponse = { topics: [{ topic: "t", partitions: [partition(0, Buffer.from("few")), partition(1, Buffer.alloc(0))] }], throttleTimeMs: 0 };
    expect(encodeFetchResponse(small)).toEqual(generated(small));
    expect(encodeFetchResponse({ topics: [], throttleTimeMs: 0 })).toEqual(generated({ topics: [], throttleTimeMs: 0 }));
  });
});
