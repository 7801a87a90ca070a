import { describe, expect, it } from "vitest";
import { type Assignment, assignmentOf, assignmentSize, assignmentToList, isSubset } from "../assignment.js";
import type { Assignor, AssignorMember } from "./assignor.js";
import { rangeAssignor } from "./range.js";
import { uniformAssignor } from "./uniform.js";

const member = (memberId: string, topics: string[], currentTarget: Assignment = new Map()): AssignorMember => ({
  memberId,
  subscribedTopicNames: topics,
  currentTarget,
});

const counts = (entries: Record<string, number>): Map<string, number> => new Map(Object.entries(entries));

const listOf = (result: Map<string, Assignment>): Record<string, { topic: string; partitions: number[] }[]> =>
  Object.fromEntries([...result].map(([id, a]) => [id, assignmentToList(a)]));

/** Every partition of every subscribed topic goes to exactly one subscriber. */
function expectComplete(result: Map<string, Assignment>, members: AssignorMember[], partitionCounts: Map<string, number>): void {
  const seen = new Map<string, string>();
  for (const [memberId, assignment] of result) {
    const subscribed = members.find((m) => m.memberId === memberId)!.subscribedTopicNames;
    for (const [topic, partitions] of assignment) {
      expect(subscribed).toContain(topic);
      for (const p of partitions) {
        const key = `${topic}-${p}`;
        expect(seen.get(key), `${key} assigned twice`).toBeUndefined();
        seen.set(key, memberId);
        expect(p).toBeLessThan(partitionCounts.get(topic) ?? 0);
      }
    }
  }
  const wanted = new Set(members.flatMap((m) => m.subscribedTopicNames));
  let total = 0;
  for (const topic of wanted) total += partitionCounts.get(topic) ?? 0;
  expect(seen.size).toBe(total);
}

describe("range assignor", () => {
  it("gives each member a contiguous range per topic, the first members one more (Kafka's RangeAssignor)", () => {
    const members = [member("b", ["t1", "t2"]), member("a", ["t1", "t2"])];
    const result = rangeAssignor.assign({ members, partitionCounts: counts({ t1: 5, t2: 3 }) });
    expect(listOf(result)).toEqual({
      a: [
        { topic: "t1", partitions: [0, 1, 2] },
        { topic: "t2", partitions: [0, 1] },
      ],
      b: [
        { topic: "t1", partitions: [3, 4] },
        { topic: "t2", partitions: [2] },
      ],
    });
  });

  it("splits each topic among its own subscribers only and leaves surplus members empty", () => {
    const members = [member("a", ["t1"]), member("b", ["t1", "t2"]), member("c", ["t1"]), member("d", ["t1"])];
    const partitionCounts = counts({ t1: 2, t2: 2 });
    const result = rangeAssignor.assign({ members, partitionCounts });
    expectComplete(result, members, partitionCounts);
    expect(listOf(result)).toEqual({
      a: [{ topic: "t1", partitions: [0] }],
      b: [
        { topic: "t1", partitions: [1] },
        { topic: "t2", partitions: [0, 1] },
      ],
      c: [],
      d: [],
    });
  });

  it("ignores topics that do not exist", () => {
    const result = rangeAssignor.assign({ members: [member("a", ["missing"])], partitionCounts: counts({}) });
    expect(listOf(result)).toEqual({ a: [] });
  });
});

/** Runs the assignor like the group does: each round's target is the next round's current target. */
function rounds(assignor: Assignor, partitionCounts: Map<string, number>, memberRounds: { id: string; topics: string[] }[][]): Map<string, Assignment>[] {
  let previous = new Map<string, Assignment>();
  const results: Map<string, Assignment>[] = [];
  for (const round of memberRounds) {
    const members = round.map(({ id, topics }) => member(id, topics, previous.get(id)));
    const result = assignor.assign({ members, partitionCounts });
    expectComplete(result, members, partitionCounts);
    results.push(result);
    previous = result;
  }
  return results;
}

