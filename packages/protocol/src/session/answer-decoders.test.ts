import { describe, expect, it } from "vitest";
import { ProtocolDecodeError, messageCodec } from "../codec.js";
import { decodeFetchResponse, decodeProduceResponse } from "./answer-decoders.js";

const fetchCodec = messageCodec<object, unknown>("FetchResponse");
const produceCodec = messageCodec<object, unknown>("ProduceResponse");

/** Plain data: what a caller can see (own enumerable fields), whatever the objects' classes. */
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value, (_key, v: unknown) => (Buffer.isBuffer(v) ? [...v] : v)));

const leader = { nodeId: -1, endpoint: { host: "127.0.0.1", port: 9093, listenerName: "PLAINTEXT" }, leaderEpoch: 7 };

const fetchAnswers: object[] = [
  {},
  { throttleTimeMs: 12, error: { code: "STALE_BROKER_EPOCH", message: "stale" } },
  {
    topics: [
      {
        topic: "orders",
        partitions: [
          { partition: 0, error: { code: "NONE", message: "" }, highWatermark: "42", lastStableOffset: "42", logStartOffset: "0", logEndOffset: "50", records: Buffer.from([1, 2, 3]) },
          { partition: 5, error: { code: "NOT_LEADER_OR_FOLLOWER", message: "moved" }, highWatermark: "-1", lastStableOffset: "-1", logStartOffset: "-1", logEndOffset: "-1", currentLeader: leader },
          { partition: 2, highWatermark: String(2n ** 62n), logStartOffset: String(2 ** 49), logEndOffset: String(2 ** 49 - 1), divergingEpoch: { epoch: 3, endOffset: "1000" } },
        ],
      },
      { topic: "ünïcode-topic", partitions: [] },
    ],
  },
];

const produceAnswers: object[] = [
  {},
  {
    throttleTimeMs: 3,
    topics: [
      {
        name: "orders",
        partitions: [
          { partition: 1, error: { code: "NONE", message: "" }, baseOffset: "123456789", logAppendTimeMs: "-1", logStartOffset: "0" },
          { partition: 4, error: { code: "NOT_LEADER_OR_FOLLOWER", message: "no" }, baseOffset: "-1", logAppendTimeMs: "-1", logStartOffset: "-1", currentLeader: leader },
        ],
      },
    ],
  },
];

describe("hand-written answer decoders", () => {
  it("give what the generated FetchResponse decoder gives", () => {
    for (const answer of fetchAnswers) {
      const bytes = fetchCodec.encode(answer);
      expect(plain(decodeFetchResponse(bytes))).toEqual(plain(fetchCodec.decode(bytes)));
    }
  });

  it("give what the generated ProduceResponse decoder gives", () => {
    for (const answer of produceAnswers) {
      const bytes = produceCodec.encode(answer);
      expect(plain(decodeProduceResponse(bytes))).toEqual(plain(produceCodec.decode(bytes)));
    }
  });

  it("hand back records as a view into the answer, not a copy", () => {
    const bytes = fetchCodec.encode(fetchAnswers[2]!);
    const records = decodeFetchResponse(bytes).topics[0]!.partitions[0]!.records;
    expect([...records]).toEqual([1, 2, 3]);
    expect(records.buffer).toBe(bytes.buffer);
  });

  it("leave an unknown error code as its number, as the generated decoder does", () => {
    // Error { code = 999 }, inside FetchResponse.error (field 3).
    const error = Buffer.from([0x08, 0xe7, 0x07]);
    const bytes = Buffer.concat([Buffer.from([0x1a, error.length]), error]);
    expect(plain(decodeFetchResponse(bytes).error)).toEqual({ code: 999, message: "" });
    expect(plain(decodeFetchResponse(bytes))).toEqual(plain(fetchCodec.decode(bytes)));
  });

  it("skip fields they do not know, of every wire type", () => {
    const known = fetchCodec.encode({ throttleTimeMs: 9 });
    const unknown = Buffer.from([(11 << 3) | 0, 0x96, 0x01, (12 << 3) | 1, 1, 2, 3, 4, 5, 6, 7, 8, (13 << 3) | 2, 2, 0xff, 0xff, (14 << 3) | 5, 1, 2, 3, 4]);
    expect(decodeFetchResponse(Buffer.concat([unknown, known])).throttleTimeMs).toBe(9);
  });

  it("throw ProtocolDecodeError on truncated or malformed bytes, never read past the end", () => {
    const bytes = fetchCodec.encode(fetchAnswers[2]!);
    for (let cut = 1; cut < bytes.length; cut++) {
      const truncated = bytes.subarray(0, cut);
      let generatedFails = false;
      try {
        fetchCodec.decode(truncated);
      } catch {
        generatedFails = true;
      }
      if (generatedFails) expect(() => decodeFetchResponse(truncated), `cut at ${cut}`).toThrow(ProtocolDecodeError);
    }
    expect(() => decodeFetchResponse(Buffer.from([0x0a, 0x7f]))).toThrow(ProtocolDecodeError); // length past the end
    expect(() => decodeFetchResponse(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).toThrow(/longer than ten bytes/);
    expect(() => decodeFetchResponse(Buffer.from([(5 << 3) | 3]))).toThrow(/wire type 3/);
    expect(() => decodeProduceResponse(Buffer.from([0x0a, 0x02, 0x12]))).toThrow(ProtocolDecodeError);
  });
});
