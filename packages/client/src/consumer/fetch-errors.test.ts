import { describe, expect, it } from "vitest";
import { fetchErrorAction } from "./fetch-errors.js";

const base = { retriable: true, fetchOffset: 100, logStartOffset: 0, logEndOffset: 500 };

describe("fetchErrorAction (a partition's error in a Fetch answer)", () => {
  it("finds the leader again when the broker does not lead the partition, or led it at an older epoch", () => {
    for (const code of ["NOT_LEADER_OR_FOLLOWER", "FENCED_LEADER_EPOCH", "LEADER_NOT_AVAILABLE", "UNKNOWN_TOPIC_OR_PARTITION"] as const) {
      expect(fetchErrorAction({ ...base, code })).toEqual({ kind: "find-leader" });
    }
  });

  it("asks the same broker again when it has not yet learned of the epoch the consumer knows", () => {
    expect(fetchErrorAction({ ...base, code: "UNKNOWN_LEADER_EPOCH" })).toEqual({ kind: "retry" });
  });

  it("resets by the policy when the position fell off the log start (retention)", () => {
    expect(fetchErrorAction({ ...base, code: "OFFSET_OUT_OF_RANGE", retriable: false, fetchOffset: 5, logStartOffset: 40 })).toEqual({ kind: "reset" });
    expect(fetchErrorAction({ ...base, code: "OFFSET_OUT_OF_RANGE", retriable: false, logStartOffset: -1, logEndOffset: -1 })).toEqual({ kind: "reset" });
  });

  it("resumes at the log end, not at the start or the end by policy, when the log was truncated below the position", () => {
    expect(fetchErrorAction({ ...base, code: "OFFSET_OUT_OF_RANGE", retriable: false, fetchOffset: 800, logEndOffset: 640 })).toEqual({ kind: "truncated", logEndOffset: 640 });
  });

  it("raises what is not retriable", () => {
    expect(fetchErrorAction({ ...base, code: "CORRUPT_MESSAGE", retriable: false })).toEqual({ kind: "raise" });
  });
});
