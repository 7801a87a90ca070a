// The small files kept beside a partition's segments, each replaced atomically (checkpoint-file.ts):
//   log-start-offset-checkpoint   first readable offset (DeleteRecords and retention move it)
//   recovery-point-checkpoint     offsets below it were fsynced; recovery checks from here on
//   leader-epoch-checkpoint       the leader epoch cache (fsynced before the recovery point passes it)
//   high-watermark-checkpoint     the broker's high watermark (not fsynced: replication restores it)
//   clean-shutdown                the marker close() leaves, so the next open skips recovery
// Readers return null for a missing or unreadable file (logging why) and let the caller rebuild;
// a failing disk is a StorageError either way.
import fs from "node:fs";
import path from "node:path";
import { CheckpointFormatError, fsyncFile, fsyncFolder, readCheckpointLines, readOffsetCheckpoint, writeCheckpointLines, writeOffsetCheckpoint } from "./checkpoint-file.js";
import { StorageError, diskError } from "./errors.js";
import { removeIfPresent } from "./file-io.js";
import {
  CLEAN_SHUTDOWN_FILE,
  HIGH_WATERMARK_CHECKPOINT_FILE,
  LEADER_EPOCH_CHECKPOINT_FILE,
  LOG_START_OFFSET_CHECKPOINT_FILE,
  RECOVERY_POINT_CHECKPOINT_FILE,
} from "./file-names.js";
import { LeaderEpochCache } from "./leader-epoch-cache.js";
import type { StorageLogger } from "./logger.js";

export class PartitionCheckpoints {
  /** The leader epoch checkpoint was replaced since it was last fsynced. */
  private leaderEpochsUnsynced = false;

  constructor(
    private readonly dir: string,
    private readonly logger: StorageLogger,
    private readonly logName: string,
  ) {}

  readLogStartOffset(): number | null {
    return this.readOffset(LOG_START_OFFSET_CHECKPOINT_FILE);
  }

  /** `durable: false` only for a value the next open would derive again from the files (see PartitionLog's constructor). */
  writeLogStartOffset(offset: number, durable = true): void {
    this.write(LOG_START_OFFSET_CHECKPOINT_FILE, () => writeOffsetCheckpoint(this.pathOf(LOG_START_OFFSET_CHECKPOINT_FILE), offset, durable));
  }

  readRecoveryPoint(): number | null {
    return this.readOffset(RECOVERY_POINT_CHECKPOINT_FILE);
  }

  /**
   * Makes the leader epoch checkpoint durable first: a recovery point must not pass an epoch a
   * machine crash could lose. `durable: false` only for a recovery point that passes no data not
   * already durable (see PartitionLog's constructor): losing it costs recovery work, never data.
   */
  writeRecoveryPoint(offset: number, durable = true): void {
    if (durable) this.syncLeaderEpochs();
    this.write(RECOVERY_POINT_CHECKPOINT_FILE, () => writeOffsetCheckpoint(this.pathOf(RECOVERY_POINT_CHECKPOINT_FILE), offset, durable));
  }

  readHighWatermark(): number | null {
    return this.readOffset(HIGH_WATERMARK_CHECKPOINT_FILE);
  }

  /**
   * Not fsynced: a lost update only makes the broker start from an older high watermark, which
   * replication moves forward again; an fsync per checkpoint would cost every partition ~130 us.
   */
  writeHighWatermark(highWatermark: number): void {
    this.write(HIGH_WATERMARK_CHECKPOINT_FILE, () => writeOffsetCheckpoint(this.pathOf(HIGH_WATERMARK_CHECKPOINT_FILE), highWatermark, false));
  }

  readLeaderEpochs(): LeaderEpochCache | null {
    const filePath = this.pathOf(LEADER_EPOCH_CHECKPOINT_FILE);
    try {
      const lines = readCheckpointLines(filePath);
      return lines === null ? null : LeaderEpochCache.fromCheckpointLines(lines, filePath);
    } catch (error) {
      if (!(error instanceof CheckpointFormatError)) throw diskError("cannot read", filePath, error);
      this.logger.warn({ log: this.logName, reason: error.message }, "leader epoch checkpoint is unreadable; rebuilding it from the log");
      return null;
    }
  }

  /**
   * Not fsynced here. The cache changes on the append path: a follower's first fetch in a new
   * epoch, a replica becoming leader, a truncation. An fsync there blocks the broker's one thread,
   * and with it every partition, for milliseconds per partition (~40 ms per broker each time a
   * 6-partition topic took its first writes, in bench:compare). The file is still replaced
   * atomically, so a process crash keeps it. A machine crash may lose it, and then recovery
   * derives the lost entries again from the batches above the recovery point; so the file is
   * fsynced before any recovery point is written (writeRecoveryPoint), and no epoch below a
   * recovery point can be lost. Kafka moved its producer snapshot's fsync off the append path
   * the same way (KAFKA-15046).
   */
  writeLeaderEpochs(epochs: LeaderEpochCache): void {
    this.write(LEADER_EPOCH_CHECKPOINT_FILE, () => writeCheckpointLines(this.pathOf(LEADER_EPOCH_CHECKPOINT_FILE), epochs.toCheckpointLines(), false));
    this.leaderEpochsUnsynced = true;
  }

  /** fsyncs the leader epoch checkpoint and its folder if it was replaced since the last time. */
  syncLeaderEpochs(): void {
    if (!this.leaderEpochsUnsynced) return;
    this.write(LEADER_EPOCH_CHECKPOINT_FILE, () => {
      fsyncFile(this.pathOf(LEADER_EPOCH_CHECKPOINT_FILE));
      fsyncFolder(this.dir);
    });
    this.leaderEpochsUnsynced = false;
  }

  hasCleanShutdownMarker(): boolean {
    return fs.existsSync(this.pathOf(CLEAN_SHUTDOWN_FILE));
  }

  writeCleanShutdownMarker(): void {
    this.write(CLEAN_SHUTDOWN_FILE, () => writeCheckpointLines(this.pathOf(CLEAN_SHUTDOWN_FILE), [], true));
  }

  /** From here on a crash must be noticed: the marker goes (durably) before anything is appended. */
  removeCleanShutdownMarker(): void {
    this.write(CLEAN_SHUTDOWN_FILE, () => {
      removeIfPresent(this.pathOf(CLEAN_SHUTDOWN_FILE));
      fsyncFolder(this.dir);
    });
  }

  private readOffset(fileName: string): number | null {
    const filePath = this.pathOf(fileName);
    try {
      return readOffsetCheckpoint(filePath);
    } catch (error) {
      if (!(error instanceof CheckpointFormatError)) throw diskError("cannot read", filePath, error);
      this.logger.warn({ log: this.logName, file: fileName, reason: error.message }, "checkpoint is unreadable; ignoring it");
      return null;
    }
  }

  private write(fileName: string, write: () => void): void {
    try {
      write();
    } catch (error) {
      if (error instanceof StorageError) throw error;
      throw diskError("cannot write", this.pathOf(fileName), error);
    }
  }

  private pathOf(fileName: string): string {
    return path.join(this.dir, fileName);
  }
}
