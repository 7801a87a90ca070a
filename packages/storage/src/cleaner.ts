// Log compaction (cleanup.policy=compact), Kafka's LogCleaner for one log:
//
//   1. The dirty range runs from the cleaner checkpoint to the first uncleanable offset: the
//      active segment, the high watermark, and segments younger than minCompactionLagMs bound it,
//      rounded down to a segment boundary. A run does nothing unless the dirty part is at least
//      minCleanableDirtyRatio of the cleanable log, or a kept tombstone's horizon has passed.
//   2. An offset map (key -> newest offset) is built over the dirty range.
//   3. Every segment before the end of the dirty range is rewritten, in groups that fit in one
//      segment: a record survives if no newer record has its key; a tombstone also needs its
//      batch's delete horizon (set to now + deleteRetentionMs when a cleaning first keeps it,
//      KIP-534) not to have passed. Batches keep their base offset, last offset delta, producer
//      fields and leader epoch; a batch losing all records is dropped unless it is its producer's
//      last (the producer state must be rebuildable). Untouched batches are copied byte for byte.
//   4. Each group's output is written as `.cleaned` files, fsynced, renamed `.swap`, the old
//      segments deleted, and the swap renamed into place (recovery finishes an interrupted swap).
//
// The work yields to the event loop every `chunkBytes`, so appends and reads continue; the swap
// itself is synchronous. A truncation, retention or close in between aborts the run.
import fs from "node:fs";
import path from "node:path";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import {
  BATCH_HEADER_BYTES,
  BATCH_LOG_OVERHEAD_BYTES,
  type DecodedBatch,
  type RecordInput,
  batchSizeAt,
  decodeBatch,
  encodeBatch,
} from "@tributary/records";
import { summarizeBatch } from "./batch-scanner.js";
import type { LogConfig } from "./config.js";
import { CheckpointFormatError, fsyncFolder, parseOffset, readCheckpointLines, writeCheckpointLines } from "./checkpoint-file.js";
import { CLEANED_SUFFIX, CLEANER_CHECKPOINT_FILE, LOG_SUFFIX, OFFSET_INDEX_SUFFIX, SWAP_SUFFIX, TIME_INDEX_SUFFIX, segmentFilePath } from "./file-names.js";
import type { StorageLogger } from "./logger.js";
import type { ProducerStateTable } from "./producer-state.js";
import { type BatchPlacement, LogSegment, type SegmentSettings } from "./segment.js";

const INT32_MAX = 0x7fff_ffff;
const DEFAULT_CHUNK_BYTES = 1024 * 1024;
/** Keys the offset map holds before the dirty range is cut short (at a segment end), as Kafka's dedupe buffer. */
const DEFAULT_MAX_KEYS = 1_000_000;
/** Output is written to the cleaned segment in writes of about this size. */
const WRITE_BUFFER_BYTES = 1024 * 1024;

/** What the partition log lends the cleaner: read access, and the two changes it may make. */
export interface CleanerHost {
  dir: string;
  settings: SegmentSettings;
  logger: StorageLogger;
  now(): number;
  config(): LogConfig;
  isClosed(): boolean;
  structureVersion(): number;
  segments(): readonly LogSegment[];
  logEndOffset(): number;
  producers(): ProducerStateTable;
  replaceSegments(oldSegments: readonly LogSegment[], replacement: LogSegment): void;
}

export interface CleanerOptions {
  highWatermark?: number;
  chunkBytes?: number;
  maxKeys?: number;
}

export interface CleanerStats {
  /** Where the dirty range began and ended ([first, end)); equal when there was nothing to do. */
  firstDirtyOffset: number;
  endOffset: number;
  /** Dirty bytes over cleanable bytes when the run started. */
  dirtyRatio: number;
  segmentsCleaned: number;
  bytesRead: number;
  bytesWritten: number;
  recordsRead: number;
  recordsRemoved: number;
  tombstonesRemoved: number;
  /** Why the run stopped early (close, truncation, retention), or null when it finished. */
  abortedBecause: string | null;
}

