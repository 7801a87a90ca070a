// Test fixtures: temporary partition folders, a settable clock, and real RecordBatch v2 bytes
// from @tributary/records' encoder (the same bytes a producer sends).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type RecordInput, decodeBatch, encodeBatch, iterateBatches } from "@tributary/records";
import { type LogConfig, PartitionLog } from "../index.js";

export class ManualClock {
  constructor(public nowMs = 1_700_000_000_000) {}
  readonly now = (): number => this.nowMs;
  advance(ms: number): void {
    this.nowMs += ms;
  }
}

const tempDirs: string[] = [];

/** A fresh `<tmp>/<name>-0` partition folder path (not yet created); removed by removeTempDirs(). */
export function tempPartitionDir(name = "topic"): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-storage-test-"));
  tempDirs.push(root);
  return path.join(root, `${name}-0`);
}

export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

export function openLog(dir: string, clock: ManualClock, config: Partial<LogConfig> = {}): PartitionLog {
  return PartitionLog.open({ dir, config, now: clock.now });
}

export interface BatchSpec {
  /** Number of records (default 1). */
  count?: number;
  /** Record keys are `${keyPrefix}${i}` (default "k"); null makes keyless records. */
  keyPrefix?: string | null;
  /** Explicit keys; overrides count and keyPrefix. */
  keys?: (string | null)[];
  /** Explicit values (null = tombstone), parallel to keys. */
  values?: (string | null)[];
  valueBytes?: number;
  timestampMs?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  compression?: "none" | "gzip" | "snappy" | "lz4" | "zstd";
}

/** One real batch, as a producer would encode it. */
export function batch(spec: BatchSpec = {}): Buffer {
  const timestampMs = spec.timestampMs ?? 1_700_000_000_000;
  const keys = spec.keys ?? Array.from({ length: spec.count ?? 1 }, (_, i) => (spec.keyPrefix === null ? null : `${spec.keyPrefix ?? "k"}${i}`));
  const records: RecordInput[] = keys.map((key, i) => {
    const value = spec.values !== undefined ? spec.values[i] ?? null : Buffer.alloc(spec.valueBytes ?? 20, 0x61 + (i % 26)).toString("latin1");
    return { key: key === null ? null : Buffer.from(key), value: value === null ? null : Buffer.from(value, "latin1"), timestampMs };
  });
  return encodeBatch({
    records,
    compression: spec.compression ?? "none",
    ...(spec.producerId !== undefined ? { producerId: spec.producerId, producerEpoch: spec.producerEpoch ?? 0, baseSequence: spec.baseSequence ?? 0 } : {}),
  });
}

export interface ReadRecord {
  offset: number;
  key: string | null;
  value: string | null;
  timestampMs: number;
}

/** Every record in a buffer of whole batches. */
export function decodeRecords(bytes: Buffer): ReadRecord[] {
  const records: ReadRecord[] = [];
  for (const { pos } of iterateBatches(bytes)) {
    for (const record of decodeBatch(bytes, pos).records) {
      records.push({ offset: record.offset, key: record.key?.toString("latin1") ?? null, value: record.value?.toString("latin1") ?? null, timestampMs: record.timestampMs });
    }
  }
  return records;
}

/** Base offsets of the batches in a buffer. */
export function batchBaseOffsets(bytes: Buffer): number[] {
  return [...iterateBatches(bytes)].map(({ pos }) => decodeBatch(bytes, pos).header.baseOffset);
}

/** Reads the whole log from its start, following reads across segments, as a consumer would. */
export function readAll(log: PartitionLog, maxBytes = 64 * 1024): ReadRecord[] {
  const records: ReadRecord[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const bytes = log.read(offset, maxBytes);
    if (bytes.length === 0) break;
    const batchRecords = decodeRecords(bytes);
    for (const record of batchRecords) if (record.offset >= offset) records.push(record);
    let last = 0;
    for (const { pos } of iterateBatches(bytes)) last = pos;
    const header = decodeBatch(bytes, last).header;
    offset = header.baseOffset + header.lastOffsetDelta + 1;
  }
  return records;
}
