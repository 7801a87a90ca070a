import type { RaftMessage } from "@tributary/raft";
import { describe, expect, it } from "vitest";
import * as codec from "./raft-codec.js";
import { messageCodec } from "@tributary/protocol";

// Through real protobuf bytes, as the messages travel between controllers.
function wire<T extends object>(typeName: string, message: T): never {
  const c = messageCodec<T, unknown>(typeName);
  return c.decode(c.encode(message)) as never;
}

/** Bytes as plain arrays, so a Buffer and a Uint8Array with the same bytes compare equal. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return [...value];
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

describe("raft message codec", () => {
  const data = new Uint8Array([1, 2, 3]);
  const cases: [RaftMessage, (m: never) => RaftMessage][] = [
    [{ type: "RequestVote", from: 1, to: 2, term: 7, preVote: true, lastLogIndex: 40, lastLogTerm: 6, leadershipTransfer: false },
      (m) => codec.voteRequestFromProto(wire("VoteRequest", codec.voteRequestToProto(m, "c")))],
    [{ type: "RequestVoteResponse", from: 2, to: 1, term: 7, preVote: true, granted: true },
      (m) => codec.voteResponseFromProto(wire("VoteResponse", codec.voteResponseToProto(m)))],
    [{ type: "AppendEntries", from: 1, to: 2, term: 7, prevLogIndex: 9, prevLogTerm: 6, leaderCommit: 8,
      entries: [{ index: 10, term: 7, kind: "noop", data: new Uint8Array() }, { index: 11, term: 7, kind: "normal", data }] },
      (m) => codec.appendFromProto(wire("AppendEntriesRequest", codec.appendToProto(m, "c")))],
    [{ type: "Heartbeat", from: 1, to: 2, term: 7, commit: 11, readRound: 5 },
      (m) => codec.appendFromProto(wire("AppendEntriesRequest", codec.appendToProto(m, "c")))],
    [{ type: "AppendEntriesResponse", from: 2, to: 1, term: 7, success: true, matchIndex: 11, rejectedIndex: 0, hintIndex: 0, hintTerm: 0 },
      (m) => codec.appendResponseFromProto(wire("AppendEntriesResponse", codec.appendResponseToProto(m)))],
    [{ type: "AppendEntriesResponse", from: 2, to: 1, term: 7, success: false, matchIndex: 0, rejectedIndex: 9, hintIndex: 4, hintTerm: 3 },
      (m) => codec.appendResponseFromProto(wire("AppendEntriesResponse", codec.appendResponseToProto(m)))],
    [{ type: "HeartbeatResponse", from: 2, to: 1, term: 7, readRound: 5 },
      (m) => codec.appendResponseFromProto(wire("AppendEntriesResponse", codec.appendResponseToProto(m)))],
    [{ type: "InstallSnapshot", from: 1, to: 2, term: 7, snapshot: { index: 100, term: 6, data } },
      (m) => codec.snapshotFromProto(wire("InstallSnapshotRequest", codec.snapshotToProto(m, "c")))],
    [{ type: "InstallSnapshotResponse", from: 2, to: 1, term: 7, matchIndex: 100 },
      (m) => codec.snapshotResponseFromProto(wire("InstallSnapshotResponse", codec.snapshotResponseToProto(m)))],
    [{ type: "TimeoutNow", from: 1, to: 2, term: 7 },
      (m) => codec.timeoutNowFromProto(wire("TimeoutNowRequest", codec.timeoutNowToProto(m)))],
  ];

  it.each(cases.map(([m, f]) => [m.type, m, f] as const))("carries %s unchanged", (_type, message, roundTrip) => {
    const back = roundTrip(message as never);
    expect(plain(back)).toEqual(plain(message));
  });
});
