// Opens, reconfigures and deletes partition logs (`<log.dir>/<topic>-<partition>`) on the
// broker's log dirs, and adapts @tributary/storage's PartitionLog to the ReplicaLog port the
// replication code is written against. A new partition goes to the log dir holding the fewest.
import fs from "node:fs";
import path from "node:path";
import { resolveTopicConfig, type ServerConfigValues, type TopicConfigValues } from "@tributary/protocol";
import { PartitionLog, type LogConfig } from "@tributary/storage";
import type { Logger } from "pino";
import type { EpochEndOffset } from "./partition-state.js";
import type { LeaderAppendResult, ReadResult, ReplicaLog, TimestampLookup } from "./replica-log.js";
import type { LogOpener } from "./replica-manager.js";

const PARTITION_DIR = /^(.+)-(\d+)$/;
/** Kafka's file naming the topic id a partition folder belongs to. */
export const PARTITION_METADATA_FILE = "partition.metadata";

/**
 * The topic id recorded in a partition folder, or undefined. A folder whose id differs from the
 * topic's now belongs to a topic deleted (while this broker was down) and created again under the
 * same name: its records must never be served as the new topic's.
 */
function recordedTopicId(dir: string): string | undefined {
  try {
    const text = fs.readFileSync(path.join(dir, PARTITION_METADATA_FILE), "utf8");
    return /^topic_id:\s*(\S+)\s*$/m.exec(text)?.[1];
  } catch {
    return undefined;
  }
}

function recordTopicId(dir: string, topicId: string): void {
  const file = path.join(dir, PARTITION_METADATA_FILE);
  fs.writeFileSync(`${file}.tmp`, `version: 0\ntopic_id: ${topicId}\n`);
  fs.renameSync(`${file}.tmp`, file);
}

export function logConfigOf(topic: TopicConfigValues): Partial<LogConfig> {
  const policies = topic["cleanup.policy"];
  const compact = policies.includes("compact");
  const remove = policies.includes("delete") || !compact;
  return {
    segmentBytes: Math.max(64, topic["segment.bytes"]),
    segmentMs: topic["segment.ms"],
    segmentIndexBytes: Math.max(16, topic["segment.index.bytes"]),
    indexIntervalBytes: topic["index.interval.bytes"],
    retentionMs: topic["retention.ms"],
    retentionBytes: topic["retention.bytes"],
    cleanupPolicy: compact && remove ? "compact,delete" : compact ? "compact" : "delete",
    deleteRetentionMs: topic["delete.retention.ms"],
    minCompactionLagMs: topic["min.compaction.lag.ms"],
    flushMessages: topic["flush.messages"],
    flushMs: topic["flush.ms"],
    maxBatchBytes: topic["max.message.bytes"],
  };
}

class StorageReplicaLog implements ReplicaLog {
  readonly checkpointedHighWatermark: number;
  private logAppendTime: boolean;
  private compacting = false;
  /** What this process last wrote to the HW checkpoint file (undefined: not written yet). */
  private lastWrittenHighWatermark: number | undefined;

  constructor(
    readonly name: string,
    private readonly log: PartitionLog,
    topicConfig: TopicConfigValues,
    private readonly logger: Logger,
    /** log.follower.page.cache.drop */
    private readonly dropFollowerPages: boolean,
  ) {
    const stored = log.readHighWatermarkCheckpoint();
    this.checkpointedHighWatermark = stored ?? 0;
    // No file reads as 0, so a new partition's 0 need not be written: a topic's partitions would
    // otherwise each create one file at the next checkpoint, on the broker's one thread.
    if (stored === null) this.lastWrittenHighWatermark = 0;
    this.logAppendTime = topicConfig["message.timestamp.type"] === "LogAppendTime";
  }

  get dir(): string { return this.log.dir; }
  get logStartOffset(): number { return this.log.logStartOffset; }
  get logEndOffset(): number { return this.log.logEndOffset; }
  latestEpoch(): number { return this.log.latestEpoch; }

  reconfigure(topicConfig: TopicConfigValues): void {
    this.log.updateConfig(logConfigOf(topicConfig));
    this.logAppendTime = topicConfig["message.timestamp.type"] === "LogAppendTime";
  }

  appendAsLeader(records: Buffer, leaderEpoch: number, nowMs: number): LeaderAppendResult {
    const result = this.log.appendAsLeader(records, leaderEpoch, this.logAppendTime ? { logAppendTimeMs: nowMs } : {});
    return { baseOffset: result.baseOffset, lastOffset: result.lastOffset, logAppendTimeMs: result.logAppendTimeMs, duplicate: result.duplicate };
  }

  appendAsFollower(records: Buffer): void {
    this.log.appendAsFollower(records);
  }

  read(fromOffset: number, maxBytes: number, maxOffset: number): ReadResult {
    return { records: this.log.read(fromOffset, Math.max(0, maxBytes), { maxOffsetExclusive: maxOffset, minOneBatch: true }) };
  }

  setFollowing(following: boolean): void {
    this.log.setDropWrittenPages(following && this.dropFollowerPages);
  }

