// Byte layouts of what LevelRaftStorage stores: keys, and records framed as
//   [CRC-32C of the rest: uint32 BE][version: uint8][fields...]
// Every record is checked on read, so bytes that were torn, misplaced or rotted are reported as
// STORAGE_CORRUPT instead of being taken for a valid entry or vote.
import { crc32c } from "@node-rs/crc32";
import { RaftError } from "./errors.js";
import type { Entry, EntryKind, HardState, Snapshot } from "./messages.js";

const VERSION = 1;
const CRC_BYTES = 4;
const HEADER_BYTES = CRC_BYTES + 1;

export const HARD_STATE_KEY = Uint8Array.of(0x01);
export const SNAPSHOT_KEY = Uint8Array.of(0x02);
const ENTRY_PREFIX = 0x03;
/** Sorts after every entry key. */
export const ENTRY_KEY_END = Uint8Array.of(ENTRY_PREFIX + 1);

/** Entry keys sort by index: a prefix byte and the index as 8 bytes big-endian. */
export function entryKey(index: number): Uint8Array {
  const key = new Uint8Array(9);
  key[0] = ENTRY_PREFIX;
  new DataView(key.buffer).setBigUint64(1, BigInt(index));
  return key;
}

export function indexOfEntryKey(key: Uint8Array): number {
  if (key.byteLength !== 9 || key[0] !== ENTRY_PREFIX) throw corrupt(`unexpected key of ${key.byteLength} bytes in the entry range`);
  return Number(new DataView(key.buffer, key.byteOffset, key.byteLength).getBigUint64(1));
}

export function encodeHardState(hardState: HardState): Uint8Array {
  return frame(24, (view, at) => {
    view.setBigUint64(at, BigInt(hardState.term));
    view.setBigInt64(at + 8, BigInt(hardState.vote ?? -1));
    view.setBigUint64(at + 16, BigInt(hardState.commit));
  });
}

export function decodeHardState(record: Uint8Array): HardState {
  const view = unframe(record, 24, "hard state");
  const vote = safe(view.getBigInt64(HEADER_BYTES + 8), "vote", -1);
  return {
    term: safe(view.getBigUint64(HEADER_BYTES), "term"),
    vote: vote === -1 ? null : vote,
    commit: safe(view.getBigUint64(HEADER_BYTES + 16), "commit"),
  };
}

export function encodeSnapshot(snapshot: Snapshot): Uint8Array {
  const record = frame(16 + snapshot.data.byteLength, (view, at, bytes) => {
    view.setBigUint64(at, BigInt(snapshot.index));
    view.setBigUint64(at + 8, BigInt(snapshot.term));
    bytes.set(snapshot.data, at + 16);
  });
  return record;
}

export function decodeSnapshot(record: Uint8Array): Snapshot {
  const view = unframe(record, 16, "snapshot");
  return {
    index: safe(view.getBigUint64(HEADER_BYTES), "snapshot index"),
    term: safe(view.getBigUint64(HEADER_BYTES + 8), "snapshot term"),
    data: new Uint8Array(record.subarray(HEADER_BYTES + 16)),
  };
}

export function encodeEntry(entry: Entry): Uint8Array {
  return frame(17 + entry.data.byteLength, (view, at, bytes) => {
    view.setBigUint64(at, BigInt(entry.index));
    view.setBigUint64(at + 8, BigInt(entry.term));
    view.setUint8(at + 16, entry.kind === "noop" ? 1 : 0);
    bytes.set(entry.data, at + 17);
  });
}

/** Decode an entry stored under `expectedIndex`; a record stored under the wrong key is corrupt. */
export function decodeEntry(record: Uint8Array, expectedIndex: number): Entry {
  const view = unframe(record, 17, `entry ${expectedIndex}`);
  const index = safe(view.getBigUint64(HEADER_BYTES), "entry index");
  if (index !== expectedIndex) throw corrupt(`entry stored under index ${expectedIndex} says it is ${index}`);
  const kindByte = view.getUint8(HEADER_BYTES + 16);
  if (kindByte > 1) throw corrupt(`entry ${index} has unknown kind ${kindByte}`);
  const kind: EntryKind = kindByte === 1 ? "noop" : "normal";
  return { index, term: safe(view.getBigUint64(HEADER_BYTES + 8), "entry term"), kind, data: new Uint8Array(record.subarray(HEADER_BYTES + 17)) };
}

function frame(fieldBytes: number, write: (view: DataView, at: number, bytes: Uint8Array) => void): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES + fieldBytes);
  const view = new DataView(bytes.buffer);
  view.setUint8(CRC_BYTES, VERSION);
  write(view, HEADER_BYTES, bytes);
  view.setUint32(0, crc32c(bytes.subarray(CRC_BYTES)) >>> 0);
  return bytes;
}

function unframe(record: Uint8Array, minFieldBytes: number, what: string): DataView {
  if (record.byteLength < HEADER_BYTES + minFieldBytes) throw corrupt(`${what} record is ${record.byteLength} bytes, too short`);
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  const stored = view.getUint32(0);
  const actual = crc32c(record.subarray(CRC_BYTES)) >>> 0;
  if (stored !== actual) throw corrupt(`${what} record fails its CRC-32C (stored ${stored}, computed ${actual})`);
  const version = view.getUint8(CRC_BYTES);
  if (version !== VERSION) throw corrupt(`${what} record has unknown version ${version}`);
  return view;
}

function safe(value: bigint, what: string, min = 0): number {
  if (value < BigInt(min) || value > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(`${what} ${value} is out of range`);
  return Number(value);
}

function corrupt(message: string): RaftError {
  return new RaftError("STORAGE_CORRUPT", `raft storage is corrupt: ${message}; restore this node from a peer`);
}
