// The checker must fail on each kind of loss or corruption it exists to catch.
import { describe, expect, it } from "vitest";
import { checkHistory, type CheckInput } from "./checker.js";

function input(): CheckInput {
  return {
    log: new Map([[0, [{ offset: 0, value: "p0:0:0" }, { offset: 1, value: "p1:0:0" }, { offset: 2, value: "p0:0:1" }]], [1, [{ offset: 0, value: "p0:1:0" }]]]),
    producers: [
      { name: "p0", sent: ["p0:0:0", "p0:1:0", "p0:0:1"], acked: [{ partition: 0, offset: 0, value: "p0:0:0" }, { partition: 1, offset: 0, value: "p0:1:0" }, { partition: 0, offset: 2, value: "p0:0:1" }], uncertain: [], errors: new Map() },
      { name: "p1", sent: ["p1:0:0"], acked: [], uncertain: ["p1:0:0"], errors: new Map() },
    ],
    groups: [{ groupId: "g", seen: [{ partition: 0, offset: 0, value: "p0:0:0" }, { partition: 0, offset: 1, value: "p1:0:0" }], commits: 1, commitErrors: new Map() }],
    committed: new Map([["g", new Map([[0, 2]])]]),
  };
}

describe("checkHistory", () => {
  it("passes a consistent history (an unacknowledged record may be present once)", () => {
    const result = checkHistory(input());
    expect(result.failures).toEqual([]);
    expect(result.stats).toMatchObject({ logRecords: 4, acked: 3, uncertain: 1, uncertainPresent: 1 });
  });

  it("finds a lost acknowledged record", () => {
    const i = input();
    i.log.set(0, i.log.get(0)!.filter((r) => r.offset !== 2));
    expect(checkHistory(i).failures.join("\n")).toMatch(/acknowledged p0:0:1 at 0:2, but the log has nothing there \(the value is lost\)/);
  });

  it("finds a duplicate, a record nobody sent, and broken producer order", () => {
    const i = input();
    i.log.get(0)!.push({ offset: 3, value: "p0:0:0" }, { offset: 4, value: "p9:0:0" });
    i.log.set(1, [{ offset: 0, value: "p0:1:0" }]);
    i.producers[0]!.sent.push("p0:0:2");
    i.log.get(0)!.splice(2, 0);
    const failures = checkHistory(i).failures.join("\n");
    expect(failures).toMatch(/p0:0:0 is in the log twice/);
    expect(failures).toMatch(/which no producer sent/);
    expect(failures).toMatch(/producer order broken/);
  });

  it("finds a group that committed past records it never saw, or read a record the log does not hold", () => {
    const i = input();
    i.committed.set("g", new Map([[0, 3]]));
    i.groups[0]!.seen.push({ partition: 1, offset: 0, value: "ghost" });
    const failures = checkHistory(i).failures.join("\n");
    expect(failures).toMatch(/committed 3 on partition 0 but never saw 1 record\(s\) below it, first at offset 2/);
    expect(failures).toMatch(/read "ghost" at 1:0/);
  });
});
