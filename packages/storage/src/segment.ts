// One log segment: `<base>.log` holding whole batches back to back, and its two sparse indexes.
//
// The segment owns its file descriptor and its in-memory indexes. Appends are one positional
// write of the caller's bytes (into the page cache; fsync is the log's decision), followed by
// index entries computed from the batch summaries the caller already read. Indexes of segments
// opened from disk are loaded lazily, checked, and rebuilt from the log when they do not match.
import fs from "node:fs";
import { BATCH_HEADER_BYTES, batchSizeAt, lastOffsetDeltaAt } from "@tributary/records";
import { assert } from "./assert.js";
import { type BatchSummary, HeaderReader, type RecoveryStop, int64At, readFully, scanForRecovery } from "./batch-scanner.js";
import { diskError } from "./errors.js";
import { fsyncFileAsync, fsyncFileSync, readWholeFileOrNull, removeIfPresent, writeAllAt, writeWholeFile } from "./file-io.js";
import { LOG_SUFFIX, OFFSET_INDEX_SUFFIX, TIME_INDEX_SUFFIX, segmentFilePath } from "./file-names.js";
import type { StorageLogger } from "./logger.js";
import { OFFSET_INDEX_ENTRY_BYTES, OffsetIndex } from "./offset-index.js";
import { pageCacheDropper } from "./page-cache.js";
import { TIME_INDEX_ENTRY_BYTES, TimeIndex } from "./time-index.js";

const INT32_MAX = 0x7fff_ffff;
const EMPTY = Buffer.alloc(0);

/** Settings shared by the segments of one log; the log updates them when its config changes. */
export interface SegmentSettings {
  indexIntervalBytes: number;
  segmentIndexBytes: number;
  logger: StorageLogger;
  /** Log context (topic-partition folder) for log lines. */
  logName: string;
  /** After each background writeback, drop the bytes it wrote from the page cache (page-cache.ts). */
  dropWrittenPages: boolean;
}

/** The page size posix_fadvise works in: it drops only whole pages inside the range it is given. */
const PAGE_BYTES = 4096;

/** Where one appended batch sits in the appended buffer, and the header facts indexing needs. */
export interface BatchPlacement {
  offsetInBuffer: number;
  sizeBytes: number;
  baseOffset: number;
  lastOffset: number;
  maxTimestampMs: number;
}

export class LogSegment {
  private fd: number;
  private sizeBytesValue: number;
  /** Offset after the last batch (or the base offset when empty); null until the tail is loaded. */
  private nextOffsetValue: number | null;
  private maxTimestampSoFar = -1;
  private offsetOfMaxTimestampSoFar: number;
  private bytesSinceLastIndexEntry = 0;
  private offsetIndex: OffsetIndex | null = null;
  private timeIndex: TimeIndex | null = null;
  /** The in-memory indexes have entries the index files do not. */
  private indexFilesStale = false;
  /** The index files as written have been fsynced. */
  private indexFilesDurable = true;
  /** When the segment started filling, for segmentMs; null while empty. */
  private rollAnchorMs: number | null = null;
  /** Bumped by every write and truncation, so an fsync that started earlier is not taken for a newer one. */
  private writeGeneration = 0;
  private flushedGeneration = 0;
  private pendingFsyncs = 0;
  /** A background writeback (startWriteback) is on the thread pool. */
  private writebackInFlight = false;
  /** Pages below this byte were dropped from the page cache after a writeback (dropWrittenPages). */
  private pagesDroppedBelowBytes = 0;
  /** Bumped when the file is cut, so a drop that started before a cut does not count bytes written again after it. */
  private cuts = 0;
  private closeRequested = false;
  private fdClosed = false;
  private deletedValue = false;

  private constructor(
    readonly dir: string,
    readonly baseOffset: number,
    private readonly settings: SegmentSettings,
    fd: number,
    sizeBytes: number,
    nextOffset: number | null,
    /** When this object was made: stands in for when a segment read from disk started filling. */
    private readonly openedAtMs: number,
    /** Appended to every file name: the cleaner writes its output as `.cleaned` files. */
    private readonly fileSuffix: string,
  ) {
    this.fd = fd;
    this.sizeBytesValue = sizeBytes;
    this.nextOffsetValue = nextOffset;
    this.offsetOfMaxTimestampSoFar = baseOffset;
  }