class CleanerAborted extends Error {}

export async function compactLog(host: CleanerHost, options: CleanerOptions): Promise<CleanerStats> {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const segments = [...host.segments()];
  const logStart = segments[0]!.baseOffset;
  const checkpoint = readCleanerCheckpoint(host.dir);
  const firstDirtyOffset = Math.max(checkpoint?.firstDirtyOffset ?? logStart, logStart);
  const cleanable = cleanableSegments(segments, host, options.highWatermark ?? host.logEndOffset());
  const cleanableBytes = cleanable.reduce((sum, entry) => sum + entry.segment.sizeBytes, 0);
  const dirtyBytes = cleanable.filter((entry) => entry.nextBaseOffset > firstDirtyOffset).reduce((sum, entry) => sum + entry.segment.sizeBytes, 0);
  const stats: CleanerStats = {
    firstDirtyOffset,
    endOffset: firstDirtyOffset,
    dirtyRatio: cleanableBytes === 0 ? 0 : dirtyBytes / cleanableBytes,
    segmentsCleaned: 0,
    bytesRead: 0,
    bytesWritten: 0,
    recordsRead: 0,
    recordsRemoved: 0,
    tombstonesRemoved: 0,
    abortedBecause: null,
  };
  const tombstonesDue = checkpoint?.tombstoneHorizonMs != null && host.now() >= checkpoint.tombstoneHorizonMs;
  const dirtyEnough = dirtyBytes > 0 && stats.dirtyRatio >= host.config().minCleanableDirtyRatio;
  if (cleanable.length === 0 || (!dirtyEnough && !tombstonesDue)) return stats;
  const guard = new RunGuard(host);
  try {
    const map = await buildOffsetMap(cleanable, firstDirtyOffset, options.maxKeys ?? DEFAULT_MAX_KEYS, chunkBytes, guard);
    stats.endOffset = map.endOffset;
    const toClean = cleanable.filter((entry) => entry.nextBaseOffset <= map.endOffset);
    const horizons = { earliestMs: null as number | null };
    for (const group of groupBySize(toClean, host.config())) {
      await cleanGroup(host, group, map.keys, chunkBytes, guard, stats, horizons);
    }
    writeCleanerCheckpoint(host.dir, { firstDirtyOffset: map.endOffset, tombstoneHorizonMs: horizons.earliestMs });
    host.logger.info({ log: host.settings.logName, ...stats }, "compacted log");
  } catch (error) {
    if (!(error instanceof CleanerAborted)) throw error;
    stats.abortedBecause = error.message;
    host.logger.info({ log: host.settings.logName, reason: error.message }, "compaction aborted");
  }
  return stats;
}

interface CleanableSegment {
  segment: LogSegment;
  nextBaseOffset: number;
}

/**
 * Segments before the active one that are wholly below the high watermark and older than
 * minCompactionLagMs (their newest batch). Stops at the first that is not.
 */
function cleanableSegments(segments: readonly LogSegment[], host: CleanerHost, highWatermark: number): CleanableSegment[] {
  const { minCompactionLagMs } = host.config();
  const nowMs = host.now();
  const result: CleanableSegment[] = [];
  for (let i = 0; i + 1 < segments.length; i++) {
    const segment = segments[i]!;
    const nextBaseOffset = segments[i + 1]!.baseOffset;
    if (nextBaseOffset > highWatermark) break;
    if (minCompactionLagMs > 0 && segment.largestTimestampMs() > nowMs - minCompactionLagMs) break;
    result.push({ segment, nextBaseOffset });
  }
  return result;
}

/** Aborts the run when the log changed under it (or closed) while it yielded. */
class RunGuard {
  private expectedVersion: number;

  constructor(private readonly host: CleanerHost) {
    this.expectedVersion = host.structureVersion();
  }

