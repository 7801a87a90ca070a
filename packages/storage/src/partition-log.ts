// The log of one partition replica: an ordered list of segments in one folder, the last of them
// active (appended to), plus the state kept beside it — log start offset, recovery point, leader
// epoch cache, idempotent producer state — and their checkpoint files.
//
// Everything here is synchronous and single-threaded: appends and reads are positional file
// calls that hit the page cache, so each method sees and leaves a consistent log. The only
// background work is the fsync of a segment after it is rolled, and compaction (cleaner.ts),
// which works in chunks between other calls and swaps its output in atomically.
import path from "node:path";
import { decodeBatch } from "@tributary/records";
import { assert, assertSafeOffset } from "./assert.js";
import { planFollowerAppend, planLeaderAppend, stampLeaderAppend } from "./append-validation.js";
import { type BatchSummary } from "./batch-scanner.js";
import { fsyncFolder } from "./checkpoint-file.js";
import { type CleanerStats, type CleanerHost, compactLog, readCleanerCheckpoint, writeCleanerCheckpoint } from "./cleaner.js";
import { type LogConfig, NEVER, compacts, deletesOldSegments, resolveLogConfig } from "./config.js";
import { StorageError } from "./errors.js";
import type { EpochEndOffset, EpochEntry, LeaderEpochCache } from "./leader-epoch-cache.js";
import { PartitionCheckpoints } from "./log-checkpoints.js";
import { SILENT_LOGGER, type StorageLogger } from "./logger.js";
import { pageCacheDropper } from "./page-cache.js";
import { deleteProducerSnapshot, listProducerSnapshots, writeProducerSnapshot } from "./producer-snapshot.js";
import type { ProducerEntry, ProducerStateTable } from "./producer-state.js";
import { assignEpoch, ensureWritableFolder, loadLog, loadProducerState } from "./recovery.js";
import { type RetentionReason, planRetention } from "./retention.js";
import { LogSegment, type SegmentSettings } from "./segment.js";

/** ListOffsets' special timestamps (Kafka's): the log end and the log start. */
export const LATEST_TIMESTAMP = -1;
export const EARLIEST_TIMESTAMP = -2;

const EMPTY = Buffer.alloc(0);
/**
 * Indexes of segments before the active one stay in memory for this many recently used segments
 * (about 5 MiB each for a full 1 GiB segment at the default index interval); others reload from
 * their files on use, so memory does not grow with the length of the log.
 */
const RESIDENT_INDEX_SEGMENTS = 8;
/**
 * A flush moves the recovery point in memory at once but writes its checkpoint at most this often
 * (Kafka's log.flush.offset.checkpoint.interval.ms): an older checkpoint only makes recovery
 * check more, and with flushMessages=1 a checkpoint per append would triple the fsyncs.
 */
const RECOVERY_POINT_CHECKPOINT_INTERVAL_MS = 60_000;

export interface PartitionLogOptions {
  /** The partition replica's own folder, `<log.dir>/<topic>-<partition>`; created if missing. */
  dir: string;
  /** Missing fields take Kafka's defaults (DEFAULT_LOG_CONFIG). */
  config?: Partial<LogConfig>;
  /** Wall-clock milliseconds; injected so tests can move time. */
  now(): number;
  logger?: StorageLogger;
  /**
   * Start a background writeback of the active segment after this many appended bytes
   * (LogSegment.startWriteback); 0 or unset leaves writeback to the OS.
   */
  writebackBytes?: number;
}

export interface LeaderAppendOptions {
  /** Set for topics with message.timestamp.type=LogAppendTime: every batch gets this max timestamp. */
  logAppendTimeMs?: number;
}

export interface LeaderAppendResult {
  /** Offset of the first record appended (or, for a duplicate, first written). */
  baseOffset: number;
  /** Offset of the last record. */
  lastOffset: number;
  /** The log-append time stamped on the batches, or -1 (Kafka's NO_TIMESTAMP) for CreateTime. */
  logAppendTimeMs: number;
  /** The largest batch max timestamp of the append (-1 for a duplicate: it was not re-read). */
  maxTimestampMs: number;
  /** True when every batch repeated one an idempotent producer already wrote: nothing was appended. */
  duplicate: boolean;
}

export interface FollowerAppendResult {
  baseOffset: number;
  lastOffset: number;
  maxTimestampMs: number;
}

export interface ReadOptions {
  /** Batches whose last offset is at or past this are left out (the high watermark for consumers). Default: log end. */
  maxOffsetExclusive?: number;
  /** Return the first batch whole even when it is larger than maxBytes, so a reader always progresses. Default true. */
  minOneBatch?: boolean;
}

export interface TimestampOffset {
  offset: number;
  timestampMs: number;
}

export interface RetentionOptions {
  /** Segments holding offsets at or past this are kept. Default: the log end offset. */
  highWatermark?: number;
}

export interface RetentionResult {
  segmentsDeleted: number;
  bytesDeleted: number;
  reasons: RetentionReason[];
  logStartOffset: number;
  producersExpired: number;
}

