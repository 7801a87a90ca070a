// The hand-written Produce request encoding, read back by the broker's (generated) decoder.
import { SESSION_BODY, tributaryV1, type v1 } from "@tributary/protocol";
import { describe, expect, it } from "vitest";
import { encodeProduceRequest, type ProduceRequestParts } from "./produce-request-codec.js";

const produce = tributaryV1().Broker.service.Produce;
const decode = (bytes: Buffer): v1.ProduceRequest__Output => produce.requestDeserialize(bytes) as v1.ProduceRequest__Output;

describe("encodeProduceRequest", () => {
  it("is read back field for field, each partition's batches back to back", () => {
    const a = Buffer.from("first batch bytes");
    const b = Buffer.alloc(300, 7); // a length that needs a two-byte varint
    const c = Buffer.from([1, 2, 3]);
    const request: ProduceRequestParts = {
      acks: -1,
      timeoutMs: 30_000,
      transactionalId: "",
      topics: [
        { name: "orders", partitions: [{ partition: 0, batches: [a, b] }, { partition: 5, batches: [c] }] },
        { name: "ünïcode-topic", partitions: [{ partition: 2_000_000, batches: [b] }] },
      ],
    };
    const decoded = decode(encodeProduceRequest(request));
    expect(decoded.acks).toBe(-1);
    expect(decoded.timeoutMs).toBe(30_000);
    expect(decoded.transactionalId).toBe("");
    expect(decoded.topics.map((t) => t.name)).toEqual(["orders", "ünïcode-topic"]);
    const [orders, other] = decoded.topics;
    expect(orders!.partitions.map((p) => p.partition)).toEqual([0, 5]);
    expect(Buffer.from(orders!.partitions[0]!.records)).toEqual(Buffer.concat([a, b]));
    expect(Buffer.from(orders!.partitions[1]!.records)).toEqual(c);
    expect(other!.partitions[0]!.partition).toBe(2_000_000);
    expect(Buffer.from(other!.partitions[0]!.records)).toEqual(b);
  });

  it("encodes acks 0 and 1, a transactional id, and an empty request as the generated encoder does", () => {
    for (const acks of [0, 1]) {
      const request: ProduceRequestParts = { acks, timeoutMs: 0, transactionalId: "tx-1", topics: [] };
      const decoded = decode(encodeProduceRequest(request));
      expect(decoded).toMatchObject({ acks, timeoutMs: 0, transactionalId: "tx-1", topics: [] });
    }
    const generated = produce.requestSerialize({ acks: 1, timeoutMs: 5, transactionalId: "tx", topics: [{ name: "t", partitions: [{ partition: 3, records: Buffer.from("xyz") }] }] });
    const ours = encodeProduceRequest({ acks: 1, timeoutMs: 5, transactionalId: "tx", topics: [{ name: "t", partitions: [{ partition: 3, batches: [Buffer.from("x"), Buffer.from("yz")] }] }] });
    expect(ours).toEqual(generated);
  });

  it("with a frame spec, writes the whole Broker.Session frame around the same request", () => {
    const request: ProduceRequestParts = { acks: -1, timeoutMs: 100, transactionalId: "", topics: [{ name: "t", partitions: [{ partition: 1, batches: [Buffer.alloc(200, 3)] }] }] };
    const framed = encodeProduceRequest(request, { correlationId: 300, bodyField: SESSION_BODY.produce });
    const session = tributaryV1().Broker.service.Session;
    const unframed = encodeProduceRequest(request);
    expect(session.requestDeserialize(framed)).toEqual({ correlationId: "300", body: "produce", produce: decode(unframed) });
    expect(framed.subarray(framed.length - unframed.length)).toEqual(unframed);
  });

  it("refuses a value that is not an int32", () => {
    expect(() => encodeProduceRequest({ acks: 1, timeoutMs: 2 ** 31, transactionalId: "", topics: [] })).toThrow(RangeError);
  });
});