  /** A new empty segment; replaces any files already at this base offset. */
  static create(dir: string, baseOffset: number, settings: SegmentSettings, nowMs: number, fileSuffix = ""): LogSegment {
    const logPath = segmentFilePath(dir, baseOffset, LOG_SUFFIX + fileSuffix);
    let fd: number;
    try {
      fd = fs.openSync(logPath, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o644);
      removeIfPresent(segmentFilePath(dir, baseOffset, OFFSET_INDEX_SUFFIX + fileSuffix));
      removeIfPresent(segmentFilePath(dir, baseOffset, TIME_INDEX_SUFFIX + fileSuffix));
    } catch (error) {
      throw diskError("cannot create segment", logPath, error);
    }
    const segment = new LogSegment(dir, baseOffset, settings, fd, 0, baseOffset, nowMs, fileSuffix);
    segment.offsetIndex = segment.newOffsetIndex();
    segment.timeIndex = segment.newTimeIndex();
    segment.indexFilesStale = true; // it has no index files yet, not even empty ones
    return segment;
  }

  /** An existing segment; its indexes and tail state load when first needed. */
  static open(dir: string, baseOffset: number, settings: SegmentSettings, nowMs: number): LogSegment {
    const logPath = segmentFilePath(dir, baseOffset, LOG_SUFFIX);
    try {
      const fd = fs.openSync(logPath, fs.constants.O_RDWR);
      return new LogSegment(dir, baseOffset, settings, fd, fs.fstatSync(fd).size, null, nowMs, "");
    } catch (error) {
      throw diskError("cannot open segment", logPath, error);
    }
  }

  get logPath(): string {
    return this.filePath(LOG_SUFFIX);
  }

  /** The path of one of the segment's files (`.log`, `.index`, `.timeindex`). */
  filePath(suffix: string): string {
    return segmentFilePath(this.dir, this.baseOffset, suffix + this.fileSuffix);
  }

  get sizeBytes(): number {
    return this.sizeBytesValue;
  }

  get isDeleted(): boolean {
    return this.deletedValue;
  }

  /** Every byte written so far has been fsynced. */
  get isFlushed(): boolean {
    return this.flushedGeneration === this.writeGeneration;
  }

  /** The offset after the segment's last batch (its base offset when empty). */
  get nextOffset(): number {
    if (this.nextOffsetValue === null) this.loadTail();
    return this.nextOffsetValue!;
  }

  /** The largest batch timestamp in the segment, or -1 when no batch has one. */
  largestTimestampMs(): number {
    if (this.nextOffsetValue === null) this.loadTail();
    return this.maxTimestampSoFar;
  }

  /** The log file's modification time (retention's fallback when batches carry no timestamps). */
  lastModifiedMs(): number {
    try {
      return fs.fstatSync(this.fd).mtimeMs;
    } catch (error) {
      throw diskError("cannot stat", this.logPath, error);
    }
  }

  /** When the segment started filling (for segmentMs), or null while it is empty. */
  rollAnchor(): number | null {
    if (this.nextOffsetValue === null) this.loadTail();
    return this.rollAnchorMs;
  }

  /** Whether appending `incomingBytes` ending at `lastOffset` would overflow a size or index limit. */
  isFullFor(incomingBytes: number, lastOffset: number, segmentBytes: number): boolean {
    if (this.sizeBytesValue === 0) return false;
    const offsetIndex = this.loadedOffsetIndex();
    const timeIndex = this.loadedTimeIndex();
    return this.sizeBytesValue + incomingBytes > segmentBytes
      || lastOffset - this.baseOffset > INT32_MAX
      || offsetIndex.isFull
      // One slot stays free for the entry seal() adds when the segment stops being active.
      || timeIndex.entryCount >= timeIndex.maxEntries - 1;
  }

