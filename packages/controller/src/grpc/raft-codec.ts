// The Raft core's messages <-> the Raft service's protobuf messages (proto/tributary/v1/raft.proto).
// Pure mapping, no I/O. Two fits worth knowing:
//   - Heartbeat / HeartbeatResponse travel as AppendEntries with `heartbeat` set; the read-index
//     round rides in `read_context` as 8 bytes, and the heartbeat's commit in `leader_commit`.
//   - A rejected AppendEntriesResponse carries the refused prevLogIndex in `match_index` (the
//     core sends matchIndex 0 with every rejection, so the field is free then).
import { int64, int64ToNumber, type v1 } from "@tributary/protocol";
import type {
  AppendEntries,
  AppendEntriesResponse,
  Entry,
  Heartbeat,
  HeartbeatResponse,
  InstallSnapshot,
  InstallSnapshotResponse,
  RequestVote,
  RequestVoteResponse,
  TimeoutNow,
} from "@tributary/raft";

/** `from` of a reply that carries no Raft message (the peer had nothing to say in time). */
export const NO_MESSAGE_FROM = -1;

function roundToBytes(round: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64BE(BigInt(round));
  return bytes;
}

function bytesToRound(bytes: Uint8Array): number {
  if (bytes.byteLength !== 8) return 0;
  return Number(Buffer.from(bytes.buffer, bytes.byteOffset, 8).readBigUInt64BE());
}

function entryToProto(entry: Entry): v1.RaftEntry {
  return { index: int64(entry.index), term: int64(entry.term), kind: entry.kind, data: Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength) };
}

function entryFromProto(entry: v1.RaftEntry__Output): Entry {
  const kind = entry.kind === "noop" ? "noop" : "normal";
  return { index: int64ToNumber(entry.index), term: int64ToNumber(entry.term), kind, data: entry.data };
}

export function voteRequestToProto(m: RequestVote, clusterId: string): v1.VoteRequest {
  return {
    from: m.from, to: m.to, term: int64(m.term), lastLogIndex: int64(m.lastLogIndex), lastLogTerm: int64(m.lastLogTerm),
    preVote: m.preVote, leadershipTransfer: m.leadershipTransfer, clusterId,
  };
}

export function voteRequestFromProto(p: v1.VoteRequest__Output): RequestVote {
  return {
    type: "RequestVote", from: p.from, to: p.to, term: int64ToNumber(p.term), lastLogIndex: int64ToNumber(p.lastLogIndex),
    lastLogTerm: int64ToNumber(p.lastLogTerm), preVote: p.preVote, leadershipTransfer: p.leadershipTransfer,
  };
}

export function voteResponseToProto(m: RequestVoteResponse): v1.VoteResponse {
  return { from: m.from, to: m.to, term: int64(m.term), voteGranted: m.granted, preVote: m.preVote };
}

export function voteResponseFromProto(p: v1.VoteResponse__Output): RequestVoteResponse {
  return { type: "RequestVoteResponse", from: p.from, to: p.to, term: int64ToNumber(p.term), granted: p.voteGranted, preVote: p.preVote };
}

export function appendToProto(m: AppendEntries | Heartbeat, clusterId: string): v1.AppendEntriesRequest {
  if (m.type === "Heartbeat") {
    return { from: m.from, to: m.to, term: int64(m.term), heartbeat: true, leaderCommit: int64(m.commit), readContext: roundToBytes(m.readRound), clusterId };
  }
  return {
    from: m.from, to: m.to, term: int64(m.term), prevLogIndex: int64(m.prevLogIndex), prevLogTerm: int64(m.prevLogTerm),
    entries: m.entries.map(entryToProto), leaderCommit: int64(m.leaderCommit), heartbeat: false, clusterId,
  };
}

export function appendFromProto(p: v1.AppendEntriesRequest__Output): AppendEntries | Heartbeat {
  const header = { from: p.from, to: p.to, term: int64ToNumber(p.term) };
  if (p.heartbeat) return { type: "Heartbeat", ...header, commit: int64ToNumber(p.leaderCommit), readRound: bytesToRound(p.readContext) };
  return {
    type: "AppendEntries", ...header, prevLogIndex: int64ToNumber(p.prevLogIndex), prevLogTerm: int64ToNumber(p.prevLogTerm),
    entries: p.entries.map(entryFromProto), leaderCommit: int64ToNumber(p.leaderCommit),
  };
}

export function appendResponseToProto(m: AppendEntriesResponse | HeartbeatResponse): v1.AppendEntriesResponse {
  if (m.type === "HeartbeatResponse") return { from: m.from, to: m.to, term: int64(m.term), heartbeat: true, success: true, readContext: roundToBytes(m.readRound) };
  return {
    from: m.from, to: m.to, term: int64(m.term), success: m.success, heartbeat: false,
    matchIndex: int64(m.success ? m.matchIndex : m.rejectedIndex), rejectHintIndex: int64(m.hintIndex), rejectHintTerm: int64(m.hintTerm),
  };
}

export function appendResponseFromProto(p: v1.AppendEntriesResponse__Output): AppendEntriesResponse | HeartbeatResponse {
  const header = { from: p.from, to: p.to, term: int64ToNumber(p.term) };
  if (p.heartbeat) return { type: "HeartbeatResponse", ...header, readRound: bytesToRound(p.readContext) };
  const index = int64ToNumber(p.matchIndex);
  return {
    type: "AppendEntriesResponse", ...header, success: p.success, matchIndex: p.success ? index : 0, rejectedIndex: p.success ? 0 : index,
    hintIndex: int64ToNumber(p.rejectHintIndex), hintTerm: int64ToNumber(p.rejectHintTerm),
  };
}

export function snapshotToProto(m: InstallSnapshot, clusterId: string): v1.InstallSnapshotRequest {
  const data = m.snapshot.data;
  return {
    from: m.from, to: m.to, term: int64(m.term), lastIncludedIndex: int64(m.snapshot.index), lastIncludedTerm: int64(m.snapshot.term),
    data: Buffer.from(data.buffer, data.byteOffset, data.byteLength), clusterId,
  };
}

export function snapshotFromProto(p: v1.InstallSnapshotRequest__Output): InstallSnapshot {
  return {
    type: "InstallSnapshot", from: p.from, to: p.to, term: int64ToNumber(p.term),
    snapshot: { index: int64ToNumber(p.lastIncludedIndex), term: int64ToNumber(p.lastIncludedTerm), data: p.data },
  };
}

export function snapshotResponseToProto(m: InstallSnapshotResponse): v1.InstallSnapshotResponse {
  return { from: m.from, to: m.to, term: int64(m.term), matchIndex: int64(m.matchIndex), success: true };
}

export function snapshotResponseFromProto(p: v1.InstallSnapshotResponse__Output): InstallSnapshotResponse {
  return { type: "InstallSnapshotResponse", from: p.from, to: p.to, term: int64ToNumber(p.term), matchIndex: int64ToNumber(p.matchIndex) };
}

export function timeoutNowToProto(m: TimeoutNow): v1.TimeoutNowRequest {
  return { from: m.from, to: m.to, term: int64(m.term) };
}

export function timeoutNowFromProto(p: v1.TimeoutNowRequest__Output): TimeoutNow {
  return { type: "TimeoutNow", from: p.from, to: p.to, term: int64ToNumber(p.term) };
}