describe("uniform (sticky) assignor", () => {
  const t = ["orders"];
  const six = counts({ orders: 6 });

  it("moves only what balance needs as members go 1 -> 3 -> 2 on 6 partitions", () => {
    const [one, three, two] = rounds(uniformAssignor, six, [
      [{ id: "a", topics: t }],
      [
        { id: "a", topics: t },
        { id: "b", topics: t },
        { id: "c", topics: t },
      ],
      [
        { id: "a", topics: t },
        { id: "b", topics: t },
      ],
    ]);
    expect(assignmentSize(one!.get("a")!)).toBe(6);
    // Three members: two each, and a keeps two of the partitions it had (it only gives up).
    for (const id of ["a", "b", "c"]) expect(assignmentSize(three!.get(id)!)).toBe(2);
    expect(isSubset(three!.get("a")!, one!.get("a")!)).toBe(true);
    // c leaves: a and b keep everything they had and split c's two partitions.
    expect(isSubset(three!.get("a")!, two!.get("a")!)).toBe(true);
    expect(isSubset(three!.get("b")!, two!.get("b")!)).toBe(true);
    expect(assignmentSize(two!.get("a")!)).toBe(3);
    expect(assignmentSize(two!.get("b")!)).toBe(3);
  });

  it("keeps every assignment when nothing changed", () => {
    const [first, second] = rounds(uniformAssignor, counts({ x: 7, y: 3 }), [
      [
        { id: "m1", topics: ["x", "y"] },
        { id: "m2", topics: ["x", "y"] },
        { id: "m3", topics: ["x", "y"] },
      ],
      [
        { id: "m1", topics: ["x", "y"] },
        { id: "m2", topics: ["x", "y"] },
        { id: "m3", topics: ["x", "y"] },
      ],
    ]);
    expect(listOf(second!)).toEqual(listOf(first!));
  });

  it("stays balanced (counts within one) and complete for random membership changes", () => {
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const partitionCounts = counts({ a: 13, b: 7, c: 1 });
    let memberIds = ["m0"];
    let previous = new Map<string, Assignment>();
    for (let round = 0; round < 200; round++) {
      if (random(2) === 0 || memberIds.length === 1) memberIds = [...memberIds, `m${round + 1}`];
      else memberIds = memberIds.filter((_, i) => i !== random(memberIds.length));
      if (memberIds.length > 25) memberIds = memberIds.slice(5);
      const members = memberIds.map((id) => member(id, ["a", "b", "c"], previous.get(id)));
      const result = uniformAssignor.assign({ members, partitionCounts });
      expectComplete(result, members, partitionCounts);
      const sizes = [...result.values()].map(assignmentSize);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      // Stickiness: a member that stays and already held no more than its share keeps all of it.
      const floor = Math.floor(21 / members.length);
      for (const m of members) {
        if (assignmentSize(m.currentTarget) <= floor) expect(isSubset(m.currentTarget, result.get(m.memberId)!)).toBe(true);
      }
      previous = result;
    }
  });

  it("serves members with different subscriptions only from their topics, balancing where it can", () => {
    const members = [member("a", ["x"]), member("b", ["x", "y"]), member("c", ["y"])];
    const partitionCounts = counts({ x: 4, y: 4 });
    const result = uniformAssignor.assign({ members, partitionCounts });
    expectComplete(result, members, partitionCounts);
    const sizes = [...result.values()].map(assignmentSize).sort();
    expect(sizes).toEqual([2, 3, 3]);
  });

  it("is deterministic whatever the order of members", () => {
    const members = [member("z", ["x"]), member("a", ["x"]), member("m", ["x"])];
    const partitionCounts = counts({ x: 10 });
    const forward = uniformAssignor.assign({ members, partitionCounts });
    const backward = uniformAssignor.assign({ members: [...members].reverse(), partitionCounts });
    expect(listOf(backward)).toEqual(listOf(forward));
  });

  it("drops partitions that no longer exist and topics a member unsubscribed from", () => {
    const members = [member("a", ["x"], assignmentOf([{ topic: "x", partitions: [0, 1, 5] }, { topic: "y", partitions: [0] }]))];
    const result = uniformAssignor.assign({ members, partitionCounts: counts({ x: 3, y: 1 }) });
    expect(listOf(result)).toEqual({ a: [{ topic: "x", partitions: [0, 1, 2] }] });
  });

  it("gives a partition claimed by two members' old targets to one of them only", () => {
    const claimed = assignmentOf([{ topic: "x", partitions: [0, 1] }]);
    const members = [member("a", ["x"], claimed), member("b", ["x"], claimed)];
    const result = uniformAssignor.assign({ members, partitionCounts: counts({ x: 2 }) });
    expectComplete(result, members, counts({ x: 2 }));
    expect(assignmentSize(result.get("a")!)).toBe(1);
  });
});