  /**
   * Writes `bytes` (whole batches, already validated and stamped) at the end of the segment and
   * indexes them. All or nothing: on a failed write the file is cut back and a StorageError thrown.
   */
  append(bytes: Buffer, batches: readonly BatchPlacement[], nowMs: number): void {
    const position = this.sizeBytesValue;
    const first = batches[0];
    assert(first !== undefined, "append needs at least one batch");
    assert(first.baseOffset >= this.nextOffset, () => `segment ${this.baseOffset}: offset ${first.baseOffset} is below its end ${this.nextOffset}`);
    writeAllAt(this.fd, bytes, position, this.logPath);
    if (position === 0) this.rollAnchorMs = nowMs;
    for (const batch of batches) {
      this.indexBatch(position + batch.offsetInBuffer, batch.sizeBytes, batch.baseOffset, batch.maxTimestampMs);
    }
    this.sizeBytesValue += bytes.length;
    this.nextOffsetValue = batches[batches.length - 1]!.lastOffset + 1;
    this.writeGeneration++;
    this.indexFilesStale = true;
  }

  /**
   * The first batch whose last offset is >= `targetOffset`, or null when the segment has none:
   * an index lookup, then a walk over at most one index interval of headers.
   */
  findBatch(targetOffset: number): BatchSummary | null {
    const found = this.tryFindBatch(targetOffset);
    if (found !== "index-mismatch") return found;
    this.settings.logger.warn({ log: this.settings.logName, segment: this.baseOffset }, "offset index does not match the log; rebuilding it");
    this.rebuildIndexes();
    const retried = this.tryFindBatch(targetOffset);
    assert(retried !== "index-mismatch", `segment ${this.baseOffset}: a rebuilt index still does not match`);
    return retried;
  }

  /**
   * Whole batches from `first` on, as one buffer: at most `maxBytes` (but all of `first` when
   * `minOneBatch`), none whose last offset is at or past `maxOffsetExclusive`.
   */
  read(first: BatchSummary, maxBytes: number, maxOffsetExclusive: number, minOneBatch: boolean): Buffer {
    if (first.lastOffset >= maxOffsetExclusive) return EMPTY;
    if (first.sizeBytes > maxBytes) {
      if (!minOneBatch) return EMPTY;
      const whole = Buffer.allocUnsafe(first.sizeBytes);
      const got = readFully(this.fd, whole, 0, whole.length, first.position);
      assert(got === whole.length, () => `segment ${this.baseOffset}: batch at ${first.position} is cut short`);
      return whole;
    }
    // Do not read far past the high watermark: the first indexed batch at or after it bounds the range.
    const endBound = this.loadedOffsetIndex().positionAtOrAfter(maxOffsetExclusive) ?? this.sizeBytesValue;
    const length = Math.min(maxBytes, Math.max(endBound, first.position + first.sizeBytes) - first.position, this.sizeBytesValue - first.position);
    const bytes = Buffer.allocUnsafe(length);
    const got = readFully(this.fd, bytes, 0, length, first.position);
    let end = 0;
    while (end + BATCH_HEADER_BYTES <= got) {
      const size = batchSizeAt(bytes, end);
      if (size < BATCH_HEADER_BYTES || end + size > got) break;
      const lastOffset = int64At(bytes, end) + lastOffsetDeltaAt(bytes, end);
      if (lastOffset >= maxOffsetExclusive) break;
      end += size;
    }
    assert(end >= first.sizeBytes, () => `segment ${this.baseOffset}: batch at ${first.position} vanished during a read`);
    return end === got ? bytes : bytes.subarray(0, end);
  }

  /** The first batch (at or after `fromPosition`, when given) whose max timestamp is >= `targetMs`, or null. */
  findBatchByTimestamp(targetMs: number, fromPosition: number | null = null): BatchSummary | null {
    if (this.largestTimestampMs() < targetMs) return null;
    const reader = new HeaderReader(this.fd, this.sizeBytesValue);
    let batch = fromPosition === null ? this.findBatch(this.loadedTimeIndex().lookup(targetMs)) : reader.readAt(fromPosition);
    while (batch !== null && batch.maxTimestampMs < targetMs) batch = reader.readAt(batch.position + batch.sizeBytes);
    return batch;
  }

  /** Walks every batch header in order (trusted data); used for producer-state and epoch replay. */
  forEachBatch(fromOffset: number, visit: (batch: BatchSummary) => void): void {
    const reader = new HeaderReader(this.fd, this.sizeBytesValue);
    let batch = this.findBatch(fromOffset);
    while (batch !== null) {
      visit(batch);
      batch = reader.readAt(batch.position + batch.sizeBytes);
    }
  }

  /** Reads `length` bytes at `position` (the cleaner reads whole batches this way). */
  readBytes(position: number, length: number): Buffer {
    const bytes = Buffer.allocUnsafe(length);
    const got = readFully(this.fd, bytes, 0, length, position);
    return got === length ? bytes : bytes.subarray(0, got);
  }