  truncateTo(offset: number): void { this.log.truncateTo(offset); }
  resetTo(offset: number): void { this.log.truncateFullyAndStartAt(offset); }
  endOffsetForEpoch(epoch: number): EpochEndOffset {
    const found = this.log.endOffsetForEpoch(epoch);
    return { epoch: found.leaderEpoch, endOffset: found.endOffset };
  }

  assignEpochStart(epoch: number, startOffset: number): void {
    // Only ever forward: an image older than what the log holds is not acted on upstream.
    if (epoch < this.log.latestEpoch) {
      this.logger.error({ log: this.name, epoch, latestEpoch: this.log.latestEpoch }, "leader epoch older than the log's; not recording it");
      return;
    }
    this.log.assignEpochStartOffset(epoch, startOffset);
  }

  offsetForTimestamp(timestampMs: number): TimestampLookup | undefined {
    const found = this.log.offsetForTimestamp(timestampMs);
    return found ? { offset: found.offset, timestampMs: found.timestampMs, leaderEpoch: -1 } : undefined;
  }

  maxTimestampOffset(): TimestampLookup | undefined {
    const found = this.log.maxTimestampOffset();
    return found ? { offset: found.offset, timestampMs: found.timestampMs, leaderEpoch: -1 } : undefined;
  }

  checkpointHighWatermark(highWatermark: number): void {
    const value = Math.min(highWatermark, this.log.logEndOffset);
    // The checkpoint task visits every partition (the 50 offsets partitions too) every few
    // seconds; rewriting files whose value did not move blocked the event loop for tens of ms.
    if (value === this.lastWrittenHighWatermark) return;
    this.log.checkpointHighWatermark(value);
    this.lastWrittenHighWatermark = value;
  }

  runMaintenance(highWatermark: number): void {
    this.log.runRetention({ highWatermark });
    this.log.flushIfDue();
    if (this.log.config.cleanupPolicy !== "delete" && !this.compacting) {
      this.compacting = true;
      this.log.compact({ highWatermark })
        .catch((error: unknown) => this.logger.error({ err: error, log: this.name }, "compaction failed"))
        .finally(() => { this.compacting = false; });
    }
  }

  flush(): void { if (!this.log.isClosed) this.log.flush(); }
  close(): void { this.log.close(); }

  deleteFiles(): void {
    if (!this.log.isClosed) this.log.close();
    fs.rmSync(this.log.dir, { recursive: true, force: true });
  }
}

export class LogManager implements LogOpener {
  private readonly counts = new Map<string, number>();

  constructor(private readonly logDirs: readonly string[], private readonly server: ServerConfigValues, private readonly logger: Logger, private readonly now: () => number) {
    for (const dir of logDirs) {
      fs.mkdirSync(dir, { recursive: true });
      this.counts.set(dir, this.partitionDirsIn(dir).length);
    }
  }

  private partitionDirsIn(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory() && PARTITION_DIR.test(e.name)).map((e) => e.name);
  }

  existing(): { topic: string; partition: number }[] {
    return this.logDirs.flatMap((dir) => this.partitionDirsIn(dir).map((name) => {
      const match = PARTITION_DIR.exec(name)!;
      return { topic: match[1]!, partition: Number(match[2]) };
    }));
  }

  open(topic: string, partition: number, topicId: string, topicConfigs: ReadonlyMap<string, string>): ReplicaLog {
    const name = `${topic}-${partition}`;
    const topicConfig = this.resolve(topicConfigs);
    let dir = this.logDirs.map((d) => path.join(d, name)).find((candidate) => fs.existsSync(candidate));
    const recorded = dir ? recordedTopicId(dir) : undefined;
    if (dir && recorded !== undefined && recorded !== topicId) {
      this.logger.warn({ log: name, recordedTopicId: recorded, topicId }, "replica folder belongs to a deleted topic of the same name; removing it");
      fs.rmSync(dir, { recursive: true, force: true });
    }
    if (!dir) {
      const least = [...this.counts].sort((a, b) => a[1] - b[1])[0]![0];
      dir = path.join(least, name);
      this.counts.set(least, (this.counts.get(least) ?? 0) + 1);
    }
    const log = PartitionLog.open({
      dir, config: logConfigOf(topicConfig), now: this.now, logger: this.logger.child({ component: "storage" }),
      writebackBytes: this.server["log.writeback.bytes"],
    });
    if (recorded !== topicId) recordTopicId(dir, topicId);
    return new StorageReplicaLog(name, log, topicConfig, this.logger, this.server["log.follower.page.cache.drop"]);
  }

  reconfigure(log: ReplicaLog, topicConfigs: ReadonlyMap<string, string>): void {
    (log as StorageReplicaLog).reconfigure(this.resolve(topicConfigs));
  }

  async remove(log: ReplicaLog): Promise<void> {
    const dir = (log as StorageReplicaLog).dir;
    await log.deleteFiles();
    const parent = path.dirname(dir);
    this.counts.set(parent, Math.max(0, (this.counts.get(parent) ?? 1) - 1));
  }

  private resolve(topicConfigs: ReadonlyMap<string, string>): TopicConfigValues {
    try {
      return resolveTopicConfig(Object.fromEntries(topicConfigs), this.server);
    } catch {
      return resolveTopicConfig({}, this.server);
    }
  }
}