export interface CompactOptions {
  /** Only offsets below this are compacted (never past what consumers may read). Default: log end. */
  highWatermark?: number;
  /** Yield to the event loop after this many bytes read; default 1 MiB. */
  chunkBytes?: number;
  /** Most distinct keys held in memory per run (about 100 bytes each); the dirty range is cut at a segment end past it. Default 1,000,000. */
  maxKeys?: number;
}

export class PartitionLog {
  readonly dir: string;
  private configValue: LogConfig;
  private readonly now: () => number;
  private readonly logger: StorageLogger;
  private readonly settings: SegmentSettings;
  private readonly checkpoints: PartitionCheckpoints;
  private segments: LogSegment[];
  private logStartOffsetValue: number;
  private logEndOffsetValue: number;
  private recoveryPointValue: number;
  private readonly epochs: LeaderEpochCache;
  private producers: ProducerStateTable;
  private unflushedRecords = 0;
  private lastFlushMs: number;
  private closed = false;
  /** Bumped whenever segments are deleted, replaced or cut, so a compaction in flight can tell its input changed. */
  private structureVersion = 0;
  private compactionRunning = false;
  private recoveryPointWrittenAtMs = Number.NEGATIVE_INFINITY;
  /** Segment files were created or deleted since the folder was last fsynced. */
  private folderChanged = false;
  /** Segments before the active one whose indexes are in memory, most recently used first. */
  private recentIndexUse: LogSegment[] = [];
  private readonly writebackBytes: number;
  /** Appended since the last background writeback started. */
  private bytesSinceWriteback = 0;
  private writebacksStartedValue = 0;

  private constructor(options: PartitionLogOptions, config: LogConfig) {
    this.dir = path.resolve(options.dir);
    this.configValue = config;
    this.now = options.now;
    this.logger = options.logger ?? SILENT_LOGGER;
    this.writebackBytes = options.writebackBytes ?? 0;
    assert(Number.isSafeInteger(this.writebackBytes) && this.writebackBytes >= 0, () => `writebackBytes must be an integer >= 0, got ${options.writebackBytes}`);
    this.settings = {
      indexIntervalBytes: config.indexIntervalBytes,
      segmentIndexBytes: config.segmentIndexBytes,
      logger: this.logger,
      logName: path.basename(this.dir),
      dropWrittenPages: false,
    };
    const nowMs = this.now();
    ensureWritableFolder(this.dir);
    this.checkpoints = new PartitionCheckpoints(this.dir, this.logger, this.settings.logName);
    const loaded = loadLog(this.dir, this.checkpoints, this.settings, nowMs, this.logger);
    this.segments = loaded.segments;
    this.logStartOffsetValue = loaded.logStartOffset;
    this.logEndOffsetValue = this.activeSegment.nextOffset;
    this.recoveryPointValue = loaded.recoveryPoint;
    this.epochs = loaded.epochs;
    this.producers = loaded.producers;
    this.lastFlushMs = nowMs;
    // These record what loading derived from the files. None is fsynced: if a machine crash
    // loses them, the next open derives them again from the files it finds, and the recovery
    // point written here never passes data that is not already durable, so losing it costs
    // recovery work, never data. With fsyncs, a broker opening its logs blocked its one thread
    // on up to six of them for each.
    if (loaded.epochsChanged) this.writeEpochCheckpoint();
    if (loaded.logStartChanged) this.checkpoints.writeLogStartOffset(this.logStartOffsetValue, false);
    if (loaded.recoveryPointChanged) {
      this.checkpoints.writeRecoveryPoint(this.recoveryPointValue, false);
      this.recoveryPointWrittenAtMs = nowMs;
    }
    this.releaseIdleIndexes(); // recovery rebuilt indexes in memory: write them out and let them go
    this.logger.info({
      log: this.settings.logName,
      cleanShutdown: loaded.hadCleanShutdown,
      segments: this.segments.length,
      logStartOffset: this.logStartOffsetValue,
      logEndOffset: this.logEndOffsetValue,
      latestEpoch: this.epochs.latestEpoch,
    }, "opened partition log");
  }

  /**
   * Opens (or creates) the log in `dir`. After an unclean stop, recovers it first: every batch
   * written in full is kept, a torn or corrupt tail is cut. Throws StorageError
   * KAFKA_STORAGE_ERROR when the folder cannot be used, INVALID_CONFIG for a bad config.
   */
  static open(options: PartitionLogOptions): PartitionLog {
    return new PartitionLog(options, resolveLogConfig(options.config));
  }

  get config(): Readonly<LogConfig> {
    return this.configValue;
  }

  /** The first offset a reader may ask for. */
  get logStartOffset(): number {
    return this.logStartOffsetValue;
  }

  /** The offset the next appended record gets (one past the last record). */
  get logEndOffset(): number {
    return this.logEndOffsetValue;
  }

  /** Offsets below this were fsynced; recovery after a crash checks only from here on. */
  get recoveryPoint(): number {
    return this.recoveryPointValue;
  }