  /**
   * Checks every batch (length, magic, CRC, offsets in order), cuts the file at the first that
   * fails, and rebuilds both indexes from what remains. `visit` sees each good batch.
   */
  recover(visit: (batch: BatchSummary) => void): { stop: RecoveryStop; truncatedBytes: number } {
    this.resetIndexState();
    let expectedNext = this.baseOffset;
    const stop = scanForRecovery(this.fd, this.sizeBytesValue, (batch) => {
      if (batch.baseOffset < expectedNext) return `batch offset ${batch.baseOffset} is below ${expectedNext}`;
      if (batch.lastOffset - this.baseOffset > INT32_MAX) return `batch offset ${batch.lastOffset} is too far from the segment base`;
      this.indexBatch(batch.position, batch.sizeBytes, batch.baseOffset, batch.maxTimestampMs);
      expectedNext = batch.lastOffset + 1;
      visit(batch);
      return null;
    });
    const validBytes = stop.kind === "end" ? this.sizeBytesValue : stop.position;
    const truncatedBytes = this.sizeBytesValue - validBytes;
    if (truncatedBytes > 0) this.cutFileAt(validBytes);
    this.nextOffsetValue = expectedNext;
    this.rollAnchorMs = this.rollAnchorFromFile();
    this.indexFilesStale = true;
    // What was read back may never have reached the disk (a machine crash): flush it again.
    this.writeGeneration++;
    return { stop, truncatedBytes };
  }

  /**
   * Removes every batch whose last offset is >= `offset` (a batch holding `offset` goes whole).
   * Returns the bytes removed.
   */
  truncateTo(offset: number): number {
    const cut = this.findBatch(offset);
    if (cut === null) return 0;
    const removed = this.sizeBytesValue - cut.position;
    this.loadedOffsetIndex().truncateToPosition(cut.position);
    this.loadedTimeIndex().truncateToOffset(cut.baseOffset);
    this.cutFileAt(cut.position);
    this.indexFilesStale = true;
    this.loadTail();
    return removed;
  }

  /** Called when the segment stops being the active one: final time index entry, index files written. */
  seal(durable: boolean): void {
    if (this.maxTimestampSoFar >= 0 && this.loadedTimeIndex().maybeAppend(this.maxTimestampSoFar, this.offsetOfMaxTimestampSoFar)) {
      this.indexFilesStale = true;
    }
    this.writeIndexFiles(durable);
  }

  /** Writes the index files if memory is ahead of them; `durable` fsyncs them too. */
  writeIndexFiles(durable: boolean): void {
    if (!this.indexFilesStale || this.deletedValue) return;
    writeWholeFile(this.filePath(OFFSET_INDEX_SUFFIX), this.loadedOffsetIndex().toFileBytes(), durable);
    writeWholeFile(this.filePath(TIME_INDEX_SUFFIX), this.loadedTimeIndex().toFileBytes(), durable);
    this.indexFilesStale = false;
    this.indexFilesDurable = durable;
  }

  /** fsyncs the log file, and index files written since their last fsync, now (flush.messages / flush.ms / close). */
  flushSync(): void {
    if (this.fdClosed) return;
    if (!this.isFlushed) {
      try {
        fs.fdatasyncSync(this.fd);
      } catch (error) {
        throw diskError("cannot fsync", this.logPath, error);
      }
      this.flushedGeneration = this.writeGeneration;
    }
    if (!this.indexFilesStale && !this.indexFilesDurable) {
      for (const suffix of [OFFSET_INDEX_SUFFIX, TIME_INDEX_SUFFIX]) fsyncFileSync(this.filePath(suffix));
      this.indexFilesDurable = true;
    }
  }

  /**
   * fsyncs the log and index files on the thread pool (after a roll, so the append path never
   * waits for the disk); `done` runs when they are on disk.
   */
  flushAsync(done: () => void): void {
    if (this.isFlushed || this.fdClosed) {
      done();
      return;
    }
    const generation = this.writeGeneration;
    this.pendingFsyncs++;
    fs.fdatasync(this.fd, (error) => {
      this.pendingFsyncs--;
      if (this.closeRequested) this.closeNowIfIdle();
      if (error !== null) {
        this.settings.logger.error({ log: this.settings.logName, segment: this.baseOffset, err: error.message }, "background fsync failed");
        return;
      }
      fsyncFileAsync(this.filePath(OFFSET_INDEX_SUFFIX), () =>
        fsyncFileAsync(this.filePath(TIME_INDEX_SUFFIX), () => {
          if (!this.deletedValue) this.flushedGeneration = Math.max(this.flushedGeneration, generation);
          done();
        }));
    });
  }

