// ListOffsets (earliest, latest, by timestamp, max timestamp) and OffsetForLeaderEpoch, both
// answered by the partition leader from its log; consumers see "latest" as the high watermark.
import { TributaryError, int64, type v1 } from "@tributary/protocol";
import type { BrokerContext } from "./broker-context.js";
import { toTributaryError } from "./errors.js";
import { safeNumber } from "./fetch-handler.js";
import { checkLeaderEpoch } from "./partition-state.js";
import { leaderHint } from "./replica-manager.js";

export const LATEST_TIMESTAMP = -1;
export const EARLIEST_TIMESTAMP = -2;
export const MAX_TIMESTAMP = -3;

export function handleListOffsets(ctx: BrokerContext, request: v1.ListOffsetsRequest__Output): v1.ListOffsetsResponse {
  return {
    topics: request.topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map((p) => {
        try {
          return listOne(ctx, topic.name, p, request.replicaId >= 0);
        } catch (error) {
          const typed = toTributaryError(error);
          const response: v1.ListOffsetsPartitionResponse = { partition: p.partition, error: typed.toResponse(), timestamp: "-1", offset: "-1", leaderEpoch: -1 };
          if (typed.code === "NOT_LEADER_OR_FOLLOWER" || typed.code === "FENCED_LEADER_EPOCH") response.currentLeader = leaderHint(ctx.image, topic.name, p.partition);
          return response;
        }
      }),
    })),
  };
}

function listOne(ctx: BrokerContext, topic: string, p: v1.ListOffsetsPartition__Output, fromReplica: boolean): v1.ListOffsetsPartitionResponse {
  const partition = leaderPartition(ctx, topic, p.partition, p.currentLeaderEpoch);
  const log = partition.log;
  const timestamp = safeNumber(p.timestamp);
  const answer = (offset: number, timestampMs: number, leaderEpoch: number): v1.ListOffsetsPartitionResponse => ({
    partition: p.partition, error: { code: "NONE", message: "" }, timestamp: int64(timestampMs), offset: int64(offset), leaderEpoch,
  });
  if (timestamp === EARLIEST_TIMESTAMP) return answer(log.logStartOffset, -1, partition.leaderEpoch);
  if (timestamp === LATEST_TIMESTAMP) return answer(fromReplica ? log.logEndOffset : partition.highWatermark, -1, partition.leaderEpoch);
  if (timestamp === MAX_TIMESTAMP) {
    const found = log.maxTimestampOffset();
    if (!found || found.offset >= partition.highWatermark) return answer(-1, -1, -1);
    return answer(found.offset, found.timestampMs, found.leaderEpoch);
  }
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new TributaryError("INVALID_REQUEST", `timestamp ${p.timestamp} is not -1, -2, -3 or a time in ms`);
  const found = log.offsetForTimestamp(timestamp);
  if (!found || found.offset >= partition.highWatermark) return answer(-1, -1, -1);
  return answer(found.offset, found.timestampMs, found.leaderEpoch);
}

function leaderPartition(ctx: BrokerContext, topic: string, partitionIndex: number, currentLeaderEpoch: number) {
  const partition = ctx.replicas.partition(topic, partitionIndex);
  if (!partition) {
    const known = ctx.image.partition(topic, partitionIndex);
    throw known
      ? new TributaryError("NOT_LEADER_OR_FOLLOWER", `broker ${ctx.brokerId} holds no replica of ${topic}-${partitionIndex}`)
      : new TributaryError("UNKNOWN_TOPIC_OR_PARTITION", `${topic}-${partitionIndex} does not exist`);
  }
  const check = checkLeaderEpoch(currentLeaderEpoch, partition.leaderEpoch);
  if (check !== "ok") throw new TributaryError(check, `${topic}-${partitionIndex}: request epoch ${currentLeaderEpoch}, broker has ${partition.leaderEpoch}`);
  if (!partition.isLeader) throw new TributaryError("NOT_LEADER_OR_FOLLOWER", `broker ${ctx.brokerId} is not the leader of ${topic}-${partitionIndex}`);
  return partition;
}

export function handleOffsetForLeaderEpoch(ctx: BrokerContext, request: v1.OffsetForLeaderEpochRequest__Output): v1.OffsetForLeaderEpochResponse {
  return {
    topics: request.topics.map((topic) => ({
      topic: topic.topic,
      partitions: topic.partitions.map((p) => {
        try {
          const partition = leaderPartition(ctx, topic.topic, p.partition, p.currentLeaderEpoch);
          const found = partition.log.endOffsetForEpoch(p.leaderEpoch);
          return { partition: p.partition, error: { code: "NONE", message: "" }, leaderEpoch: found.epoch, endOffset: int64(found.endOffset) };
        } catch (error) {
          return { partition: p.partition, error: toTributaryError(error).toResponse(), leaderEpoch: -1, endOffset: "-1" };
        }
      }),
    })),
  };
}
