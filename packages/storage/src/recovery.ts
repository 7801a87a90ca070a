// Opening a partition folder: from whatever a crash left on disk to a log holding every fully
// written batch and nothing else.
//
//   1. The folder must be usable (exists or can be made, is a folder, is writable).
//   2. Leftovers of interrupted operations are settled: half-written checkpoints and cleaner
//      output are dropped, a cleaner swap that was ready is completed, orphan index files go.
//   3. Without the clean-shutdown marker, every segment that may hold unflushed bytes (those at
//      or past the recovery point) is checked batch by batch (length, magic, CRC, offsets in
//      order); the first failure cuts the log there, and later segments are dropped with it.
//      Their indexes are rebuilt from the batches. Older segments' indexes are checked lazily.
//   4. The leader epoch cache is reconciled with what the log holds, and the producer state is
//      rebuilt from the newest usable snapshot plus the batch headers after it.
import fs from "node:fs";
import path from "node:path";
import { HeaderReader } from "./batch-scanner.js";
import { fsyncFolder } from "./checkpoint-file.js";
import { StorageError } from "./errors.js";
import { removeIfPresent } from "./file-io.js";
import {
  CLEANED_SUFFIX,
  LOG_SUFFIX,
  OFFSET_INDEX_SUFFIX,
  SWAP_SUFFIX,
  TEMP_SUFFIX,
  TIME_INDEX_SUFFIX,
  offsetFromFileName,
  segmentFilePath,
} from "./file-names.js";
import { LeaderEpochCache } from "./leader-epoch-cache.js";
import type { PartitionCheckpoints } from "./log-checkpoints.js";
import type { StorageLogger } from "./logger.js";
import { deleteProducerSnapshot, listProducerSnapshots, readProducerSnapshot } from "./producer-snapshot.js";
import { ProducerStateTable } from "./producer-state.js";
import { LogSegment, type SegmentSettings } from "./segment.js";

export interface LoadedLog {
  segments: LogSegment[];
  logStartOffset: number;
  recoveryPoint: number;
  epochs: LeaderEpochCache;
  /** These differ from their checkpoint files, which must be written. */
  epochsChanged: boolean;
  logStartChanged: boolean;
  recoveryPointChanged: boolean;
  producers: ProducerStateTable;
  hadCleanShutdown: boolean;
}

const PROBE_FILE = ".writable-probe";

/**
 * Creates the folder if needed and proves it can be written, with a message that says what is
 * wrong. A folder it just created is not probed: creating it was the proof.
 */
export function ensureWritableFolder(dir: string): void {
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(dir, { throwIfNoEntry: false });
    if (stat === undefined) {
      fs.mkdirSync(dir, { recursive: true });
      return;
    }
  } catch (error) {
    throw new StorageError("KAFKA_STORAGE_ERROR", `log folder ${dir} cannot be created: ${(error as Error).message}`, { reason: "not-writable", cause: error });
  }
  if (!stat.isDirectory()) throw new StorageError("KAFKA_STORAGE_ERROR", `log folder ${dir} is not a folder`, { reason: "not-a-folder" });
  const probe = path.join(dir, PROBE_FILE);
  try {
    fs.accessSync(dir, fs.constants.R_OK | fs.constants.W_OK | fs.constants.X_OK);
    fs.writeFileSync(probe, "");
    fs.unlinkSync(probe);
  } catch (error) {
    throw new StorageError("KAFKA_STORAGE_ERROR", `log folder ${dir} is not writable: ${(error as Error).message}`, { reason: "not-writable", cause: error });
  }
}