  /**
   * Starts writing the log file's dirty pages to disk on the thread pool and does not wait:
   * page-cache hygiene, not a durability promise (isFlushed and the recovery point do not move).
   * Without it the OS lets gigabytes of appended bytes pile up and writes them all at once when
   * they expire (vm.dirty_expire_centisecs); measured here, that burst stalled every broker's
   * appends for 100-170 ms at once. Returns false when one is already in flight (the caller
   * keeps counting and asks again). With settings.dropWrittenPages, the bytes it wrote are then
   * dropped from the page cache.
   */
  startWriteback(): boolean {
    if (this.writebackInFlight || this.fdClosed || this.closeRequested) return false;
    this.writebackInFlight = true;
    this.pendingFsyncs++;
    const writtenBytes = this.sizeBytesValue;
    const cutsAtStart = this.cuts;
    fs.fdatasync(this.fd, (error) => {
      this.writebackInFlight = false;
      if (error === null && this.settings.dropWrittenPages && this.cuts === cutsAtStart) this.dropCachedPagesBelow(writtenBytes);
      this.pendingFsyncs--;
      if (this.closeRequested) this.closeNowIfIdle();
      if (error !== null) this.settings.logger.error({ log: this.settings.logName, segment: this.baseOffset, err: error.message }, "background writeback failed");
    });
    return true;
  }

  /**
   * Drops the file's cached pages from the last whole page already dropped up to `endBytes`
   * (written and fdatasynced: clean pages; a dirty one is left alone by the OS anyway). The
   * file stays open until the call returns. A hint: failure only means the pages stay.
   */
  private dropCachedPagesBelow(endBytes: number): void {
    const drop = pageCacheDropper();
    const startBytes = Math.floor(Math.min(this.pagesDroppedBelowBytes, endBytes) / PAGE_BYTES) * PAGE_BYTES;
    if (drop === null || this.fdClosed || endBytes <= startBytes) return;
    this.pendingFsyncs++;
    const cutsAtStart = this.cuts;
    drop(this.fd, startBytes, endBytes - startBytes, (errno) => {
      this.pendingFsyncs--;
      if (errno === 0 && this.cuts === cutsAtStart) this.pagesDroppedBelowBytes = Math.max(this.pagesDroppedBelowBytes, endBytes);
      if (this.closeRequested) this.closeNowIfIdle();
    });
  }

  /** Writes stale index files and releases the file descriptor (after any background fsync). */
  close(): void {
    this.writeIndexFiles(true);
    this.closeRequested = true;
    this.closeNowIfIdle();
  }

  /** Deletes the segment's files; reads and appends must not use it afterwards. */
  delete(): void {
    this.deletedValue = true;
    this.closeRequested = true;
    this.closeNowIfIdle();
    for (const suffix of [LOG_SUFFIX, OFFSET_INDEX_SUFFIX, TIME_INDEX_SUFFIX]) {
      const filePath = this.filePath(suffix);
      try {
        removeIfPresent(filePath);
      } catch (error) {
        throw diskError("cannot delete", filePath, error);
      }
    }
  }

  /** Whether the indexes are in memory (they load on first use). */
  get hasIndexesInMemory(): boolean {
    return this.offsetIndex !== null;
  }

  /**
   * Drops the in-memory indexes of a segment that is no longer appended to (they reload from
   * their files when next needed), writing the files first if memory is ahead of them.
   */
  releaseIndexes(): void {
    if (this.offsetIndex === null || this.deletedValue) return;
    if (this.nextOffsetValue === null) this.loadTail();
    this.writeIndexFiles(false);
    this.offsetIndex = null;
    this.timeIndex = null;
  }

