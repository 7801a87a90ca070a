// The coordinator's limits and timeouts, with defaults, and how they come from server config.
import type { ServerConfigValues } from "@tributary/protocol";
import type { GroupSettings } from "./group.js";

export interface CoordinatorSettings extends GroupSettings {
  /** Groups one coordinator holds at most (across all the offsets partitions it leads). */
  maxGroups: number;
  /** Kafka's offset.metadata.max.bytes: a longer commit metadata string gets OFFSET_METADATA_TOO_LARGE. */
  maxMetadataBytes: number;
  /** Partitions one OffsetCommit may carry. */
  maxCommitPartitions: number;
  /** Records waiting per offsets partition before writes are refused with RESOURCE_EXHAUSTED. */
  maxQueuedRecords: number;
  /** Bytes of keys and values per appended batch. */
  maxBatchBytes: number;
  /** Bytes asked for per read while loading a partition. */
  loadReadBytes: number;
  /** Wait between reads while the high watermark catches up with the log end during a load. */
  loadRetryMs: number;
  /** Wait before loading a partition again after a load failed (a read error). */
  loadFailureBackoffMs: number;
  /** How often session and revocation deadlines are checked. */
  tickIntervalMs: number;
  /** Kafka's offsets.retention.minutes: an empty group's offsets older than this (counted from the later of the commit and the group emptying) are deleted. */
  offsetsRetentionMs: number;
  /** Kafka's offsets.retention.check.interval.ms: how often empty groups' offsets are checked for expiry. */
  offsetsRetentionCheckIntervalMs: number;
}

export const DEFAULT_COORDINATOR_SETTINGS: CoordinatorSettings = {
  defaultSessionTimeoutMs: 45_000,
  minSessionTimeoutMs: 1_000,
  maxSessionTimeoutMs: 1_800_000,
  heartbeatIntervalMs: 3_000,
  // Kafka's max.poll.interval.ms default, for members that do not send theirs.
  defaultRebalanceTimeoutMs: 300_000,
  assignors: ["uniform", "range"],
  maxMembers: 1_000,
  maxSubscribedTopics: 1_000,
  maxIdBytes: 255,
  maxGroups: 10_000,
  maxMetadataBytes: 4_096,
  maxCommitPartitions: 10_000,
  maxQueuedRecords: 100_000,
  maxBatchBytes: 1_000_000,
  loadReadBytes: 4 * 1024 * 1024,
  loadRetryMs: 50,
  loadFailureBackoffMs: 1_000,
  tickIntervalMs: 200,
  offsetsRetentionMs: 7 * 24 * 60 * 60 * 1000,
  offsetsRetentionCheckIntervalMs: 60_000,
};

type GroupConfigKeys =
  | "group.consumer.session.timeout.ms"
  | "group.consumer.min.session.timeout.ms"
  | "group.consumer.max.session.timeout.ms"
  | "group.consumer.heartbeat.interval.ms"
  | "group.consumer.assignors"
  | "offsets.retention.minutes"
  | "group.consumer.max.size"
  | "offset.metadata.max.bytes";

/** Settings from the broker's resolved config; anything not configurable keeps its default. */
export function coordinatorSettingsFromConfig(config: Pick<ServerConfigValues, GroupConfigKeys>, overrides: Partial<CoordinatorSettings> = {}): CoordinatorSettings {
  const assignors = config["group.consumer.assignors"];
  return {
    ...DEFAULT_COORDINATOR_SETTINGS,
    defaultSessionTimeoutMs: config["group.consumer.session.timeout.ms"],
    minSessionTimeoutMs: config["group.consumer.min.session.timeout.ms"],
    maxSessionTimeoutMs: config["group.consumer.max.session.timeout.ms"],
    heartbeatIntervalMs: config["group.consumer.heartbeat.interval.ms"],
    assignors: assignors.length > 0 ? assignors : DEFAULT_COORDINATOR_SETTINGS.assignors,
    offsetsRetentionMs: config["offsets.retention.minutes"] * 60_000,
    maxMembers: config["group.consumer.max.size"],
    maxMetadataBytes: config["offset.metadata.max.bytes"],
    ...overrides,
  };
}
