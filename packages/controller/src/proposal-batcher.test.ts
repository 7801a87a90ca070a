import { describe, expect, it } from "vitest";
import { batchCodec } from "./metadata-records.js";
import { ProposalBatcher } from "./proposal-batcher.js";

describe("proposal batcher", () => {
  it("puts the writes of one turn into one entry, in order, bounded in size", async () => {
    const proposed: { baseOffset: string; names: string[] }[] = [];
    const batcher = new ProposalBatcher(async (data) => {
      const batch = batchCodec.decode(data);
      proposed.push({ baseOffset: batch.baseOffset, names: batch.records.map((r) => r.topic!.name) });
    }, 3);
    const writes = ["a", "b", "c", "d"].map((name, i) => batcher.add(10 + i, [{ topic: { name, topicId: name } }]));
    await Promise.all(writes);
    expect(proposed).toEqual([{ baseOffset: "10", names: ["a", "b", "c"] }, { baseOffset: "13", names: ["d"] }]);
    const next = batcher.add(14, [{ topic: { name: "e", topicId: "e" } }]);
    expect(() => batcher.add(20, [{ topic: { name: "gap", topicId: "gap" } }])).toThrow(/does not follow the pending batch ending at 14/);
    await next;
  });

  it("fails every write of an entry whose proposal fails", async () => {
    const batcher = new ProposalBatcher(() => Promise.reject(new Error("not leader")), 10);
    const results = await Promise.allSettled([batcher.add(0, [{ topic: { name: "a", topicId: "a" } }]), batcher.add(1, [{ topic: { name: "b", topicId: "b" } }])]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
  });
});