  /** Loads both indexes from their files, rebuilding them from the log when they do not match. */
  private ensureIndexes(): void {
    if (this.offsetIndex !== null && this.timeIndex !== null) return;
    const offsetBytes = readWholeFileOrNull(this.filePath(OFFSET_INDEX_SUFFIX));
    const timeBytes = readWholeFileOrNull(this.filePath(TIME_INDEX_SUFFIX));
    const offsetIndex = offsetBytes === null ? "missing" : OffsetIndex.fromFileBytes(this.baseOffset, this.maxOffsetIndexEntries(), offsetBytes, this.sizeBytesValue);
    // The time index can only be checked against the segment's end offset once the offset index is trusted.
    const timeIndex = typeof offsetIndex === "string" || timeBytes === null ? "missing" : TimeIndex.fromFileBytes(this.baseOffset, this.maxTimeIndexEntries(), timeBytes, Number.MAX_SAFE_INTEGER);
    if (typeof offsetIndex === "string" || typeof timeIndex === "string") {
      const reason = typeof offsetIndex === "string" ? `offset index: ${offsetIndex}` : `time index: ${timeIndex as string}`;
      if (this.sizeBytesValue > 0) this.settings.logger.warn({ log: this.settings.logName, segment: this.baseOffset, reason }, "rebuilding segment indexes");
      this.rebuildIndexes();
      return;
    }
    this.offsetIndex = offsetIndex;
    this.timeIndex = timeIndex;
    // The last time entry (T, O) must be a batch starting at O whose max timestamp is T: it decides
    // the segment's age for retention, so a plausible-looking but wrong file must not survive.
    const last = timeIndex.lastEntry();
    if (last !== null) {
      const batch = this.findBatch(last.offset);
      if (batch === null || batch.baseOffset !== last.offset || batch.maxTimestampMs !== last.timestampMs) {
        this.settings.logger.warn({ log: this.settings.logName, segment: this.baseOffset }, "time index does not match the log; rebuilding indexes");
        this.rebuildIndexes();
      }
    }
  }

  /**
   * Restores the tail state (end offset, largest timestamp, bytes since the last index entry) by
   * walking from the last index entry to the end; rebuilds the indexes when that entry is wrong.
   */
  private loadTail(): void {
    this.ensureIndexes();
    const offsetIndex = this.offsetIndex!;
    const reader = new HeaderReader(this.fd, this.sizeBytesValue);
    const start = offsetIndex.entryCount === 0 ? { offset: this.baseOffset, position: 0 } : offsetIndex.entryAt(offsetIndex.entryCount - 1);
    let batch = reader.readAt(start.position);
    if (start.position > 0 && (batch === null || batch.baseOffset !== start.offset)) {
      this.settings.logger.warn({ log: this.settings.logName, segment: this.baseOffset }, "last offset index entry does not match the log; rebuilding indexes");
      this.rebuildIndexes();
      return;
    }
    const lastTime = this.timeIndex!.lastEntry();
    this.maxTimestampSoFar = lastTime?.timestampMs ?? -1;
    this.offsetOfMaxTimestampSoFar = lastTime?.offset ?? this.baseOffset;
    let nextOffset = this.baseOffset;
    let end = start.position;
    while (batch !== null) {
      if (batch.maxTimestampMs > this.maxTimestampSoFar) {
        this.maxTimestampSoFar = batch.maxTimestampMs;
        this.offsetOfMaxTimestampSoFar = batch.baseOffset;
      }
      nextOffset = batch.lastOffset + 1;
      end = batch.position + batch.sizeBytes;
      batch = reader.readAt(end);
    }
    if (end !== this.sizeBytesValue) {
      // Bytes after the last readable header in a segment thought clean: keep only whole batches.
      this.settings.logger.warn({ log: this.settings.logName, segment: this.baseOffset, validBytes: end, sizeBytes: this.sizeBytesValue }, "segment ends in unreadable bytes; cutting them");
      this.cutFileAt(end);
    }
    this.nextOffsetValue = Math.max(nextOffset, this.baseOffset);
    this.bytesSinceLastIndexEntry = this.sizeBytesValue - start.position;
    this.rollAnchorMs = this.rollAnchorFromFile();
  }