  /** Bytes of all segment files. */
  get sizeBytes(): number {
    return this.segments.reduce((sum, segment) => sum + segment.sizeBytes, 0);
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** Segments whose indexes are in memory (the active one and at most RESIDENT_INDEX_SEGMENTS others). */
  get segmentsWithIndexesInMemory(): number {
    return this.segments.filter((segment) => segment.hasIndexesInMemory).length;
  }

  /** Base offsets of the segments, oldest first. */
  segmentBaseOffsets(): number[] {
    return this.segments.map((segment) => segment.baseOffset);
  }

  /** The epoch of the newest leader that wrote to this log, or -1. */
  get latestEpoch(): number {
    return this.epochs.latestEpoch;
  }

  leaderEpochEntries(): EpochEntry[] {
    return this.epochs.snapshot();
  }

  /** The state kept for an idempotent producer, or undefined. */
  producerState(producerId: number): ProducerEntry | undefined {
    return this.producers.entry(producerId);
  }

  get producerCount(): number {
    return this.producers.producerCount;
  }

  /** Applies a changed topic config (retention, roll, flush, size limits take effect on their next check). */
  updateConfig(overrides: Partial<LogConfig>): void {
    this.configValue = resolveLogConfig({ ...this.configValue, ...overrides });
    this.settings.indexIntervalBytes = this.configValue.indexIntervalBytes;
    this.settings.segmentIndexBytes = this.configValue.segmentIndexBytes;
  }

  /**
   * Appends batches from a producer. `batches` is one or more RecordBatch v2 back to back; each
   * is checked (header, CRC, and a walk of its records that decodes nothing), and a bad one
   * anywhere refuses the whole append with a StorageError (the log and the buffer unchanged).
   * Then base offsets (contiguous from the log end) and `leaderEpoch` are stamped into the
   * buffer in place, and its bytes written as they are.
   *
   * Idempotent batches (producer id >= 0): an exact repeat of one of the producer's last 5 batches
   * returns the original offsets with `duplicate: true` and writes nothing; a sequence gap throws
   * OUT_OF_ORDER_SEQUENCE_NUMBER, an older epoch INVALID_PRODUCER_EPOCH.
   */
  appendAsLeader(batches: Buffer, leaderEpoch: number, options: LeaderAppendOptions = {}): LeaderAppendResult {
    this.assertOpen();
    assert(Number.isInteger(leaderEpoch) && leaderEpoch >= 0, () => `leader epoch must be an integer >= 0, got ${leaderEpoch}`);
    assert(leaderEpoch >= this.epochs.latestEpoch, () => `leader epoch ${leaderEpoch} is older than the log's ${this.epochs.latestEpoch}`);
    const logAppendTimeMs = options.logAppendTimeMs ?? null;
    if (logAppendTimeMs !== null) assert(Number.isSafeInteger(logAppendTimeMs) && logAppendTimeMs >= 0, "logAppendTimeMs must be a time");
    const producerAppend = this.producers.beginAppend();
    const plan = planLeaderAppend(batches, this.logEndOffsetValue, this.configValue, producerAppend);
    if (plan.kind === "duplicate") {
      return { baseOffset: plan.firstOffset, lastOffset: plan.lastOffset, logAppendTimeMs: logAppendTimeMs ?? -1, maxTimestampMs: -1, duplicate: true };
    }
    const written = plan.writeFromByte === 0 ? batches : batches.subarray(plan.writeFromByte);
    stampLeaderAppend(written, plan, leaderEpoch, logAppendTimeMs);
    this.writeToActiveSegment(written, plan.placements, plan.lastOffset);
    producerAppend.commit();
    if (this.epochs.assign(leaderEpoch, plan.placements[0]!.baseOffset)) this.writeEpochCheckpoint();
    this.afterAppend(plan.lastOffset + 1, plan.recordCount);
    return {
      baseOffset: plan.firstOffset,
      lastOffset: plan.lastOffset,
      logAppendTimeMs: logAppendTimeMs ?? -1,
      maxTimestampMs: plan.maxTimestampMs,
      duplicate: false,
    };
  }

  /**
   * Appends batches fetched from the leader, keeping their offsets and epochs. Only headers and
   * CRCs are checked: the leader walked the records when it appended them. They must start at
   * or after the log end and go forward (gaps are allowed: compaction makes them); otherwise
   * OFFSET_OUT_OF_ORDER, and the follower should truncate and fetch again. Returns null for an
   * empty buffer.
   */
  appendAsFollower(batches: Buffer): FollowerAppendResult | null {
    this.assertOpen();
    const plan = planFollowerAppend(batches, this.logEndOffsetValue);
    if (plan === null) return null;
    this.writeToActiveSegment(batches, plan.placements, plan.lastOffset);
    for (const batch of plan.producerBatches) this.producers.apply(batch);
    let epochsChanged = false;
    for (const start of plan.epochStarts) epochsChanged = assignEpoch(this.epochs, start.epoch, start.startOffset) || epochsChanged;
    if (epochsChanged) this.writeEpochCheckpoint();
    this.afterAppend(plan.lastOffset + 1, plan.recordCount);
    return { baseOffset: plan.firstOffset, lastOffset: plan.lastOffset, maxTimestampMs: plan.maxTimestampMs };
  }

  /**
   * Whole batches from the one holding `offset`, as one buffer: from a single segment, at most
   * `maxBytes` (but the first batch whole when `minOneBatch`, the default), and none whose last
   * offset reaches `maxOffsetExclusive`. The first batch may start before `offset` (readers skip
   * records below it). Empty at the log end. Throws OFFSET_OUT_OF_RANGE (with the valid range)
   * below the log start or past the log end.
   */
  read(offset: number, maxBytes: number, options: ReadOptions = {}): Buffer {
    this.assertOpen();
    assert(Number.isSafeInteger(maxBytes) && maxBytes >= 0, () => `maxBytes must be an integer >= 0, got ${maxBytes}`);
    this.checkReadable(offset);
    const maxOffsetExclusive = Math.min(options.maxOffsetExclusive ?? this.logEndOffsetValue, this.logEndOffsetValue);
    if (offset >= maxOffsetExclusive) return EMPTY;
    const minOneBatch = options.minOneBatch ?? true;
    for (let i = this.segmentIndexFor(offset); i < this.segments.length; i++) {
      const segment = this.segments[i]!;
      const first = segment.findBatch(offset);
      this.rememberIndexUse(segment);
      if (first !== null) return segment.read(first, maxBytes, maxOffsetExclusive, minOneBatch);
    }
    return EMPTY;
  }

  /**
   * The first record with a timestamp >= `timestampMs` at or after the log start: its offset and
   * timestamp, or null when there is none. LATEST_TIMESTAMP (-1) and EARLIEST_TIMESTAMP (-2)
   * answer with the log end and the log start (and timestamp -1), as Kafka's ListOffsets does.
   */
  offsetForTimestamp(timestampMs: number): TimestampOffset | null {
    this.assertOpen();
    if (timestampMs === LATEST_TIMESTAMP) return { offset: this.logEndOffsetValue, timestampMs: -1 };
    if (timestampMs === EARLIEST_TIMESTAMP) return { offset: this.logStartOffsetValue, timestampMs: -1 };
    assert(Number.isSafeInteger(timestampMs) && timestampMs >= 0, () => `timestamp must be >= 0 or -1/-2, got ${timestampMs}`);
    for (let i = this.segmentIndexFor(this.logStartOffsetValue); i < this.segments.length; i++) {
      const segment = this.segments[i]!;
      let batch = segment.findBatchByTimestamp(timestampMs);
      this.rememberIndexUse(segment);
      while (batch !== null) {
        const found = this.firstRecordAtOrAfter(segment, batch, timestampMs);
        if (found !== null) return found;
        batch = segment.findBatchByTimestamp(timestampMs, batch.position + batch.sizeBytes);
      }
    }
    return null;
  }

  /**
   * The record with the largest timestamp (ListOffsets MAX_TIMESTAMP, KIP-734): the first one
   * carrying it at or after the log start, or null for a log without timestamps.
   */
  maxTimestampOffset(): TimestampOffset | null {
    this.assertOpen();
    let largestMs = -1;
    for (let i = this.segmentIndexFor(this.logStartOffsetValue); i < this.segments.length; i++) {
      largestMs = Math.max(largestMs, this.segments[i]!.largestTimestampMs());
      this.rememberIndexUse(this.segments[i]!);
    }
    return largestMs < 0 ? null : this.offsetForTimestamp(largestMs);
  }

  /**
   * A replica that becomes leader marks where its epoch starts (its log end) before appending,
   * so followers asking OffsetsForLeaderEpoch learn it at once, as Kafka does on makeLeader.
   */
  assignEpochStartOffset(leaderEpoch: number, startOffset: number): void {
    this.assertOpen();
    assert(leaderEpoch >= this.epochs.latestEpoch, () => `leader epoch ${leaderEpoch} is older than the log's ${this.epochs.latestEpoch}`);
    assert(startOffset === this.logEndOffsetValue, () => `epoch ${leaderEpoch} must start at the log end ${this.logEndOffsetValue}, not ${startOffset}`);
    if (this.epochs.assign(leaderEpoch, startOffset)) this.writeEpochCheckpoint();
  }

  /** Kafka's OffsetsForLeaderEpoch: the largest epoch <= `leaderEpoch` this log knows, and where it ends. */
  endOffsetForEpoch(leaderEpoch: number): EpochEndOffset {
    this.assertOpen();
    return this.epochs.endOffsetFor(leaderEpoch, this.logEndOffsetValue);
  }

  /**
   * Cuts the log so it ends before `offset` (a follower whose log diverged from its leader's):
   * every batch whose last offset is >= `offset` goes, whole. The log end becomes the end of the
   * last batch kept (at most `offset`). Below the log start this empties the log and restarts it
   * at `offset`.
   */
  truncateTo(offset: number): void {
    this.assertOpen();
    assertSafeOffset("truncation offset", offset);
    if (offset >= this.logEndOffsetValue) {
      // No record goes, but an epoch may still start at the log end with nothing in it: this
      // broker led briefly (becoming leader records the epoch's start) and appended nothing
      // before another leader took over. Kept, it would be our last fetched epoch forever: the
      // leader, which never had that epoch, answers each fetch with a divergence at our log end,
      // and the follower would truncate to where it already is, fetch, and be told again, with
      // replication of the partition stalled (a fault run found this). Kafka drops it the same way.
      if (this.epochs.truncateFromEnd(this.logEndOffsetValue)) this.writeEpochCheckpoint();
      return;
    }
    if (offset < this.logStartOffsetValue) {
      this.truncateFullyAndStartAt(offset);
      return;
    }
    this.structureVersion++;
    const before = this.logEndOffsetValue;
    while (this.segments.length > 1 && this.activeSegment.baseOffset > offset) {
      this.segments.pop()!.delete();
      this.folderChanged = true;
    }
    this.activeSegment.truncateTo(offset);
    this.logEndOffsetValue = this.activeSegment.nextOffset;
    assert(this.logEndOffsetValue <= offset, () => `truncation to ${offset} left the log end at ${this.logEndOffsetValue}`);
    if (this.epochs.truncateFromEnd(this.logEndOffsetValue)) this.writeEpochCheckpoint();
    this.reloadProducerState();
    this.clampCheckpointsToLogEnd();
    this.logger.info({ log: this.settings.logName, requestedOffset: offset, previousLogEndOffset: before, logEndOffset: this.logEndOffsetValue }, "truncated log");
  }

  /** Deletes every segment and restarts the log empty at `offset` (a follower far behind a leader's log start). */
  truncateFullyAndStartAt(offset: number): void {
    this.assertOpen();
    assertSafeOffset("new log start offset", offset);
    this.structureVersion++;
    for (const segment of this.segments) segment.delete();
    this.segments = [LogSegment.create(this.dir, offset, this.settings, this.now())];
    this.folderChanged = true;
    this.logStartOffsetValue = offset;
    this.logEndOffsetValue = offset;
    this.recoveryPointValue = offset;
    this.producers.clear();
    for (const snapshot of listProducerSnapshots(this.dir)) deleteProducerSnapshot(this.dir, snapshot);
    if (this.epochs.clear()) this.writeEpochCheckpoint();
    this.writeLogStartCheckpoint();
    this.writeRecoveryPointCheckpoint();
    writeCleanerCheckpoint(this.dir, { firstDirtyOffset: offset, tombstoneHorizonMs: null });
    this.logger.info({ log: this.settings.logName, offset }, "emptied log and restarted it");
  }

  /**
   * Moves the log start offset to `offset` (DeleteRecords): reads below it are refused from now
   * on, and segments wholly below it are deleted. The broker checks `offset` <= high watermark.
   * Returns the new log start offset.
   */
  deleteRecordsBefore(offset: number): number {
    this.assertOpen();
    assertSafeOffset("offset", offset);
    if (offset > this.logEndOffsetValue) {
      throw new StorageError("OFFSET_OUT_OF_RANGE", `cannot delete records before ${offset}: the log ends at ${this.logEndOffsetValue}`,
        { logStartOffset: this.logStartOffsetValue, logEndOffset: this.logEndOffsetValue });
    }
    if (offset <= this.logStartOffsetValue) return this.logStartOffsetValue;
    this.advanceLogStart(offset);
    this.deleteOldestSegments(planRetention(this.segments, this.retentionInputs(this.logEndOffsetValue, false)));
    return this.logStartOffsetValue;
  }

  /**
   * Retention, for the broker to call periodically: deletes the oldest non-active segments that
   * are wholly below the log start, older than retentionMs, or beyond retentionBytes (the last
   * two only when the cleanup policy includes delete), and forgets producers idle for
   * producerIdExpirationMs.
   */
  runRetention(options: RetentionOptions = {}): RetentionResult {
    this.assertOpen();
    const highWatermark = Math.min(options.highWatermark ?? this.logEndOffsetValue, this.logEndOffsetValue);
    const reasons = planRetention(this.segments, this.retentionInputs(highWatermark, deletesOldSegments(this.configValue)));
    const bytesDeleted = this.deleteOldestSegments(reasons);
    this.releaseIdleIndexes();
    const producersExpired = this.producers.removeExpired(this.now(), this.configValue.producerIdExpirationMs);
    return { segmentsDeleted: reasons.length, bytesDeleted, reasons, logStartOffset: this.logStartOffsetValue, producersExpired };
  }

  /**
   * Compaction (cleanup policy with compact): keeps the newest record per key in the segments
   * before the active one, drops tombstones deleteRetentionMs after they were first compacted,
   * never changes an offset. Runs in chunks, yielding to the event loop, and swaps each cleaned
   * group of segments in atomically; appends and reads go on meanwhile. One at a time per log.
   */
  async compact(options: CompactOptions = {}): Promise<CleanerStats> {
    this.assertOpen();
    assert(!this.compactionRunning, "a compaction of this log is already running");
    if (!compacts(this.configValue)) throw new StorageError("INVALID_CONFIG", `log ${this.settings.logName} has cleanup policy ${this.configValue.cleanupPolicy}, not compact`);
    this.compactionRunning = true;
    try {
      return await compactLog(this.cleanerHost(), options);
    } finally {
      this.compactionRunning = false;
      if (!this.closed) this.releaseIdleIndexes();
    }
  }

  /** fsyncs every unflushed segment now and moves the recovery point to the log end. */
  flush(): void {
    this.assertOpen();
    for (const segment of this.segments) segment.flushSync();
    if (this.folderChanged) {
      fsyncFolder(this.dir);
      this.folderChanged = false;
    }
    this.unflushedRecords = 0;
    this.lastFlushMs = this.now();
    this.recoveryPointValue = this.logEndOffsetValue;
    if (this.lastFlushMs - this.recoveryPointWrittenAtMs >= RECOVERY_POINT_CHECKPOINT_INTERVAL_MS) this.writeRecoveryPointCheckpoint();
  }

  /** Flushes when flushMs has passed since the last flush (for a periodic timer in the broker). */
  flushIfDue(): boolean {
    this.assertOpen();
    if (this.configValue.flushMs >= NEVER || this.now() - this.lastFlushMs < this.configValue.flushMs) return false;
    if (this.unflushedRecords === 0 && this.recoveryPointValue === this.logEndOffsetValue) return false;
    this.flush();
    return true;
  }

  /** Stores the high watermark (atomically: a reader sees the old or the new value). */
  checkpointHighWatermark(highWatermark: number): void {
    this.assertOpen();
    assertSafeOffset("high watermark", highWatermark);
    assert(highWatermark <= this.logEndOffsetValue, () => `high watermark ${highWatermark} is past the log end ${this.logEndOffsetValue}`);
    this.checkpoints.writeHighWatermark(highWatermark);
  }

  /**
   * The stored high watermark, clamped to [log start, log end] (the log may have lost its unflushed
   * tail in a machine crash, or been truncated since); null if none was ever stored.
   */
  readHighWatermarkCheckpoint(): number | null {
    this.assertOpen();
    const stored = this.checkpoints.readHighWatermark();
    if (stored === null) return null;
    return Math.max(this.logStartOffsetValue, Math.min(stored, this.logEndOffsetValue));
  }

  /**
   * Clean shutdown: fsyncs all data, writes indexes, the producer snapshot and checkpoints, then
   * the clean-shutdown marker, so the next open skips recovery. The log is unusable afterwards.
   */
  close(): void {
    if (this.closed) return;
    this.activeSegment.seal(true);
    for (const segment of this.segments) {
      segment.writeIndexFiles(true);
      segment.flushSync();
    }
    writeProducerSnapshot(this.dir, this.logEndOffsetValue, this.producers, true);
    this.recoveryPointValue = this.logEndOffsetValue;
    this.writeRecoveryPointCheckpoint();
    this.writeLogStartCheckpoint();
    for (const segment of this.segments) segment.close();
    this.checkpoints.writeCleanShutdownMarker();
    this.closed = true;
    this.logger.info({ log: this.settings.logName, logEndOffset: this.logEndOffsetValue }, "closed partition log");
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private get activeSegment(): LogSegment {
    return this.segments[this.segments.length - 1]!;
  }

  private assertOpen(): void {
    assert(!this.closed, () => `partition log ${this.settings.logName} is closed`);
  }

  private checkReadable(offset: number): void {
    if (Number.isSafeInteger(offset) && offset >= this.logStartOffsetValue && offset <= this.logEndOffsetValue) return;
    throw new StorageError("OFFSET_OUT_OF_RANGE",
      `offset ${offset} is outside the log [${this.logStartOffsetValue}, ${this.logEndOffsetValue}]`,
      { logStartOffset: this.logStartOffsetValue, logEndOffset: this.logEndOffsetValue });
  }

  /** The index of the segment that would hold `offset` (the last with base offset <= it). */
  private segmentIndexFor(offset: number): number {
    let low = 0;
    let high = this.segments.length - 1;
    let found = 0;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      if (this.segments[mid]!.baseOffset <= offset) {
        found = mid;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    return found;
  }

  private writeToActiveSegment(bytes: Buffer, placements: Parameters<LogSegment["append"]>[1], lastOffset: number): void {
    const nowMs = this.now();
    const active = this.activeSegment;
    const anchor = active.rollAnchor();
    if (active.isFullFor(bytes.length, lastOffset, this.configValue.segmentBytes) || (anchor !== null && nowMs - anchor > this.configValue.segmentMs)) {
      this.roll(nowMs, placements[0]!.baseOffset);
    }
    this.activeSegment.append(bytes, placements, nowMs);
    this.bytesSinceWriteback += bytes.length;
    if (this.writebackBytes > 0 && this.bytesSinceWriteback >= this.writebackBytes && this.activeSegment.startWriteback()) {
      this.bytesSinceWriteback = 0;
      this.writebacksStartedValue++;
    }
  }

  /**
   * Whether each background writeback (writebackBytes) also drops the bytes it wrote from the
   * OS page cache (page-cache.ts). For a log whose bytes nobody reads soon: a follower replica's
   * is read only if it becomes the leader. Kept, its pages would take memory, and on a machine
   * whose free memory is handed back to a hypervisor, every new page costs a fault; dropped,
   * they are freed and reused by the next appends. Returns whether dropping is available here
   * (false where posix_fadvise cannot be called: then pages are kept, as with `false`).
   */
  setDropWrittenPages(drop: boolean): boolean {
    const available = pageCacheDropper() !== null;
    this.settings.dropWrittenPages = drop && available;
    return available;
  }

  /** Background writebacks this log started (LogSegment.startWriteback), since it was opened. */
  get writebacksStarted(): number {
    return this.writebacksStartedValue;
  }

  private afterAppend(newLogEndOffset: number, recordCount: number): void {
    assert(newLogEndOffset > this.logEndOffsetValue, () => `log end offset would go from ${this.logEndOffsetValue} back to ${newLogEndOffset}`);
    this.logEndOffsetValue = newLogEndOffset;
    this.unflushedRecords += recordCount;
    const config = this.configValue;
    if (this.unflushedRecords >= config.flushMessages || (config.flushMs < NEVER && this.now() - this.lastFlushMs >= config.flushMs)) this.flush();
  }

  /**
   * Starts a new active segment at `baseOffset` (the log end, or past it when a follower's next
   * batch follows a compaction gap). The old one gets its final index entries and files, a
   * producer snapshot marks the boundary, and its fsync runs in the background; when it lands,
   * the recovery point moves past it (so a restart after a crash does not rescan it).
   */
  private roll(nowMs: number, baseOffset: number): void {
    assert(baseOffset >= this.logEndOffsetValue, () => `a new segment at ${baseOffset} would start below the log end ${this.logEndOffsetValue}`);
    const previous = this.activeSegment;
    previous.seal(false);
    this.rememberIndexUse(previous);
    this.segments.push(LogSegment.create(this.dir, baseOffset, this.settings, nowMs));
    this.folderChanged = true;
    writeProducerSnapshot(this.dir, this.logEndOffsetValue, this.producers, false);
    this.deleteSnapshotsBelow(this.segments[0]!.baseOffset);
    this.logger.debug({ log: this.settings.logName, segment: this.logEndOffsetValue, previousBytes: previous.sizeBytes }, "rolled segment");
    previous.flushAsync(() => this.advanceRecoveryPoint());
  }

  /**
   * After a background fsync: the recovery point moves to the first segment not yet flushed.
   * Runs from a callback, so a failure is logged, not thrown (the next flush or close retries).
   */
  private advanceRecoveryPoint(): void {
    if (this.closed) return;
    const firstUnflushed = this.segments.find((segment) => !segment.isFlushed);
    const candidate = firstUnflushed === undefined ? this.logEndOffsetValue : firstUnflushed.baseOffset;
    if (candidate <= this.recoveryPointValue) return;
    try {
      this.checkpoints.writeRecoveryPoint(candidate);
      this.recoveryPointValue = candidate;
    } catch (error) {
      this.logger.error({ log: this.settings.logName, recoveryPoint: candidate, err: (error as Error).message }, "cannot write the recovery point checkpoint");
    }
  }

  /** Keeps the indexes of the most recently used old segments in memory and releases the rest. */
  private rememberIndexUse(segment: LogSegment): void {
    if (segment === this.activeSegment || this.recentIndexUse[0] === segment) return;
    this.recentIndexUse = [segment, ...this.recentIndexUse.filter((used) => used !== segment && !used.isDeleted)];
    while (this.recentIndexUse.length > RESIDENT_INDEX_SEGMENTS) this.recentIndexUse.pop()!.releaseIndexes();
  }

  /** Releases the indexes of every old segment not among the recently used (after maintenance touched many). */
  private releaseIdleIndexes(): void {
    const keep = new Set(this.recentIndexUse);
    for (let i = 0; i + 1 < this.segments.length; i++) {
      const segment = this.segments[i]!;
      if (!keep.has(segment) && segment.hasIndexesInMemory) segment.releaseIndexes();
    }
    this.recentIndexUse = this.recentIndexUse.filter((segment) => !segment.isDeleted && this.segments.includes(segment) && segment !== this.activeSegment);
  }

  private advanceLogStart(offset: number): void {
    assert(offset >= this.logStartOffsetValue && offset <= this.logEndOffsetValue, () => `log start ${offset} outside [${this.logStartOffsetValue}, ${this.logEndOffsetValue}]`);
    this.logStartOffsetValue = offset;
    this.writeLogStartCheckpoint();
    if (this.epochs.truncateFromStart(offset)) this.writeEpochCheckpoint();
    this.producers.removeBefore(offset);
  }

  private retentionInputs(highWatermark: number, deleteByTimeAndSize: boolean) {
    return {
      nowMs: this.now(),
      logStartOffset: this.logStartOffsetValue,
      highWatermark,
      deleteByTimeAndSize,
      retentionMs: this.configValue.retentionMs,
      retentionBytes: this.configValue.retentionBytes,
    };
  }

  /** Deletes the oldest `reasons.length` segments and moves the log start past them. Returns bytes deleted. */
  private deleteOldestSegments(reasons: readonly RetentionReason[]): number {
    if (reasons.length === 0) return 0;
    assert(reasons.length < this.segments.length, "retention never deletes the active segment");
    this.structureVersion++;
    const doomed = this.segments.slice(0, reasons.length);
    this.folderChanged = true;
    this.segments = this.segments.slice(reasons.length);
    const newStart = Math.max(this.logStartOffsetValue, this.segments[0]!.baseOffset);
    // The checkpoint moves first: a crash mid-delete leaves files below the log start, which open deletes.
    if (newStart > this.logStartOffsetValue) this.advanceLogStart(newStart);
    let bytesDeleted = 0;
    doomed.forEach((segment, i) => {
      bytesDeleted += segment.sizeBytes;
      this.logger.info({ log: this.settings.logName, segment: segment.baseOffset, sizeBytes: segment.sizeBytes, reason: reasons[i] }, "deleting segment");
      segment.delete();
    });
    this.deleteSnapshotsBelow(this.segments[0]!.baseOffset);
    return bytesDeleted;
  }

  private deleteSnapshotsBelow(offset: number): void {
    for (const snapshot of listProducerSnapshots(this.dir)) {
      if (snapshot < offset) deleteProducerSnapshot(this.dir, snapshot);
    }
  }

  /** After a truncation: the newest snapshot at or below the new end, plus the batches after it. */
  private reloadProducerState(): void {
    this.producers = loadProducerState(this.dir, this.segments, this.logEndOffsetValue, this.logger, this.settings.logName);
    this.producers.removeBefore(this.logStartOffsetValue);
  }

  private clampCheckpointsToLogEnd(): void {
    if (this.recoveryPointValue > this.logEndOffsetValue) {
      this.recoveryPointValue = this.logEndOffsetValue;
      this.writeRecoveryPointCheckpoint();
    }
    const cleaner = readCleanerCheckpoint(this.dir);
    if (cleaner !== null && cleaner.firstDirtyOffset > this.logEndOffsetValue) {
      writeCleanerCheckpoint(this.dir, { ...cleaner, firstDirtyOffset: this.logEndOffsetValue });
    }
  }

  /** The first record of `batch` with timestamp >= target and offset >= log start (records are decoded here). */
  private firstRecordAtOrAfter(segment: LogSegment, batch: BatchSummary, targetMs: number): TimestampOffset | null {
    if (batch.lastOffset < this.logStartOffsetValue) return null;
    const decoded = decodeBatch(segment.readBytes(batch.position, batch.sizeBytes));
    for (const record of decoded.records) {
      if (record.timestampMs >= targetMs && record.offset >= this.logStartOffsetValue) return { offset: record.offset, timestampMs: record.timestampMs };
    }
    return null;
  }

  private cleanerHost(): CleanerHost {
    return {
      dir: this.dir,
      settings: this.settings,
      logger: this.logger,
      now: this.now,
      config: () => this.configValue,
      isClosed: () => this.closed,
      structureVersion: () => this.structureVersion,
      segments: () => this.segments,
      logEndOffset: () => this.logEndOffsetValue,
      producers: () => this.producers,
      replaceSegments: (oldSegments, replacement) => this.replaceSegments(oldSegments, replacement),
    };
  }

  /** Swaps cleaned output in for the segments it was built from (cleaner.ts has done the file renames). */
  private replaceSegments(oldSegments: readonly LogSegment[], replacement: LogSegment): void {
    const first = this.segments.indexOf(oldSegments[0]!);
    assert(first >= 0 && oldSegments.every((segment, i) => this.segments[first + i] === segment), "replaced segments must be consecutive and current");
    assert(first + oldSegments.length < this.segments.length, "the active segment is never replaced");
    this.structureVersion++;
    this.segments.splice(first, oldSegments.length, replacement);
  }

  private writeEpochCheckpoint(): void {
    this.checkpoints.writeLeaderEpochs(this.epochs);
  }

  private writeLogStartCheckpoint(): void {
    this.checkpoints.writeLogStartOffset(this.logStartOffsetValue);
  }

  private writeRecoveryPointCheckpoint(): void {
    this.checkpoints.writeRecoveryPoint(this.recoveryPointValue);
    this.recoveryPointWrittenAtMs = this.now();
  }

}
