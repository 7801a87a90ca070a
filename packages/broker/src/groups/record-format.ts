// The records the coordinator writes to __consumer_offsets, in a small versioned binary format
// (big-endian, like Kafka's). The partition is compacted, so a key must encode the same way
// every time, and a later record for a key replaces the earlier one; a null value (tombstone)
// deletes it.
//
// Key: int16 keyType, then
//   keyType 0 (offset commit):    string groupId, string topic, int32 partition
//   keyType 1 (group membership): string groupId
// Offset commit value (int16 version = 0):
//   int64 committedOffset, int32 committedLeaderEpoch (-1: unknown), string metadata,
//   int64 commitTimestampMs
// Group membership value (int16 version = 0):
//   int32 groupEpoch, int32 assignmentEpoch, string assignorName,
//   int32 n, n x (string topic, int32 partitionCount)      the subscribed topics' partition counts
//   int32 m, m x member:
//     string memberId, int32 memberEpoch, int32 previousMemberEpoch, int8 state
//     (0 stable, 1 unrevoked-partitions, 2 unreleased-partitions), string clientId,
//     string clientHost, int32 rebalanceTimeoutMs, int32 sessionTimeoutMs, string serverAssignor,
//     int32 k, k x string subscribedTopic, assignment assigned, assignment pendingRevocation,
//     assignment target, int32 e, e x (string topic, int32 partition, int32 assignmentEpoch)
//     (the member epoch at which it got each partition it holds)
//   assignment = int32 t, t x (string topic, int32 p, p x int32 partition)
// string = int32 byte length, then UTF-8 bytes.
// A reader meeting a newer version skips the record (and says so) rather than misreading it.
import { type Assignment, assignmentOf, assignmentToList } from "./assignment.js";
import type { GroupSnapshot } from "./group.js";
import { type GroupMember, type MemberState, partitionKey } from "./member.js";

export const OFFSET_KEY_TYPE = 0;
export const GROUP_KEY_TYPE = 1;
export const OFFSET_VALUE_VERSION = 0;
export const GROUP_VALUE_VERSION = 0;

export type RecordKey =
  | { type: "offset"; groupId: string; topic: string; partition: number }
  | { type: "group"; groupId: string };

export interface OffsetValue {
  committedOffset: number;
  committedLeaderEpoch: number;
  metadata: string;
  commitTimestampMs: number;
}

export class RecordFormatError extends Error {
  override readonly name = "RecordFormatError";
}

class Writer {
  private readonly chunks: Buffer[] = [];
  int8(value: number): this {
    const b = Buffer.allocUnsafe(1);
    b.writeInt8(value);
    this.chunks.push(b);
    return this;
  }
  int16(value: number): this {
    const b = Buffer.allocUnsafe(2);
    b.writeInt16BE(value);
    this.chunks.push(b);
    return this;
  }
  int32(value: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeInt32BE(value);
    this.chunks.push(b);
    return this;
  }
  int64(value: number): this {
    if (!Number.isSafeInteger(value)) throw new RangeError(`not a safe integer: ${value}`);
    const b = Buffer.allocUnsafe(8);
    b.writeBigInt64BE(BigInt(value));
    this.chunks.push(b);
    return this;
  }
  string(value: string): this {
    const bytes = Buffer.from(value, "utf8");
    this.int32(bytes.length);
    this.chunks.push(bytes);
    return this;
  }
  assignment(value: Assignment): this {
    const list = assignmentToList(value);
    this.int32(list.length);
    for (const { topic, partitions } of list) {
      this.string(topic).int32(partitions.length);
      for (const partition of partitions) this.int32(partition);
    }
    return this;
  }
  finish(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

class Reader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}
  private need(bytes: number): void {
    if (this.pos + bytes > this.buf.length) throw new RecordFormatError(`record ends early: needs ${bytes} bytes at ${this.pos} of ${this.buf.length}`);
  }
  int8(): number {
    this.need(1);
    return this.buf.readInt8((this.pos += 1) - 1);
  }
  int16(): number {
    this.need(2);
    return this.buf.readInt16BE((this.pos += 2) - 2);
  }
  int32(): number {
    this.need(4);
    return this.buf.readInt32BE((this.pos += 4) - 4);
  }
  int64(): number {
    this.need(8);
    const value = this.buf.readBigInt64BE((this.pos += 8) - 8);
    const asNumber = Number(value);
    if (!Number.isSafeInteger(asNumber)) throw new RecordFormatError(`int64 ${value} is outside the safe integer range`);
    return asNumber;
  }
  count(): number {
    const n = this.int32();
    // Every counted item takes at least 4 bytes: a count beyond that is corruption, not a reason to allocate.
    if (n < 0 || n * 4 > this.buf.length - this.pos) throw new RecordFormatError(`count ${n} does not fit the ${this.buf.length - this.pos} bytes left`);
    return n;
  }
  string(): string {
    const length = this.int32();
    if (length < 0) throw new RecordFormatError(`negative string length ${length}`);
    this.need(length);
    return this.buf.toString("utf8", this.pos, (this.pos += length));
  }
  assignment(): Assignment {
    const topics = this.count();
    const lists = [];
    for (let t = 0; t < topics; t++) {
      const topic = this.string();
      const n = this.count();
      const partitions: number[] = [];
      for (let i = 0; i < n; i++) partitions.push(this.int32());
      lists.push({ topic, partitions });
    }
    return assignmentOf(lists);
  }
  end(): void {
    if (this.pos !== this.buf.length) throw new RecordFormatError(`${this.buf.length - this.pos} unexpected bytes after the record`);
  }
}