  /** Rebuilds both indexes and the tail state by walking every header. */
  private rebuildIndexes(): void {
    this.resetIndexState();
    const reader = new HeaderReader(this.fd, this.sizeBytesValue);
    let batch = reader.readAt(0);
    let end = 0;
    let nextOffset = this.baseOffset;
    while (batch !== null && batch.baseOffset >= nextOffset) {
      this.indexBatch(batch.position, batch.sizeBytes, batch.baseOffset, batch.maxTimestampMs);
      nextOffset = batch.lastOffset + 1;
      end = batch.position + batch.sizeBytes;
      batch = reader.readAt(end);
    }
    if (end !== this.sizeBytesValue) {
      this.settings.logger.warn({ log: this.settings.logName, segment: this.baseOffset, validBytes: end, sizeBytes: this.sizeBytesValue }, "segment ends in unreadable bytes; cutting them");
      this.cutFileAt(end);
    }
    this.nextOffsetValue = nextOffset;
    this.rollAnchorMs = this.rollAnchorFromFile();
    this.indexFilesStale = true;
  }

  private tryFindBatch(targetOffset: number): BatchSummary | null | "index-mismatch" {
    const entry = this.loadedOffsetIndex().lookup(targetOffset);
    const reader = new HeaderReader(this.fd, this.sizeBytesValue);
    let batch = reader.readAt(entry.position);
    if (entry.position > 0 && (batch === null || batch.baseOffset !== entry.offset)) return "index-mismatch";
    while (batch !== null) {
      if (batch.lastOffset >= targetOffset) return batch;
      batch = reader.readAt(batch.position + batch.sizeBytes);
    }
    return null;
  }

  private indexBatch(position: number, sizeBytes: number, baseOffset: number, maxTimestampMs: number): void {
    if (maxTimestampMs > this.maxTimestampSoFar) {
      this.maxTimestampSoFar = maxTimestampMs;
      this.offsetOfMaxTimestampSoFar = baseOffset;
    }
    const offsetIndex = this.loadedOffsetIndex();
    if (this.bytesSinceLastIndexEntry > this.settings.indexIntervalBytes && !offsetIndex.isFull) {
      offsetIndex.append(baseOffset, position);
      this.loadedTimeIndex().maybeAppend(this.maxTimestampSoFar, this.offsetOfMaxTimestampSoFar);
      this.bytesSinceLastIndexEntry = 0;
    }
    this.bytesSinceLastIndexEntry += sizeBytes;
  }

  private resetIndexState(): void {
    this.offsetIndex = this.newOffsetIndex();
    this.timeIndex = this.newTimeIndex();
    this.maxTimestampSoFar = -1;
    this.offsetOfMaxTimestampSoFar = this.baseOffset;
    this.bytesSinceLastIndexEntry = 0;
  }

  /**
   * When a segment read from disk started filling is not stored; the moment it was opened
   * stands in (as Kafka's segment creation time does), so a restart restarts its segmentMs clock.
   */
  private rollAnchorFromFile(): number | null {
    return this.sizeBytesValue === 0 ? null : this.openedAtMs;
  }

  private cutFileAt(position: number): void {
    try {
      fs.ftruncateSync(this.fd, position);
    } catch (error) {
      throw diskError("cannot truncate", this.logPath, error);
    }
    this.sizeBytesValue = position;
    this.writeGeneration++;
    // Bytes written from here on are new pages: the next drop after a writeback starts here.
    this.pagesDroppedBelowBytes = Math.min(this.pagesDroppedBelowBytes, position);
    this.cuts++;
  }

  private loadedOffsetIndex(): OffsetIndex {
    this.ensureIndexes();
    return this.offsetIndex!;
  }

  private loadedTimeIndex(): TimeIndex {
    this.ensureIndexes();
    return this.timeIndex!;
  }

  private maxOffsetIndexEntries(): number {
    return Math.floor(this.settings.segmentIndexBytes / OFFSET_INDEX_ENTRY_BYTES);
  }

  private maxTimeIndexEntries(): number {
    return Math.floor(this.settings.segmentIndexBytes / TIME_INDEX_ENTRY_BYTES);
  }

  private newOffsetIndex(): OffsetIndex {
    return new OffsetIndex(this.baseOffset, this.maxOffsetIndexEntries());
  }

  private newTimeIndex(): TimeIndex {
    return new TimeIndex(this.baseOffset, this.maxTimeIndexEntries());
  }

  private closeNowIfIdle(): void {
    if (this.fdClosed || this.pendingFsyncs > 0) return;
    this.fdClosed = true;
    fs.closeSync(this.fd);
    this.fd = -1;
  }
}