  async pause(): Promise<void> {
    await yieldToEventLoop();
    this.check();
  }

  check(): void {
    if (this.host.isClosed()) throw new CleanerAborted("the log was closed");
    if (this.host.structureVersion() !== this.expectedVersion) throw new CleanerAborted("segments were deleted or truncated meanwhile");
  }

  /** After this run's own swap, which changes the version legitimately. */
  acceptOwnChange(): void {
    this.expectedVersion = this.host.structureVersion();
  }
}

interface OffsetMap {
  keys: Map<string, number>;
  /** The dirty range ends here (a segment boundary). */
  endOffset: number;
}

async function buildOffsetMap(
  cleanable: readonly CleanableSegment[],
  firstDirtyOffset: number,
  maxKeys: number,
  chunkBytes: number,
  guard: RunGuard,
): Promise<OffsetMap> {
  const keys = new Map<string, number>();
  let endOffset = firstDirtyOffset;
  for (const { segment, nextBaseOffset } of cleanable) {
    if (nextBaseOffset <= firstDirtyOffset) continue;
    if (keys.size >= maxKeys) break; // the map is full: clean up to here, the rest next time
    await forEachBatch(segment, chunkBytes, guard, (batch) => {
      for (const record of batch.records) {
        if (record.offset >= firstDirtyOffset && record.key !== null) keys.set(record.key.toString("latin1"), record.offset);
      }
    });
    endOffset = nextBaseOffset;
  }
  return { keys, endOffset };
}

/** Decodes every batch of a segment in order, reading about `chunkBytes` at a time and yielding between chunks. */
async function forEachBatch(segment: LogSegment, chunkBytes: number, guard: RunGuard, visit: (batch: DecodedBatch, bytes: Buffer, pos: number) => void): Promise<number> {
  let position = 0;
  let bytesRead = 0;
  while (position < segment.sizeBytes) {
    guard.check();
    const chunk = readWholeBatches(segment, position, chunkBytes);
    let pos = 0;
    while (pos < chunk.length) {
      const batch = decodeBatch(chunk, pos);
      visit(batch, chunk, pos);
      pos += batch.header.sizeBytes;
    }
    position += chunk.length;
    bytesRead += chunk.length;
    await guard.pause();
  }
  return bytesRead;
}

/** Whole batches from `position`, about `chunkBytes` of them (at least one). */
function readWholeBatches(segment: LogSegment, position: number, chunkBytes: number): Buffer {
  const length = Math.min(Math.max(chunkBytes, BATCH_HEADER_BYTES), segment.sizeBytes - position);
  const bytes = segment.readBytes(position, length);
  let end = 0;
  while (end + BATCH_LOG_OVERHEAD_BYTES <= bytes.length) {
    const size = batchSizeAt(bytes, end);
    if (end + size > bytes.length) break;
    end += size;
  }
  if (end > 0) return bytes.subarray(0, end);
  return segment.readBytes(position, batchSizeAt(bytes, 0));
}