export function loadLog(dir: string, checkpoints: PartitionCheckpoints, settings: SegmentSettings, nowMs: number, logger: StorageLogger): LoadedLog {
  const logName = settings.logName;
  const isNewLog = fs.readdirSync(dir).length === 0;
  const hadCleanShutdown = checkpoints.hasCleanShutdownMarker();
  settleLeftovers(dir, logger, logName);

  const logStartRead = checkpoints.readLogStartOffset();
  let logStartOffset = logStartRead ?? 0;
  const recoveryPointRead = checkpoints.readRecoveryPoint();

  const bases = listSegmentBases(dir);
  let segments = bases.map((base) => LogSegment.open(dir, base, settings, nowMs));
  if (segments.length === 0) {
    segments = [LogSegment.create(dir, logStartOffset, settings, nowMs)];
  }
  segments = dropSegmentsBelowLogStart(segments, logStartOffset, logger, logName);

  const epochsRead = checkpoints.readLeaderEpochs();
  const epochs = epochsRead ?? new LeaderEpochCache();
  let epochsChanged = epochsRead === null;
  if (!hadCleanShutdown) {
    const recoveryPoint = recoveryPointRead ?? 0;
    const recovered = recoverUnflushedSegments(segments, recoveryPoint, epochs, logger, logName);
    segments = recovered.segments;
    epochsChanged ||= recovered.epochsChanged;
  }
  if (epochsRead === null) {
    // No usable checkpoint: rebuild the cache from every batch header (recovery saw only the tail).
    epochs.clear();
    for (const segment of segments) segment.forEachBatch(segment.baseOffset, (batch) => void assignEpoch(epochs, batch.partitionLeaderEpoch, batch.baseOffset));
  }
  const logEndOffset = segments[segments.length - 1]!.nextOffset;
  logStartOffset = Math.max(logStartOffset, segments[0]!.baseOffset);
  if (logStartOffset > logEndOffset) {
    logger.warn({ log: logName, logStartOffset, logEndOffset }, "log start offset checkpoint is past the log end; using the log end");
    logStartOffset = logEndOffset;
  }
  epochsChanged = epochs.truncateFromEnd(logEndOffset) || epochsChanged;
  epochsChanged = epochs.truncateFromStart(logStartOffset) || epochsChanged;

  const producers = loadProducerState(dir, segments, logEndOffset, logger, logName);
  producers.removeBefore(logStartOffset);

  const recoveryPoint = hadCleanShutdown ? logEndOffset : Math.min(recoveryPointRead ?? 0, logEndOffset);
  if (hadCleanShutdown) checkpoints.removeCleanShutdownMarker();
  if (isNewLog) {
    // Every checkpoint's absence already means what a new log would write into it (log start
    // and recovery point 0, no epochs): none is written until something moves it. A broker
    // creating a topic's partitions, on its one thread, saves three file creations for each.
    return { segments, logStartOffset, recoveryPoint, epochs, epochsChanged: false, producers, hadCleanShutdown, logStartChanged: false, recoveryPointChanged: false };
  }
  return {
    segments, logStartOffset, recoveryPoint, epochs, epochsChanged, producers, hadCleanShutdown,
    logStartChanged: logStartOffset !== logStartRead,
    recoveryPointChanged: recoveryPoint !== recoveryPointRead,
  };
}

/** Drops temporary files, finishes or drops cleaner output, and removes index files without a log. */
function settleLeftovers(dir: string, logger: StorageLogger, logName: string): void {
  const names = fs.readdirSync(dir);
  for (const name of names) {
    if (name.endsWith(TEMP_SUFFIX) || name.endsWith(CLEANED_SUFFIX)) {
      logger.info({ log: logName, file: name }, "removing a file an interrupted write left behind");
      removeIfPresent(path.join(dir, name));
    }
  }
  for (const name of names) {
    const swapBase = offsetFromFileName(name, LOG_SUFFIX + SWAP_SUFFIX);
    if (swapBase !== null) completeSwap(dir, swapBase, logger, logName);
  }
  const logBases = new Set(listSegmentBases(dir));
  for (const name of fs.readdirSync(dir)) {
    const base = offsetFromFileName(name, OFFSET_INDEX_SUFFIX) ?? offsetFromFileName(name, TIME_INDEX_SUFFIX);
    if (base !== null && !logBases.has(base)) removeIfPresent(path.join(dir, name));
    if (name.endsWith(SWAP_SUFFIX)) removeIfPresent(path.join(dir, name)); // index swap files whose log swap is gone
  }
}

/**
 * A `.swap` segment is complete cleaner output (it is fsynced before being renamed to .swap): it
 * replaces the segments whose base offsets fall within its offsets. Segments of the cleaned group
 * past its last offset, if any survive, held only records compaction removed, and keeping them
 * is harmless (the next compaction removes them again).
 */
function completeSwap(dir: string, swapBase: number, logger: StorageLogger, logName: string): void {
  const swapLog = segmentFilePath(dir, swapBase, LOG_SUFFIX + SWAP_SUFFIX);
  const lastOffset = lastOffsetOfFile(swapLog) ?? swapBase;
  for (const base of listSegmentBases(dir)) {
    if (base < swapBase || base > lastOffset) continue;
    for (const suffix of [LOG_SUFFIX, OFFSET_INDEX_SUFFIX, TIME_INDEX_SUFFIX]) removeIfPresent(segmentFilePath(dir, base, suffix));
  }
  for (const suffix of [OFFSET_INDEX_SUFFIX, TIME_INDEX_SUFFIX, LOG_SUFFIX]) {
    const from = segmentFilePath(dir, swapBase, suffix + SWAP_SUFFIX);
    if (fs.existsSync(from)) fs.renameSync(from, segmentFilePath(dir, swapBase, suffix));
  }
  fsyncFolder(dir);
  logger.info({ log: logName, segment: swapBase, lastOffset }, "completed an interrupted compaction swap");
}

