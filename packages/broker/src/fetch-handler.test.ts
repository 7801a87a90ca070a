// Fetch on a real leader log: consumers see only what is below the HW, a follower's fetch
// offset moves the HW, a follower whose log diverges is told where, a stale broker epoch is
// refused, a long-poll completes as soon as data arrives, and a follower's long-poll that does
// not carry a partition it has yet to fetch is answered when that partition gets data.
import { afterEach, describe, expect, it } from "vitest";
import type { v1 } from "@tributary/protocol";
import { handleFetch } from "./fetch-handler.js";
import { batchOf, records, replicaFixture, type ReplicaFixture } from "./replicas.fixture.js";

let fixture: ReplicaFixture | undefined;
afterEach(async () => {
  await fixture?.cleanup();
  fixture = undefined;
});

function leader(): ReplicaFixture {
  const f = replicaFixture(1);
  f.apply(records.broker(1), records.broker(2), records.topic("t", "T"), records.partition("T", 0, [1, 2], [1, 2], 1, 4, 4));
  f.manager.applyImage(f.image);
  return f;
}

function request(fetchOffset: number, options: Partial<v1.FetchRequest__Output> & { lastFetchedEpoch?: number; currentLeaderEpoch?: number } = {}): v1.FetchRequest__Output {
  return {
    replicaId: -1, replicaEpoch: "-1", maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, rackId: "",
    ...options,
    topics: [{ topic: "t", partitions: [{ partition: 0, fetchOffset: String(fetchOffset), partitionMaxBytes: 1 << 20, currentLeaderEpoch: options.currentLeaderEpoch ?? -1, lastFetchedEpoch: options.lastFetchedEpoch ?? -1, logStartOffset: "0" }] }],
  };
}
const partOf = (r: v1.FetchResponse) => r.topics![0]!.partitions![0]!;
const appendAsLeader = (f: ReplicaFixture, count: number) => {
  const p = f.manager.partition("t", 0)!;
  p.log.appendAsLeader(batchOf(count), p.leaderEpoch, f.now());
  f.manager.afterLeaderAppend(p);
};

describe("handleFetch", () => {
  it("gives consumers only offsets below the HW, and followers everything up to the log end", async () => {
    fixture = leader();
    appendAsLeader(fixture, 5);
    const consumer = partOf(await handleFetch(fixture.ctx, request(0)));
    expect(consumer.error?.code).toBe("NONE");
    expect(consumer.highWatermark).toBe(0);
    expect((consumer.records as Buffer).length).toBe(0);
    const follower = partOf(await handleFetch(fixture.ctx, request(0, { replicaId: 2, replicaEpoch: "20", lastFetchedEpoch: -1 })));
    expect((follower.records as Buffer).length).toBeGreaterThan(0);
    // The follower's next fetch at 5 says it holds 0..4: with broker 1 that is the whole ISR.
    await handleFetch(fixture.ctx, request(5, { replicaId: 2, replicaEpoch: "20", lastFetchedEpoch: 4 }));
    const after = partOf(await handleFetch(fixture.ctx, request(0)));
    expect(after.highWatermark).toBe(5);
    expect((after.records as Buffer).length).toBe((follower.records as Buffer).length);
  });

  it("tells a follower whose last epoch the leader never had where to truncate", async () => {
    fixture = leader();
    appendAsLeader(fixture, 5); // epoch 4 starts at 0
    const response = partOf(await handleFetch(fixture.ctx, request(8, { replicaId: 2, replicaEpoch: "20", lastFetchedEpoch: 4 })));
    expect(response.divergingEpoch).toEqual({ epoch: 4, endOffset: 5 });
    expect((response.records as Buffer).length).toBe(0);
    expect(fixture.manager.partition("t", 0)!.leaderState!.follower(2)!.logEndOffset).toBe(-1); // not counted as progress
  });

  it("refuses a follower with a stale broker epoch and a request with another leader epoch", async () => {
    fixture = leader();
    const stale = await handleFetch(fixture.ctx, request(0, { replicaId: 2, replicaEpoch: "19" }));
    expect(stale.error?.code).toBe("STALE_BROKER_EPOCH");
    expect(partOf(await handleFetch(fixture.ctx, request(0, { currentLeaderEpoch: 3 }))).error?.code).toBe("FENCED_LEADER_EPOCH");
    expect(partOf(await handleFetch(fixture.ctx, request(0, { currentLeaderEpoch: 5 }))).error?.code).toBe("UNKNOWN_LEADER_EPOCH");
  });

  it("long-polls until data arrives, and answers empty at max_wait_ms", async () => {
    fixture = leader();
    const f = fixture;
    const waiting = handleFetch(f.ctx, request(0, { replicaId: 2, replicaEpoch: "20", maxWaitMs: 5_000, minBytes: 1 }));
    expect(f.ctx.delayedFetch.size).toBe(1);
    appendAsLeader(f, 2);
    expect((partOf(await waiting).records as Buffer).length).toBeGreaterThan(0);

    const empty = handleFetch(f.ctx, request(0, { maxWaitMs: 100, minBytes: 1 }));
    f.advance(150);
    f.ctx.delayedFetch.expireDue(f.now());
    expect((partOf(await empty).records as Buffer).length).toBe(0);
  });

  it("answers a follower's long-poll early when a partition it has not fetched yet gets data, and only then", async () => {
    fixture = leader();
    const f = fixture;
    // Partition 1 is new: the follower's long-poll below was sent before it followed it.
    f.apply(records.partition("T", 1, [1, 2], [1, 2], 1, 4, 4));
    f.manager.applyImage(f.image);
    const onPartition = (partition: number, fetchOffset: number): v1.FetchRequest__Output => {
      const r = request(fetchOffset, { replicaId: 2, replicaEpoch: "20", maxWaitMs: 5_000, minBytes: 1 });
      r.topics[0]!.partitions[0]!.partition = partition;
      return r;
    };
    const appendTo = (partition: number, count: number) => {
      const p = f.manager.partition("t", partition)!;
      p.log.appendAsLeader(batchOf(count), p.leaderEpoch, f.now());
      f.manager.afterLeaderAppend(p);
    };
    const settled = (promise: Promise<unknown>) => Promise.race([promise.then(() => true), new Promise((r) => setTimeout(() => r(false), 20))]);

    const longPoll = handleFetch(f.ctx, onPartition(0, 0));
    expect(f.ctx.delayedFetch.size).toBe(1);
    appendTo(1, 3);
    // Answered (empty for partition 0) long before max_wait_ms: the next fetch can carry partition 1.
    expect(await settled(longPoll)).toBe(true);
    expect((partOf(await longPoll).records as Buffer).length).toBe(0);
    expect(f.ctx.delayedFetch.size).toBe(0);

    // Once the follower has fetched partition 1, data there no longer answers fetches without it.
    await handleFetch(f.ctx, onPartition(1, 0));
    const second = handleFetch(f.ctx, onPartition(0, 0));
    appendTo(1, 2);
    expect(await settled(second)).toBe(false);
    expect(f.ctx.delayedFetch.size).toBe(1);
    appendTo(0, 1);
    expect((partOf(await second).records as Buffer).length).toBeGreaterThan(0);
  });
});
