// The leader's incremental fetch session: requests unfold to the whole partition set, answers
// fold to what changed, and any break in the epoch sequence sends the follower back to a full fetch.
import type { v1 } from "@tributary/protocol";
import { describe, expect, it } from "vitest";
import { IncrementalFetchSession } from "./fetch-session.js";

const part = (partition: number, fetchOffset: number): v1.FetchPartition__Output =>
  ({ partition, fetchOffset: String(fetchOffset), partitionMaxBytes: 1000, currentLeaderEpoch: 1, lastFetchedEpoch: 1, logStartOffset: "0" });

function request(epoch: number, topics: Record<string, v1.FetchPartition__Output[]>, forgotten: Record<string, number[]> = {}): v1.FetchRequest__Output {
  return {
    replicaId: 2, replicaEpoch: "5", maxWaitMs: 500, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, rackId: "",
    topics: Object.entries(topics).map(([topic, partitions]) => ({ topic, partitions })),
    sessionEpoch: epoch,
    forgotten: Object.entries(forgotten).map(([topic, ps]) => ({ topic, partitions: ps.map((p) => part(p, 0)) })),
  };
}

const answer = (topic: string, partition: number, hw: number, records = 0, code = "NONE"): v1.FetchTopicResponse =>
  ({ topic, partitions: [{ partition, error: { code: code as "NONE", message: "" }, highWatermark: hw, lastStableOffset: hw, logStartOffset: 0, logEndOffset: hw, records: Buffer.alloc(records) }] });

const fetched = (r: v1.FetchRequest__Output) => r.topics.flatMap((t) => t.partitions.map((p) => `${t.topic}-${p.partition}@${p.fetchOffset}`));
const answered = (r: v1.FetchResponse) => (r.topics ?? []).flatMap((t) => (t.partitions ?? []).map((p) => `${t.topic}-${p.partition}`));

describe("IncrementalFetchSession", () => {
  it("runs every session partition each time, and answers only those that changed", () => {
    const session = new IncrementalFetchSession();
    const full = session.begin(request(1, { a: [part(0, 10), part(1, 20)], b: [part(0, 5)] }));
    expect(fetched(full)).toEqual(["a-0@10", "a-1@20", "b-0@5"]);
    expect(full.sessionEpoch).toBe(0); // what the ordinary handler runs is a plain fetch
    expect(answered(session.finish({ topics: [answer("a", 0, 10), answer("a", 1, 20), answer("b", 0, 5)] }))).toEqual(["a-0", "a-1", "b-0"]);

    // Only a-1 moved: the rest are still fetched (positions, HW, ISR), but not listed or answered again.
    const second = session.begin(request(2, { a: [part(1, 25)] }));
    expect(fetched(second)).toEqual(["a-0@10", "a-1@25", "b-0@5"]);
    const folded = session.finish({ topics: [answer("a", 0, 10), answer("a", 1, 25), answer("b", 0, 5, 100)] });
    // a-1 was changed by the follower (answered in full), b-0 has records, a-0 is as it was.
    expect(answered(folded)).toEqual(["a-1", "b-0"]);

    // An HW move is news; a forgotten partition is no longer fetched.
    const third = session.begin(request(3, {}, { b: [0] }));
    expect(fetched(third)).toEqual(["a-0@10", "a-1@25"]);
    expect(answered(session.finish({ topics: [answer("a", 0, 11), answer("a", 1, 25)] }))).toEqual(["a-0"]);
    expect(session.partitionCount).toBe(2);
  });

  it("keeps the unfolded request right as positions move and partitions come and go", () => {
    const session = new IncrementalFetchSession();
    const step = (epoch: number, topics: Record<string, v1.FetchPartition__Output[]>, forgotten: Record<string, number[]> = {}) => {
      const unfolded = fetched(session.begin(request(epoch, topics, forgotten)));
      session.finish({ topics: [] });
      return unfolded;
    };
    expect(step(1, { a: [part(0, 1), part(1, 1)] })).toEqual(["a-0@1", "a-1@1"]);
    expect(step(2, { a: [part(0, 2)] })).toEqual(["a-0@2", "a-1@1"]);
    expect(step(3, { b: [part(0, 7)] })).toEqual(["a-0@2", "a-1@1", "b-0@7"]);
    expect(step(4, { a: [part(1, 3)] }, { b: [0] })).toEqual(["a-0@2", "a-1@3"]);
    expect(step(5, { b: [part(0, 9)] }, { a: [0] })).toEqual(["a-1@3", "b-0@9"]);
    expect(step(6, { b: [part(0, 10)] })).toEqual(["a-1@3", "b-0@10"]);
    // A full fetch replaces the whole set.
    expect(step(1, { c: [part(4, 4)] })).toEqual(["c-4@4"]);
    expect(step(2, { c: [part(4, 5)] })).toEqual(["c-4@5"]);
  });

  it("answers an error once, and again after the follower re-adds the partition", () => {
    const session = new IncrementalFetchSession();
    session.begin(request(1, { a: [part(0, 1)] }));
    expect(answered(session.finish({ topics: [answer("a", 0, 1, 0, "NOT_LEADER_OR_FOLLOWER")] }))).toEqual(["a-0"]);
    session.begin(request(2, {}));
    expect(answered(session.finish({ topics: [answer("a", 0, 1, 0, "NOT_LEADER_OR_FOLLOWER")] }))).toEqual([]);
    session.begin(request(3, { a: [part(0, 1)] }));
    expect(answered(session.finish({ topics: [answer("a", 0, 1, 0, "NOT_LEADER_OR_FOLLOWER")] }))).toEqual(["a-0"]);
  });

  it("refuses an epoch out of sequence, then takes only a full fetch", () => {
    const session = new IncrementalFetchSession();
    session.begin(request(1, { a: [part(0, 1)] }));
    session.finish({ topics: [answer("a", 0, 1)] });
    expect(() => session.begin(request(3, {}))).toThrow(expect.objectContaining({ code: "INVALID_FETCH_SESSION_EPOCH" }));
    expect(() => session.begin(request(2, {}))).toThrow(expect.objectContaining({ code: "INVALID_FETCH_SESSION_EPOCH" }));
    const restarted = session.begin(request(1, { b: [part(0, 9)] }));
    expect(fetched(restarted)).toEqual(["b-0@9"]); // a full fetch replaces the session's set
  });

  it("starts over after a whole-request error or an abandoned fetch, and takes one fetch at a time", () => {
    const session = new IncrementalFetchSession();
    session.begin(request(1, { a: [part(0, 1)] }));
    expect(() => session.begin(request(2, {}))).toThrow(expect.objectContaining({ code: "INVALID_REQUEST" }));
    session.finish({ topics: [], error: { code: "STALE_BROKER_EPOCH", message: "" } });
    expect(() => session.begin(request(2, {}))).toThrow(expect.objectContaining({ code: "INVALID_FETCH_SESSION_EPOCH" }));
    session.begin(request(1, { a: [part(0, 1)] }));
    session.abandon();
    expect(() => session.begin(request(2, {}))).toThrow(expect.objectContaining({ code: "INVALID_FETCH_SESSION_EPOCH" }));
  });
});