function lastOffsetOfFile(filePath: string): number | null {
  const fd = fs.openSync(filePath, "r");
  try {
    const reader = new HeaderReader(fd, fs.fstatSync(fd).size);
    let last: number | null = null;
    for (let batch = reader.readAt(0); batch !== null; batch = reader.readAt(batch.position + batch.sizeBytes)) last = batch.lastOffset;
    return last;
  } finally {
    fs.closeSync(fd);
  }
}

function listSegmentBases(dir: string): number[] {
  return fs.readdirSync(dir)
    .map((name) => offsetFromFileName(name, LOG_SUFFIX))
    .filter((base): base is number => base !== null)
    .sort((a, b) => a - b);
}

/** Segments whose every offset is below the log start (the next segment starts at or before it). */
function dropSegmentsBelowLogStart(segments: LogSegment[], logStartOffset: number, logger: StorageLogger, logName: string): LogSegment[] {
  let drop = 0;
  while (drop + 1 < segments.length && segments[drop + 1]!.baseOffset <= logStartOffset) drop++;
  for (const segment of segments.slice(0, drop)) {
    logger.info({ log: logName, segment: segment.baseOffset, logStartOffset }, "deleting a segment below the log start offset");
    segment.delete();
  }
  return segments.slice(drop);
}

function recoverUnflushedSegments(
  segments: LogSegment[],
  recoveryPoint: number,
  epochs: LeaderEpochCache,
  logger: StorageLogger,
  logName: string,
): { segments: LogSegment[]; epochsChanged: boolean } {
  let epochsChanged = false;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const next = segments[i + 1];
    if (next !== undefined && next.baseOffset <= recoveryPoint) continue; // wholly flushed before the crash
    const { stop, truncatedBytes } = segment.recover((batch) => {
      epochsChanged = assignEpoch(epochs, batch.partitionLeaderEpoch, batch.baseOffset) || epochsChanged;
    });
    if (stop.kind === "end" && (next === undefined || segment.nextOffset <= next.baseOffset)) continue;
    const why = stop.kind === "bad-batch" ? stop.problem.message : stop.kind === "bad-offset" ? stop.message : "its offsets run into the next segment";
    logger.warn({ log: logName, segment: segment.baseOffset, truncatedBytes, reason: why, droppedSegments: segments.length - i - 1 },
      "recovery cut a torn or corrupt tail; later segments are dropped with it");
    for (const later of segments.slice(i + 1)) later.delete();
    return { segments: segments.slice(0, i + 1), epochsChanged };
  }
  return { segments, epochsChanged };
}

export function assignEpoch(epochs: LeaderEpochCache, epoch: number, startOffset: number): boolean {
  return epoch >= 0 && epochs.assign(epoch, startOffset);
}

/**
 * The newest usable snapshot at or below the log end, plus every idempotent batch after it.
 * Snapshots past the log end (the log was cut after they were written) are deleted.
 */
export function loadProducerState(dir: string, segments: readonly LogSegment[], logEndOffset: number, logger: StorageLogger, logName: string): ProducerStateTable {
  const producers = new ProducerStateTable();
  let replayFrom = segments[0]!.baseOffset;
  for (const offset of listProducerSnapshots(dir).reverse()) {
    if (offset > logEndOffset) {
      deleteProducerSnapshot(dir, offset);
      continue;
    }
    const entries = readProducerSnapshot(dir, offset);
    if (typeof entries === "string") {
      logger.warn({ log: logName, snapshot: offset, reason: entries }, "producer snapshot is unusable; deleting it");
      deleteProducerSnapshot(dir, offset);
      continue;
    }
    for (const entry of entries) producers.replace(entry);
    replayFrom = Math.max(offset, replayFrom);
    break;
  }
  replayProducerBatches(producers, segments, replayFrom);
  return producers;
}

/** Applies every idempotent batch at or after `fromOffset` to the table. */
export function replayProducerBatches(producers: ProducerStateTable, segments: readonly LogSegment[], fromOffset: number): void {
  for (let i = 0; i < segments.length; i++) {
    const next = segments[i + 1];
    if (next !== undefined && next.baseOffset <= fromOffset) continue;
    segments[i]!.forEachBatch(fromOffset, (batch) => {
      if (batch.producerId < 0) return;
      producers.apply({
        producerId: batch.producerId,
        producerEpoch: batch.producerEpoch,
        baseSequence: batch.baseSequence,
        lastOffsetDelta: batch.lastOffset - batch.baseOffset,
        firstOffset: batch.baseOffset,
        lastOffset: batch.lastOffset,
        maxTimestampMs: batch.maxTimestampMs,
      });
    });
  }
}
