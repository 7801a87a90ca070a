// Produce on a real leader log: the acks rules, min.insync.replicas checked before the append,
// acks=all answered when the HW passes the batch or at the request's timeout, and the bound on
// queued produce bytes.
import { afterEach, describe, expect, it } from "vitest";
import { handleProduce } from "./produce-handler.js";
import { batchOf, records, replicaFixture, type ReplicaFixture } from "./replicas.fixture.js";

let fixture: ReplicaFixture | undefined;
afterEach(async () => {
  await fixture?.cleanup();
  fixture = undefined;
});

function leaderOfThree(minInsync = "2"): ReplicaFixture {
  const f = replicaFixture(1);
  f.apply(records.broker(1), records.broker(2), records.broker(3), records.topic("t", "T"), records.config("t", "min.insync.replicas", minInsync),
    records.partition("T", 0, [1, 2, 3], [1, 2, 3], 1, 0, 0));
  f.manager.applyImage(f.image);
  return f;
}

const produce = (f: ReplicaFixture, acks: number, recordsBuffer: Buffer, timeoutMs = 1000) =>
  handleProduce(f.ctx, { acks, timeoutMs, transactionalId: "", topics: [{ name: "t", partitions: [{ partition: 0, records: recordsBuffer }] }] });
const resultOf = (response: Awaited<ReturnType<typeof handleProduce>>) => response.topics![0]!.partitions![0]!;

describe("handleProduce", () => {
  it("answers acks=1 after the append, with the base offset", async () => {
    fixture = leaderOfThree();
    const first = resultOf(await produce(fixture, 1, batchOf(3)));
    expect(first.error).toEqual({ code: "NONE", message: "" });
    expect(first.baseOffset).toBe("0");
    expect(resultOf(await produce(fixture, 1, batchOf(2))).baseOffset).toBe("3");
  });

  it("answers acks=all only once the HW passes the batch", async () => {
    fixture = leaderOfThree();
    const f = fixture;
    let answered = false;
    const pending = produce(f, -1, batchOf(5), 10_000).then((r) => { answered = true; return r; });
    await Promise.resolve();
    const partition = f.manager.partition("t", 0)!;
    f.manager.recordFollowerFetch(partition, 2, 5);
    await Promise.resolve();
    expect(answered).toBe(false); // broker 3 has not fetched yet
    f.manager.recordFollowerFetch(partition, 3, 5);
    const result = resultOf(await pending);
    expect(result.error?.code).toBe("NONE");
    expect(partition.highWatermark).toBe(5);
  });

  it("times out acks=all with REQUEST_TIMED_OUT when the followers do not fetch", async () => {
    fixture = leaderOfThree();
    const f = fixture;
    const pending = produce(f, -1, batchOf(1), 200);
    f.advance(250);
    f.ctx.delayedProduce.expireDue(f.now());
    expect(resultOf(await pending).error?.code).toBe("REQUEST_TIMED_OUT");
  });

  it("refuses acks=all with NOT_ENOUGH_REPLICAS before appending when the ISR is below min.insync.replicas", async () => {
    fixture = replicaFixture(1);
    fixture.apply(records.broker(1), records.broker(2), records.topic("t", "T"), records.config("t", "min.insync.replicas", "2"),
      records.partition("T", 0, [1, 2], [1], 1, 0, 0));
    fixture.manager.applyImage(fixture.image);
    expect(resultOf(await produce(fixture, -1, batchOf(1))).error?.code).toBe("NOT_ENOUGH_REPLICAS");
    expect(fixture.manager.partition("t", 0)!.log.logEndOffset).toBe(0);
    // acks=1 does not need the ISR.
    expect(resultOf(await produce(fixture, 1, batchOf(1))).error?.code).toBe("NONE");
  });

  it("refuses bad acks and requests past queued.max.request.bytes", async () => {
    fixture = leaderOfThree();
    expect(resultOf(await produce(fixture, 2, batchOf(1))).error?.code).toBe("INVALID_REQUIRED_ACKS");
    fixture.ctx.limits.queuedMaxRequestBytes = 10;
    expect(resultOf(await produce(fixture, 1, batchOf(1))).error?.code).toBe("RESOURCE_EXHAUSTED");
    expect(fixture.manager.partition("t", 0)!.log.logEndOffset).toBe(0);
    expect(fixture.ctx.queuedProduceBytes).toBe(0);
  });

  it("answers a follower's partition with NOT_LEADER_OR_FOLLOWER and the leader's endpoint", async () => {
    fixture = replicaFixture(2);
    fixture.apply(records.broker(1), records.broker(2), records.topic("t", "T"), records.partition("T", 0, [1, 2], [1, 2], 1, 3, 3));
    fixture.manager.applyImage(fixture.image);
    const result = resultOf(await produce(fixture, 1, batchOf(1)));
    expect(result.error?.code).toBe("NOT_LEADER_OR_FOLLOWER");
    expect(result.currentLeader).toMatchObject({ nodeId: 1, leaderEpoch: 3, endpoint: { host: "127.0.0.1", port: 9001 } });
  });
});