export function encodeKey(key: RecordKey): Buffer {
  if (key.type === "offset") return new Writer().int16(OFFSET_KEY_TYPE).string(key.groupId).string(key.topic).int32(key.partition).finish();
  return new Writer().int16(GROUP_KEY_TYPE).string(key.groupId).finish();
}

/** The key, or undefined for a key type this version does not know (written by a newer broker). */
export function decodeKey(bytes: Buffer): RecordKey | undefined {
  const reader = new Reader(bytes);
  const type = reader.int16();
  if (type === OFFSET_KEY_TYPE) {
    const key: RecordKey = { type: "offset", groupId: reader.string(), topic: reader.string(), partition: reader.int32() };
    reader.end();
    return key;
  }
  if (type === GROUP_KEY_TYPE) {
    const key: RecordKey = { type: "group", groupId: reader.string() };
    reader.end();
    return key;
  }
  return undefined;
}

export function encodeOffsetValue(value: OffsetValue): Buffer {
  return new Writer()
    .int16(OFFSET_VALUE_VERSION)
    .int64(value.committedOffset)
    .int32(value.committedLeaderEpoch)
    .string(value.metadata)
    .int64(value.commitTimestampMs)
    .finish();
}

export function decodeOffsetValue(bytes: Buffer): OffsetValue | undefined {
  const reader = new Reader(bytes);
  if (reader.int16() !== OFFSET_VALUE_VERSION) return undefined;
  const value: OffsetValue = {
    committedOffset: reader.int64(),
    committedLeaderEpoch: reader.int32(),
    metadata: reader.string(),
    commitTimestampMs: reader.int64(),
  };
  reader.end();
  return value;
}

const STATE_CODES: readonly MemberState[] = ["stable", "unrevoked-partitions", "unreleased-partitions"];

export function encodeGroupValue(snapshot: GroupSnapshot): Buffer {
  const writer = new Writer()
    .int16(GROUP_VALUE_VERSION)
    .int32(snapshot.groupEpoch)
    .int32(snapshot.assignmentEpoch)
    .string(snapshot.assignorName)
    .int32(snapshot.partitionCounts.length);
  for (const [topic, count] of snapshot.partitionCounts) writer.string(topic).int32(count);
  writer.int32(snapshot.members.length);
  for (const { member, target } of snapshot.members) {
    writer
      .string(member.memberId)
      .int32(member.memberEpoch)
      .int32(member.previousMemberEpoch)
      .int8(STATE_CODES.indexOf(member.state))
      .string(member.clientId)
      .string(member.clientHost)
      .int32(member.rebalanceTimeoutMs)
      .int32(member.sessionTimeoutMs)
      .string(member.serverAssignor)
      .int32(member.subscribedTopicNames.length);
    for (const topic of member.subscribedTopicNames) writer.string(topic);
    writer.assignment(member.assigned).assignment(member.pendingRevocation).assignment(target);
    const epochs = [...member.assignmentEpochs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    writer.int32(epochs.length);
    for (const [key, epoch] of epochs) {
      const split = key.lastIndexOf("\u0000");
      writer.string(key.slice(0, split)).int32(Number(key.slice(split + 1))).int32(epoch);
    }
  }
  return writer.finish();
}

export function decodeGroupValue(bytes: Buffer): GroupSnapshot | undefined {
  const reader = new Reader(bytes);
  if (reader.int16() !== GROUP_VALUE_VERSION) return undefined;
  const groupEpoch = reader.int32();
  const assignmentEpoch = reader.int32();
  const assignorName = reader.string();
  const partitionCounts: [string, number][] = [];
  for (let n = reader.count(); n > 0; n--) partitionCounts.push([reader.string(), reader.int32()]);
  const members: GroupSnapshot["members"] = [];
  for (let m = reader.count(); m > 0; m--) {
    const memberId = reader.string();
    const memberEpoch = reader.int32();
    const previousMemberEpoch = reader.int32();
    const state = STATE_CODES[reader.int8()];
    if (state === undefined) throw new RecordFormatError(`member ${memberId} has an unknown state code`);
    const clientId = reader.string();
    const clientHost = reader.string();
    const rebalanceTimeoutMs = reader.int32();
    const sessionTimeoutMs = reader.int32();
    const serverAssignor = reader.string();
    const subscribedTopicNames: string[] = [];
    for (let k = reader.count(); k > 0; k--) subscribedTopicNames.push(reader.string());
    const member: GroupMember = {
      memberId,
      memberEpoch,
      previousMemberEpoch,
      state,
      clientId,
      clientHost,
      subscribedTopicNames,
      serverAssignor,
      rebalanceTimeoutMs,
      sessionTimeoutMs,
      assigned: reader.assignment(),
      pendingRevocation: reader.assignment(),
      assignmentEpochs: new Map(),
    };
    const target = reader.assignment();
    const assignmentEpochs = new Map<string, number>();
    for (let e = reader.count(); e > 0; e--) assignmentEpochs.set(partitionKey(reader.string(), reader.int32()), reader.int32());
    members.push({ member: { ...member, assignmentEpochs }, target });
  }
  reader.end();
  return { groupEpoch, assignmentEpoch, assignorName, partitionCounts, members };
}
