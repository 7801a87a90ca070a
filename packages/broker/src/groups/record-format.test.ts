import { describe, expect, it } from "vitest";
import { assignmentOf } from "./assignment.js";
import type { GroupSnapshot } from "./group.js";
import { partitionKey } from "./member.js";
import { javaStringHashCode, offsetsPartitionFor } from "./group-partition.js";
import {
  decodeGroupValue,
  decodeKey,
  decodeOffsetValue,
  encodeGroupValue,
  encodeKey,
  encodeOffsetValue,
  RecordFormatError,
} from "./record-format.js";

describe("offsets partition of a group (Kafka's abs(hashCode) % partitions)", () => {
  it("matches Java's String.hashCode", () => {
    expect(javaStringHashCode("")).toBe(0);
    expect(javaStringHashCode("a")).toBe(97);
    expect(javaStringHashCode("hello")).toBe(99_162_322);
    // Overflows wrap as Java ints do.
    expect(javaStringHashCode("KafkaExampleConsumer")).toBe(-1_647_479_910);
    // UTF-16 code units, as Java strings are.
    expect(javaStringHashCode("é")).toBe(233);
    expect(javaStringHashCode("😀")).toBe(0xd83d * 31 + 0xde00);
  });

  it("maps Integer.MIN_VALUE to partition 0 as Kafka's Utils.abs does", () => {
    expect(javaStringHashCode("polygenelubricants")).toBe(-2_147_483_648);
    expect(offsetsPartitionFor("polygenelubricants", 50)).toBe(0);
  });

  it("gives the same partition Kafka would", () => {
    expect(offsetsPartitionFor("KafkaExampleConsumer", 50)).toBe(10);
    expect(offsetsPartitionFor("hello", 50)).toBe(99_162_322 % 50);
    expect(() => offsetsPartitionFor("g", 0)).toThrow(RangeError);
  });
});

describe("__consumer_offsets record format", () => {
  it("encodes an offset key byte for byte as documented", () => {
    const key = encodeKey({ type: "offset", groupId: "g", topic: "t", partition: 3 });
    expect(key.toString("hex")).toBe("0000" + "00000001" + "67" + "00000001" + "74" + "00000003");
    expect(decodeKey(key)).toEqual({ type: "offset", groupId: "g", topic: "t", partition: 3 });
    expect(encodeKey({ type: "group", groupId: "g" }).toString("hex")).toBe("0001" + "00000001" + "67");
  });

  it("round-trips offset values, including large offsets and unicode metadata", () => {
    const value = { committedOffset: 2 ** 53 - 1, committedLeaderEpoch: -1, metadata: "ünïcode ✓", commitTimestampMs: 1_764_000_000_000 };
    expect(decodeOffsetValue(encodeOffsetValue(value))).toEqual(value);
  });

  it("round-trips a group's membership", () => {
    const snapshot: GroupSnapshot = {
      groupEpoch: 7,
      assignmentEpoch: 7,
      assignorName: "uniform",
      partitionCounts: [["orders", 6]],
      members: [
        {
          member: {
            memberId: "m1",
            memberEpoch: 6,
            previousMemberEpoch: 5,
            state: "unrevoked-partitions",
            clientId: "c",
            clientHost: "/127.0.0.1",
            subscribedTopicNames: ["orders"],
            serverAssignor: "",
            rebalanceTimeoutMs: 300_000,
            sessionTimeoutMs: 45_000,
            assigned: assignmentOf([{ topic: "orders", partitions: [0, 1] }]),
            pendingRevocation: assignmentOf([{ topic: "orders", partitions: [2] }]),
            assignmentEpochs: new Map([
              [partitionKey("orders", 0), 3],
              [partitionKey("orders", 1), 6],
              [partitionKey("orders", 2), 3],
            ]),
          },
          target: assignmentOf([{ topic: "orders", partitions: [0, 1] }]),
        },
      ],
    };
    expect(decodeGroupValue(encodeGroupValue(snapshot))).toEqual(snapshot);
  });

  it("skips versions it does not know instead of misreading them", () => {
    const newer = encodeOffsetValue({ committedOffset: 1, committedLeaderEpoch: 0, metadata: "", commitTimestampMs: 0 });
    newer.writeInt16BE(1, 0);
    expect(decodeOffsetValue(newer)).toBeUndefined();
    const key = encodeKey({ type: "group", groupId: "g" });
    key.writeInt16BE(9, 0);
    expect(decodeKey(key)).toBeUndefined();
  });

  it("rejects truncated or padded records and absurd counts", () => {
    const value = encodeOffsetValue({ committedOffset: 5, committedLeaderEpoch: 0, metadata: "m", commitTimestampMs: 0 });
    expect(() => decodeOffsetValue(value.subarray(0, value.length - 1))).toThrow(RecordFormatError);
    expect(() => decodeOffsetValue(Buffer.concat([value, Buffer.from([0])]))).toThrow(RecordFormatError);
    const group = Buffer.alloc(2 + 4 + 4 + 4 + 4);
    group.writeInt32BE(0x7fffffff, 14);
    expect(() => decodeGroupValue(group)).toThrow(RecordFormatError);
  });
});
