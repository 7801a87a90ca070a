// Produce: checks each partition's part of the request, appends it on the leader without
// decoding a record (the log engine checks headers, CRC and producer sequences), and answers
// per partition. acks=0/1 answer after the append; acks=all waits in the delayed-produce queue
// until the high watermark passes every appended batch, or times out with REQUEST_TIMED_OUT.
import { TributaryError, int64, type v1 } from "@tributary/protocol";
import type { BrokerContext } from "./broker-context.js";
import type { DelayedOperation } from "./delayed-operations.js";
import { toTributaryError } from "./errors.js";
import type { Partition } from "./partition.js";
import { leaderHint } from "./replica-manager.js";
import { topicNameProblem } from "./topic-names.js";

interface PartitionOutcome {
  topic: string;
  partition: number;
  error?: TributaryError;
  baseOffset: number;
  lastOffset: number;
  logAppendTimeMs: number;
  /** Set while waiting for the HW: the partition and the leader epoch the append was made in. */
  waitingOn?: Partition;
  leaderEpoch?: number;
  minInsyncReplicas?: number;
}

export function handleProduce(ctx: BrokerContext, request: v1.ProduceRequest__Output): Promise<v1.ProduceResponse> {
  const acks = request.acks;
  if (acks !== 0 && acks !== 1 && acks !== -1) {
    return Promise.resolve(answerAll(request, new TributaryError("INVALID_REQUIRED_ACKS", `acks must be 0, 1 or -1 (all); got ${acks}`), ctx));
  }
  const requestBytes = totalBytes(request);
  if (ctx.queuedProduceBytes + requestBytes > ctx.limits.queuedMaxRequestBytes) {
    return Promise.resolve(answerAll(request, new TributaryError("RESOURCE_EXHAUSTED", `the broker holds ${ctx.queuedProduceBytes} bytes of produce requests (queued.max.request.bytes=${ctx.limits.queuedMaxRequestBytes}); back off and retry`), ctx));
  }
  ctx.queuedProduceBytes += requestBytes;
  let outcomes: PartitionOutcome[];
  try {
    outcomes = appendAll(ctx, request, acks);
  } catch (error) {
    ctx.queuedProduceBytes -= requestBytes;
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
  // The records are in the log now, and nothing from here on refers to the request: its
  // buffers (megabytes when a producer sends many batches at once) can be collected while the
  // answer waits for replication. An async function would keep its `request` parameter alive
  // through the wait, long enough for V8 to move the buffers to the old generation, where only
  // a mark-compact frees them (in bench:broker with 3 MB requests, ~2 mark-compacts a second
  // per broker). The bytes still count as queued until the answer goes out.
  return answerWhenReplicated(ctx, outcomes, acks, request.timeoutMs, requestBytes);
}

function appendAll(ctx: BrokerContext, request: v1.ProduceRequest__Output, acks: number): PartitionOutcome[] {
  const outcomes: PartitionOutcome[] = [];
  const missingTopics: string[] = [];
  for (const topicData of request.topics) {
    for (const partitionData of topicData.partitions) {
      outcomes.push(appendOne(ctx, topicData.name, partitionData, acks, missingTopics));
    }
  }
  if (missingTopics.length > 0) ctx.autoCreateTopics(missingTopics);
  return outcomes;
}

async function answerWhenReplicated(ctx: BrokerContext, outcomes: PartitionOutcome[], acks: number, timeoutMs: number, requestBytes: number): Promise<v1.ProduceResponse> {
  try {
    if (acks === -1 && outcomes.some((o) => o.waitingOn)) await waitForHighWatermark(ctx, outcomes, timeoutMs);
    return buildResponse(outcomes, ctx);
  } finally {
    ctx.queuedProduceBytes -= requestBytes;
  }
}

function appendOne(ctx: BrokerContext, topic: string, data: v1.ProducePartitionData__Output, acks: number, missingTopics: string[]): PartitionOutcome {
  const outcome: PartitionOutcome = { topic, partition: data.partition, baseOffset: -1, lastOffset: -1, logAppendTimeMs: -1 };
  const partition = ctx.replicas.partition(topic, data.partition);
  if (!partition?.isLeader) {
    outcome.error = whyNotLeader(ctx, topic, data.partition, missingTopics);
    return outcome;
  }
  const topicConfig = ctx.topicConfig(topic);
  const minInsyncReplicas = topicConfig["min.insync.replicas"];
  const state = partition.leaderState!;
  // Checked before appending, so a refused batch is not written anywhere (Kafka's rule).
  if (acks === -1 && state.isr.length < minInsyncReplicas) {
    outcome.error = new TributaryError("NOT_ENOUGH_REPLICAS", `${topic}-${data.partition} has ${state.isr.length} in-sync replicas [${state.isr.join(",")}]; min.insync.replicas is ${minInsyncReplicas}`);
    return outcome;
  }
  if (data.records.length === 0) {
    outcome.error = new TributaryError("INVALID_RECORD", `no record batches for ${topic}-${data.partition}`);
    return outcome;
  }
  try {
    const appended = partition.log.appendAsLeader(data.records, partition.leaderEpoch, ctx.now());
    outcome.baseOffset = appended.baseOffset;
    outcome.lastOffset = appended.lastOffset;
    outcome.logAppendTimeMs = appended.logAppendTimeMs;
    ctx.replicas.afterLeaderAppend(partition);
    if (acks === -1) {
      outcome.waitingOn = partition;
      outcome.leaderEpoch = partition.leaderEpoch;
      outcome.minInsyncReplicas = minInsyncReplicas;
    }
  } catch (error) {
    outcome.error = toTributaryError(error);
    if (outcome.error.code === "UNKNOWN_SERVER_ERROR") ctx.log.error({ err: error, topic, partition: data.partition }, "append failed");
  }
  return outcome;
}

function whyNotLeader(ctx: BrokerContext, topic: string, partition: number, missingTopics: string[]): TributaryError {
  const problem = topicNameProblem(topic);
  if (problem) return new TributaryError("INVALID_TOPIC", problem);
  const topicImage = ctx.image.topicsByName.get(topic);
  if (!topicImage) {
    if (ctx.config["auto.create.topics.enable"] && !topic.startsWith("__")) {
      missingTopics.push(topic);
      return new TributaryError("LEADER_NOT_AVAILABLE", `topic ${topic} is being created; retry`);
    }
    return new TributaryError("UNKNOWN_TOPIC_OR_PARTITION", `topic ${topic} does not exist (auto.create.topics.enable=false)`);
  }
  const p = topicImage.partitions.get(partition);
  if (!p) return new TributaryError("UNKNOWN_TOPIC_OR_PARTITION", `topic ${topic} has no partition ${partition}`);
  if (p.leader < 0) return new TributaryError("LEADER_NOT_AVAILABLE", `${topic}-${partition} has no leader right now`);
  // The image names us but the replica manager has not taken over yet (metadata just arrived).
  if (p.leader === ctx.brokerId) return new TributaryError("LEADER_NOT_AVAILABLE", `broker ${ctx.brokerId} is becoming the leader of ${topic}-${partition}; retry`);
  return new TributaryError("NOT_LEADER_OR_FOLLOWER", `broker ${ctx.brokerId} is not the leader of ${topic}-${partition} (broker ${p.leader} is); refresh metadata`);
}

/** Resolves when every waiting partition's HW passed its batches, or leadership moved, or time ran out. */
function waitForHighWatermark(ctx: BrokerContext, outcomes: PartitionOutcome[], timeoutMs: number): Promise<void> {
  const waiting = outcomes.filter((o) => o.waitingOn);
  const boundedTimeoutMs = Math.max(0, Math.min(timeoutMs > 0 ? timeoutMs : 30_000, ctx.limits.maxProduceTimeoutMs));
  return new Promise((resolve) => {
    const operation: DelayedOperation = {
      keys: waiting.map((o) => o.waitingOn!.key),
      deadlineMs: ctx.now() + boundedTimeoutMs,
      tryComplete() {
        for (const outcome of waiting) {
          if (!outcome.waitingOn) continue;
          const partition = outcome.waitingOn;
          if (!partition.isLeader || partition.leaderEpoch !== outcome.leaderEpoch) {
            outcome.error = new TributaryError("NOT_LEADER_OR_FOLLOWER", `leadership of ${partition.key} moved before the write was replicated; it may or may not be committed: retry`);
            outcome.waitingOn = undefined;
            continue;
          }
          if (partition.highWatermark <= outcome.lastOffset) return false;
          if (partition.leaderState!.isr.length < outcome.minInsyncReplicas!) {
            outcome.error = new TributaryError("NOT_ENOUGH_REPLICAS_AFTER_APPEND", `${partition.key} was written, but the ISR shrank below min.insync.replicas`);
          }
          outcome.waitingOn = undefined;
        }
        resolve();
        return true;
      },
      expire() {
        for (const outcome of waiting) {
          if (!outcome.waitingOn) continue;
          outcome.error = new TributaryError("REQUEST_TIMED_OUT", `${outcome.waitingOn.key}: the high watermark did not reach offset ${outcome.lastOffset + 1} within ${boundedTimeoutMs} ms`);
          outcome.waitingOn = undefined;
        }
        resolve();
      },
    };
    if (!ctx.delayedProduce.add(operation, ctx.now())) {
      for (const outcome of waiting) {
        outcome.error = new TributaryError("RESOURCE_EXHAUSTED", "too many produce requests are waiting for replication; back off and retry");
        outcome.waitingOn = undefined;
      }
      resolve();
    }
  });
}

function buildResponse(outcomes: PartitionOutcome[], ctx: BrokerContext): v1.ProduceResponse {
  const topics = new Map<string, v1.ProducePartitionResponse[]>();
  for (const outcome of outcomes) {
    let list = topics.get(outcome.topic);
    if (!list) topics.set(outcome.topic, (list = []));
    const partition = ctx.replicas.partition(outcome.topic, outcome.partition);
    const response: v1.ProducePartitionResponse = {
      partition: outcome.partition,
      error: outcome.error ? outcome.error.toResponse() : { code: "NONE", message: "" },
      baseOffset: int64(outcome.error ? -1 : outcome.baseOffset),
      logAppendTimeMs: int64(outcome.error ? -1 : outcome.logAppendTimeMs),
      logStartOffset: int64(partition ? partition.log.logStartOffset : -1),
    };
    if (outcome.error?.code === "NOT_LEADER_OR_FOLLOWER") response.currentLeader = leaderHint(ctx.image, outcome.topic, outcome.partition);
    list.push(response);
  }
  return { topics: [...topics].map(([name, partitions]) => ({ name, partitions })), throttleTimeMs: 0 };
}

function answerAll(request: v1.ProduceRequest__Output, error: TributaryError, ctx: BrokerContext): v1.ProduceResponse {
  return buildResponse(request.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partition, error, baseOffset: -1, lastOffset: -1, logAppendTimeMs: -1 }))), ctx);
}

function totalBytes(request: v1.ProduceRequest__Output): number {
  let bytes = 0;
  for (const topic of request.topics) for (const partition of topic.partitions) bytes += partition.records.length;
  return bytes;
}