/** Consecutive segments whose total size, offset span and index sizes fit in one segment. */
function groupBySize(segments: readonly CleanableSegment[], config: LogConfig): CleanableSegment[][] {
  const groups: CleanableSegment[][] = [];
  let current: CleanableSegment[] = [];
  let bytes = 0;
  for (const entry of segments) {
    const first = current[0];
    const fits = first !== undefined
      && bytes + entry.segment.sizeBytes <= config.segmentBytes
      && entry.nextBaseOffset - 1 - first.segment.baseOffset <= INT32_MAX;
    if (!fits && current.length > 0) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += entry.segment.sizeBytes;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

async function cleanGroup(
  host: CleanerHost,
  group: readonly CleanableSegment[],
  keys: ReadonlyMap<string, number>,
  chunkBytes: number,
  guard: RunGuard,
  stats: CleanerStats,
  horizons: TombstoneHorizons,
): Promise<void> {
  const base = group[0]!.segment.baseOffset;
  const output = LogSegment.create(host.dir, base, host.settings, host.now(), CLEANED_SUFFIX);
  const writer = new CleanedWriter(output, host.now());
  const nowMs = host.now();
  const rules: RetainRules = { keys, nowMs, deleteRetentionMs: host.config().deleteRetentionMs, producers: host.producers(), horizons };
  try {
    for (const { segment } of group) {
      stats.bytesRead += await forEachBatch(segment, chunkBytes, guard, (batch, bytes, pos) => {
        writer.add(retainedBatch(batch, bytes, pos, rules, stats));
      });
    }
    writer.finish();
    guard.check();
  } catch (error) {
    output.delete();
    throw error;
  }
  stats.bytesWritten += output.sizeBytes;
  stats.segmentsCleaned += group.length;
  swapIn(host, group.map((entry) => entry.segment), output);
  guard.acceptOwnChange();
}

interface RetainRules {
  keys: ReadonlyMap<string, number>;
  nowMs: number;
  deleteRetentionMs: number;
  producers: ProducerStateTable;
  horizons: TombstoneHorizons;
}

/** The earliest delete horizon among the tombstones kept, so a later run knows when to drop them. */
interface TombstoneHorizons {
  earliestMs: number | null;
}

/** The bytes this batch becomes: itself, a re-encoded subset, or null when it goes entirely. */
function retainedBatch(batch: DecodedBatch, bytes: Buffer, pos: number, rules: RetainRules, stats: CleanerStats): Buffer | null {
  const header = batch.header;
  const horizonPassed = batch.deleteHorizonMs !== null && rules.nowMs >= batch.deleteHorizonMs;
  const kept: RecordInput[] = [];
  let hasTombstone = false;
  for (const record of batch.records) {
    stats.recordsRead++;
    const newest = record.key === null ? undefined : rules.keys.get(record.key.toString("latin1"));
    if (newest !== undefined && record.offset < newest) {
      stats.recordsRemoved++;
      continue;
    }
    if (record.value === null) {
      if (horizonPassed) {
        stats.tombstonesRemoved++;
        continue;
      }
      hasTombstone = true;
    }
    kept.push({ key: record.key, value: record.value, timestampMs: record.timestampMs, headers: record.headers, offsetDelta: record.offset - header.baseOffset });
  }
  const needsHorizon = hasTombstone && batch.deleteHorizonMs === null;
  const horizonMs = batch.deleteHorizonMs ?? rules.nowMs + rules.deleteRetentionMs;
  if (hasTombstone) rules.horizons.earliestMs = Math.min(rules.horizons.earliestMs ?? horizonMs, horizonMs);
  if (kept.length === batch.records.length && !needsHorizon) return bytes.subarray(pos, pos + header.sizeBytes);
  if (kept.length === 0 && !isProducersLastBatch(rules.producers, header.producerId, header.baseOffset + header.lastOffsetDelta)) return null;
  return encodeBatch({
    records: kept,
    baseOffset: header.baseOffset,
    partitionLeaderEpoch: header.partitionLeaderEpoch,
    compression: batch.compression,
    timestampType: batch.timestampType,
    producerId: header.producerId,
    producerEpoch: header.producerEpoch,
    baseSequence: header.baseSequence,
    lastOffsetDelta: header.lastOffsetDelta,
    ...(batch.timestampType === "log-append" ? { maxTimestampMs: header.maxTimestamp } : {}),
    ...(kept.length === 0 ? { baseTimestampMs: header.baseTimestamp, maxTimestampMs: header.maxTimestamp } : {}),
    ...(hasTombstone ? { deleteHorizonMs: horizonMs } : {}),
  });
}

function isProducersLastBatch(producers: ProducerStateTable, producerId: number, lastOffset: number): boolean {
  if (producerId < 0) return false;
  const entry = producers.entry(producerId);
  return entry !== undefined && entry.batches[entry.batches.length - 1]?.lastOffset === lastOffset;
}

/** Collects retained batches and appends them to the cleaned segment in large writes. */
class CleanedWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(
    private readonly output: LogSegment,
    private readonly nowMs: number,
  ) {}

  add(batch: Buffer | null): void {
    if (batch === null) return;
    this.pending.push(batch);
    this.pendingBytes += batch.length;
    if (this.pendingBytes >= WRITE_BUFFER_BYTES) this.flushPending();
  }

  finish(): void {
    this.flushPending();
    this.output.seal(true);
    this.output.flushSync();
  }

  private flushPending(): void {
    if (this.pending.length === 0) return;
    const bytes = Buffer.concat(this.pending, this.pendingBytes);
    const placements: BatchPlacement[] = [];
    for (let pos = 0; pos < bytes.length;) {
      const batch = summarizeBatch(bytes, pos, pos)!;
      placements.push({ offsetInBuffer: pos, sizeBytes: batch.sizeBytes, baseOffset: batch.baseOffset, lastOffset: batch.lastOffset, maxTimestampMs: batch.maxTimestampMs });
      pos += batch.sizeBytes;
    }
    this.output.append(bytes, placements, this.nowMs);
    this.pending = [];
    this.pendingBytes = 0;
  }
}

/**
 * Replaces `oldSegments` with the cleaned `output` (same base offset): rename to .swap (the point
 * after which recovery completes the swap), delete the old files, rename into place, reopen.
 */
function swapIn(host: CleanerHost, oldSegments: readonly LogSegment[], output: LogSegment): void {
  const base = output.baseOffset;
  output.close();
  const suffixes = [LOG_SUFFIX, OFFSET_INDEX_SUFFIX, TIME_INDEX_SUFFIX];
  for (const suffix of suffixes) fs.renameSync(segmentFilePath(host.dir, base, suffix + CLEANED_SUFFIX), segmentFilePath(host.dir, base, suffix + SWAP_SUFFIX));
  fsyncFolder(host.dir);
  for (const segment of oldSegments) segment.delete();
  // Index swap files go first: a crash before the log's rename leaves a .log.swap that recovery completes.
  for (const suffix of [OFFSET_INDEX_SUFFIX, TIME_INDEX_SUFFIX, LOG_SUFFIX]) {
    fs.renameSync(segmentFilePath(host.dir, base, suffix + SWAP_SUFFIX), segmentFilePath(host.dir, base, suffix));
  }
  fsyncFolder(host.dir);
  host.replaceSegments(oldSegments, LogSegment.open(host.dir, base, host.settings, host.now()));
}

/** Where the next run's dirty range starts, and when the earliest kept tombstone may go. */
export interface CleanerCheckpoint {
  firstDirtyOffset: number;
  tombstoneHorizonMs: number | null;
}

/** `cleaner-offset-checkpoint`: its value, or null when absent or unreadable (everything is then dirty). */
export function readCleanerCheckpoint(dir: string): CleanerCheckpoint | null {
  const filePath = path.join(dir, CLEANER_CHECKPOINT_FILE);
  try {
    const lines = readCheckpointLines(filePath);
    if (lines === null) return null;
    if (lines.length !== 2) throw new CheckpointFormatError(`${filePath} should hold 2 lines, has ${lines.length}`);
    const horizon = parseOffset(lines[1]!, filePath);
    return { firstDirtyOffset: parseOffset(lines[0]!, filePath), tombstoneHorizonMs: horizon < 0 ? null : horizon };
  } catch (error) {
    if (error instanceof CheckpointFormatError) return null;
    throw error;
  }
}

export function writeCleanerCheckpoint(dir: string, checkpoint: CleanerCheckpoint): void {
  writeCheckpointLines(path.join(dir, CLEANER_CHECKPOINT_FILE), [String(checkpoint.firstDirtyOffset), String(checkpoint.tombstoneHorizonMs ?? -1)], true);
}
