// The group coordinator: routes each group to the __consumer_offsets partition it hashes to,
// holds the groups of the partitions this broker leads (loading them when it becomes leader,
// dropping them when it resigns), and answers the Groups RPCs. Each RPC's request is checked
// and its response built here; membership rules live in group.ts, assignment in assignors/.
// Writes go through one PartitionWriter per partition (acks=all) before a response is sent.
import { type ErrorCode, int64, int64ToNumber, TributaryError, type v1 } from "@tributary/protocol";
import { assignmentOf, assignmentToList } from "./assignment.js";
import { appendErrorToCoordinatorError, CoordinatorError, errorOf, hintOf, NO_ERROR } from "./coordinator-errors.js";
import type { GroupEnvironment, HeartbeatInput } from "./group.js";
import { offsetsPartitionFor } from "./group-partition.js";
import { replayPartition } from "./loader.js";
import { ownedByMember } from "./member.js";
import { checkCommitPartition, committingMember } from "./offset-commit-rules.js";
import { type GroupEntry, OffsetsPartition } from "./offsets-partition.js";
import { type CoordinatorRecord, PartitionWriter } from "./partition-writer.js";
import { encodeGroupValue, encodeKey, encodeOffsetValue, type OffsetValue } from "./record-format.js";
import type { CoordinatorSettings } from "./settings.js";
import type { Clock, CoordinatorPartitionAccess, LeadershipChange } from "./types.js";

export interface CoordinatorLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  debug(fields: object, message: string): void;
}

export interface CoordinatorDeps {
  nodeId: number;
  access: CoordinatorPartitionAccess;
  /** Partition count of a topic in the broker's metadata image; undefined when it does not exist. */
  partitionsOf(topic: string): number | undefined;
  settings: CoordinatorSettings;
  clock: Clock;
  newMemberId(): string;
  logger: CoordinatorLogger;
  /** Waits between load reads; injected so tests need no real timers. */
  delay(ms: number): Promise<void>;
}

/** Takes a member out again (see heartbeat). */
const LEAVE: HeartbeatInput = {
  memberId: "",
  memberEpoch: -1,
  clientId: "",
  clientHost: "",
  rebalanceTimeoutMs: 0,
  sessionTimeoutMs: 0,
  subscribedTopicNames: null,
  serverAssignor: "",
  ownedPartitions: null,
};

export class GroupCoordinator {
  private readonly partitions = new Map<number, OffsetsPartition>();
  private readonly env: GroupEnvironment;
  private closed = false;
  private lastRetentionCheckMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly deps: CoordinatorDeps) {
    this.env = { partitionsOf: (topic) => deps.partitionsOf(topic), newMemberId: () => deps.newMemberId() };
  }

  // ---- Leadership of offsets partitions ----

  /** Loads a partition this broker now leads, or drops one it no longer leads. */
  handleLeadershipChange(change: LeadershipChange): void {
    if (this.closed) return;
    const current = this.partitions.get(change.partition);
    if (change.isLeader) {
      if (current && current.leaderEpoch === change.leaderEpoch) return;
      if (current) this.unload(current, "new leader epoch");
      void this.load(change.partition, change.leaderEpoch);
    } else if (current) {
      this.unload(current, "resigned");
    }
  }

  private unload(partition: OffsetsPartition, why: string): void {
    if (this.partitions.get(partition.partition) === partition) this.partitions.delete(partition.partition);
    partition.writer.close(new TributaryError("NOT_COORDINATOR", `this broker no longer coordinates offsets partition ${partition.partition}`));
    this.deps.logger.info({ offsetsPartition: partition.partition, groups: partition.groups.size, why }, "unloaded offsets partition");
  }

  private async load(partitionIndex: number, leaderEpoch: number): Promise<void> {
    const { access, settings, clock, logger } = this.deps;
    const writer = new PartitionWriter(partitionIndex, access, clock, { maxQueuedRecords: settings.maxQueuedRecords, maxBatchBytes: settings.maxBatchBytes });
    const partition = new OffsetsPartition(partitionIndex, leaderEpoch, writer, settings, this.env);
    this.partitions.set(partitionIndex, partition);
    const startedMs = clock();
    const stillCurrent = (): boolean => !this.closed && this.partitions.get(partitionIndex) === partition;
    try {
      const loaded = await replayPartition(access, partition, { readBytes: settings.loadReadBytes, retryMs: settings.loadRetryMs, delay: this.deps.delay, stillCurrent });
      if (!loaded || !stillCurrent()) return;
      partition.finishLoad(clock());
      logger.info({ offsetsPartition: partitionIndex, leaderEpoch, loadedGroups: partition.groups.size, ...partition.counts, loadMs: clock() - startedMs }, "loaded offsets partition");
    } catch (error) {
      if (!stillCurrent()) return;
      // Clients keep getting COORDINATOR_LOAD_IN_PROGRESS (retriable) while the load is retried.
      logger.warn({ offsetsPartition: partitionIndex, leaderEpoch, err: errorOf(error) }, "loading offsets partition failed; retrying");
      writer.close(new TributaryError("COORDINATOR_LOAD_IN_PROGRESS", `offsets partition ${partitionIndex} is still loading`));
      await this.deps.delay(settings.loadFailureBackoffMs);
      if (stillCurrent()) void this.load(partitionIndex, leaderEpoch);
    }
  }

  // ---- Routing ----

  private checkGroupId(groupId: string): void {
    if (groupId === "" || Buffer.byteLength(groupId) > this.deps.settings.maxIdBytes) {
      throw new TributaryError("INVALID_GROUP_ID", `group id ${JSON.stringify(groupId.slice(0, 64))} must be 1 to ${this.deps.settings.maxIdBytes} bytes`);
    }
  }

  private offsetsPartitionOf(groupId: string): number {
    const count = this.deps.access.partitionCount();
    if (count < 1) throw new TributaryError("COORDINATOR_NOT_AVAILABLE", "the __consumer_offsets topic does not exist yet; call FindCoordinator first");
    return offsetsPartitionFor(groupId, count);
  }

  /** The loaded partition holding a group, or the error that tells the client where to go. */
  private route(groupId: string): OffsetsPartition {
    if (this.closed) throw new TributaryError("BROKER_SHUTTING_DOWN", "the broker is shutting down; find the coordinator again");
    this.checkGroupId(groupId);
    const index = this.offsetsPartitionOf(groupId);
    const partition = this.partitions.get(index);
    if (partition?.status === "active") return partition;
    if (partition) throw new TributaryError("COORDINATOR_LOAD_IN_PROGRESS", `offsets partition ${index} is still loading; retry shortly`);
    const leader = this.deps.access.leaderOf(index);
    const hint: v1.LeaderHint = leader
      ? { nodeId: leader.nodeId, endpoint: { host: leader.host, port: leader.port, listenerName: "" }, leaderEpoch: leader.leaderEpoch }
      : { nodeId: -1, endpoint: null, leaderEpoch: -1 };
    throw new CoordinatorError("NOT_COORDINATOR", `broker ${this.deps.nodeId} is not the coordinator of group ${groupId} (offsets partition ${index}, leader ${leader?.nodeId ?? "unknown"})`, hint);
  }

  private usableEntry(partition: OffsetsPartition, groupId: string): GroupEntry | undefined {
    const entry = partition.entry(groupId);
    if (entry?.deleting) throw new TributaryError("COORDINATOR_NOT_AVAILABLE", `group ${groupId} is being deleted; retry`);
    return entry;
  }

  private newEntry(partition: OffsetsPartition, groupId: string): GroupEntry {
    let total = 0;
    for (const p of this.partitions.values()) total += p.groups.size;
    if (total >= this.deps.settings.maxGroups) {
      throw new TributaryError("RESOURCE_EXHAUSTED", `this coordinator already holds ${total} groups (the most it may); delete unused groups`);
    }
    return partition.createEntry(groupId, this.deps.clock());
  }

  /**
   * Writes the group's membership if it changed since it was last encoded, resolving once the
   * write carrying the current state is replicated. Each record holds the whole membership, so
   * the latest one is always a consistent state, and one queued write serves every change made
   * before it is encoded.
   */
  private persistGroup(partition: OffsetsPartition, entry: GroupEntry): Promise<void> {
    const group = entry.group;
    if (group.version === entry.writtenVersion) return entry.lastWrite ?? Promise.resolve();
    if (entry.queuedWrite) return entry.queuedWrite;
    let encoded = false;
    const record: CoordinatorRecord = {
      key: encodeKey({ type: "group", groupId: group.groupId }),
      // Called when the batch is built, possibly before write() even returns.
      value: () => {
        encoded = true;
        entry.queuedWrite = undefined;
        entry.writtenVersion = group.version;
        return encodeGroupValue(group.snapshot());
      },
    };
    const write = partition.writer.write([record]).catch((error: unknown) => {
      // Written again by the next change or tick.
      entry.writtenVersion = -1;
      if (entry.queuedWrite === write) entry.queuedWrite = undefined;
      throw appendErrorToCoordinatorError(error);
    });
    if (!encoded) entry.queuedWrite = write;
    entry.lastWrite = write;
    return write;
  }

  // ---- Timers ----

  /**
   * Removes members whose session or revocation time ran out, writes groups left unwritten, and
   * deletes the offsets of groups empty for longer than the offsets retention.
   */
  tick(): void {
    const nowMs = this.deps.clock();
    // Expiry scans every offset of every empty group: done far less often than session checks.
    const checkRetention = nowMs - this.lastRetentionCheckMs >= this.deps.settings.offsetsRetentionCheckIntervalMs;
    if (checkRetention) this.lastRetentionCheckMs = nowMs;
    for (const partition of this.partitions.values()) {
      if (partition.status !== "active") continue;
      for (const entry of [...partition.groups.values()]) {
        if (entry.deleting) continue;
        for (const { memberId, reason } of entry.group.expire(nowMs)) {
          this.deps.logger.info({ group: entry.group.groupId, member: memberId, reason, groupEpoch: entry.group.groupEpoch }, "removed group member");
        }
        if (entry.group.version !== entry.writtenVersion) {
          this.persistGroup(partition, entry).catch((error: unknown) => {
            this.deps.logger.warn({ group: entry.group.groupId, err: errorOf(error) }, "writing group membership failed; will retry");
          });
        }
        if (entry.group.memberCount > 0) entry.emptySinceMs = nowMs;
        else if (checkRetention && !entry.expiring) this.expireOffsets(partition, entry, nowMs);
      }
    }
  }

  /** Tombstones an empty group's offsets past retention; the group itself goes with its last offset. */
  private expireOffsets(partition: OffsetsPartition, entry: GroupEntry, nowMs: number): void {
    const retentionMs = this.deps.settings.offsetsRetentionMs;
    const groupId = entry.group.groupId;
    const expired: { topic: string; partition: number; value: OffsetValue }[] = [];
    for (const [topic, byPartition] of entry.offsets) {
      for (const [p, value] of byPartition) {
        if (nowMs - Math.max(value.commitTimestampMs, entry.emptySinceMs) >= retentionMs) expired.push({ topic, partition: p, value });
      }
    }
    const total = [...entry.offsets.values()].reduce((sum, byPartition) => sum + byPartition.size, 0);
    const groupGoes = expired.length === total && nowMs - entry.emptySinceMs >= retentionMs;
    if (expired.length === 0 && !groupGoes) return;
    const records: CoordinatorRecord[] = expired.map(({ topic, partition: p }) => ({ key: encodeKey({ type: "offset", groupId, topic, partition: p }), value: null }));
    if (groupGoes) records.push({ key: encodeKey({ type: "group", groupId }), value: null });
    entry.expiring = true;
    partition.writer.write(records).then(
      () => {
        entry.expiring = false;
        for (const { topic, partition: p, value } of expired) {
          // A commit that landed meanwhile is newer than the one that expired: keep it.
          if (entry.offsets.get(topic)?.get(p) === value) partition.applyOffset(groupId, topic, p, null);
        }
        if (groupGoes && entry.group.memberCount === 0 && entry.offsets.size === 0 && partition.groups.get(groupId) === entry) partition.groups.delete(groupId);
        this.deps.logger.info({ group: groupId, expiredOffsets: expired.length, groupDeleted: groupGoes }, "expired offsets of an empty group");
      },
      (error: unknown) => {
        entry.expiring = false;
        this.deps.logger.warn({ group: groupId, err: errorOf(error) }, "expiring offsets failed; will retry");
      },
    );
  }

  // ---- RPCs ----

  async findCoordinator(request: v1.FindCoordinatorRequest__Output): Promise<v1.FindCoordinatorResponse> {
    const keyType = request.keyType === "" ? "group" : request.keyType;
    const fail = (key: string, code: ErrorCode, message: string): v1.Coordinator => ({ key, nodeId: -1, endpoint: null, error: { code, message } });
    if (keyType !== "group") {
      return { coordinators: request.keys.map((key) => fail(key, "INVALID_REQUEST", `key_type ${JSON.stringify(keyType)} is not supported; use "group"`)) };
    }
    try {
      await this.deps.access.ensureOffsetsTopic();
    } catch (error) {
      const { message } = errorOf(error);
      return { coordinators: request.keys.map((key) => fail(key, "COORDINATOR_NOT_AVAILABLE", `cannot create __consumer_offsets: ${message}`)) };
    }
    return {
      coordinators: request.keys.map((key): v1.Coordinator => {
        try {
          this.checkGroupId(key);
          const index = this.offsetsPartitionOf(key);
          const leader = this.deps.access.leaderOf(index);
          if (!leader) return fail(key, "COORDINATOR_NOT_AVAILABLE", `offsets partition ${index} has no leader right now; retry`);
          return { key, nodeId: leader.nodeId, endpoint: { host: leader.host, port: leader.port, listenerName: "" }, error: NO_ERROR };
        } catch (error) {
          const { code, message } = errorOf(error);
          return fail(key, code, message);
        }
      }),
    };
  }

  async heartbeat(request: v1.ConsumerGroupHeartbeatRequest__Output): Promise<v1.ConsumerGroupHeartbeatResponse> {
    try {
      const partition = this.route(request.groupId);
      let entry = this.usableEntry(partition, request.groupId);
      if (!entry) {
        if (request.memberEpoch === -1) return { error: NO_ERROR, memberId: request.memberId, memberEpoch: -1 };
        if (request.memberEpoch !== 0) {
          throw new TributaryError("UNKNOWN_MEMBER_ID", `group ${request.groupId} has no member ${JSON.stringify(request.memberId)}; rejoin with member_epoch 0`);
        }
        entry = this.newEntry(partition, request.groupId);
      }
      let output;
      try {
        output = entry.group.heartbeat(
          {
            memberId: request.memberId,
            memberEpoch: request.memberEpoch,
            clientId: request.clientId,
            clientHost: request.clientHost,
            rebalanceTimeoutMs: request.rebalanceTimeoutMs,
            sessionTimeoutMs: request.sessionTimeoutMs,
            subscribedTopicNames: request.memberEpoch === 0 || request.subscriptionChanged ? request.subscribedTopicNames : null,
            serverAssignor: request.serverAssignor,
            ownedPartitions: request.ownedPartitionsSent ? assignmentOf(request.ownedPartitions) : null,
          },
          this.deps.clock(),
        );
      } finally {
        // A join that failed validation leaves no empty group behind.
        if (entry.group.memberCount === 0 && entry.offsets.size === 0 && entry.group.version === 0) partition.groups.delete(request.groupId);
      }
      try {
        await this.persistGroup(partition, entry);
      } catch (error) {
        // The joiner never learns its member id (or epoch), so it must not hold partitions in
        // memory until its session runs out: take it out again (written by the next change or tick).
        if (request.memberEpoch === 0 && entry.group.member(output.memberId)?.memberEpoch === output.memberEpoch) {
          entry.group.heartbeat({ ...LEAVE, memberId: output.memberId }, this.deps.clock());
        }
        throw error;
      }
      if (request.memberEpoch === 0 || request.memberEpoch === -1) {
        this.deps.logger.info(
          { group: request.groupId, member: output.memberId, memberEpoch: output.memberEpoch, groupEpoch: entry.group.groupEpoch, members: entry.group.memberCount, clientId: request.clientId },
          request.memberEpoch === 0 ? "member joined" : "member left",
        );
      }
      return {
        error: NO_ERROR,
        memberId: output.memberId,
        memberEpoch: output.memberEpoch,
        heartbeatIntervalMs: output.heartbeatIntervalMs,
        assignment: output.assignment ? assignmentToList(output.assignment) : [],
        assignmentPresent: output.assignment !== null,
      };
    } catch (error) {
      return { error: errorOf(error), memberId: request.memberId, memberEpoch: request.memberEpoch, coordinator: hintOf(error) };
    }
  }

  async commitOffsets(request: v1.OffsetCommitRequest__Output): Promise<v1.OffsetCommitResponse> {
    const allFail = (error: unknown): v1.OffsetCommitResponse => ({
      error: errorOf(error),
      coordinator: hintOf(error),
      topics: request.topics.map((topic) => ({ name: topic.name, partitions: topic.partitions.map((p) => ({ partition: p.partition, error: errorOf(error) })) })),
    });
    try {
      const partition = this.route(request.groupId);
      const partitionCount = request.topics.reduce((sum, topic) => sum + topic.partitions.length, 0);
      if (partitionCount > this.deps.settings.maxCommitPartitions) {
        throw new TributaryError("INVALID_REQUEST", `one OffsetCommit may carry at most ${this.deps.settings.maxCommitPartitions} partitions, not ${partitionCount}`);
      }
      const existing = this.usableEntry(partition, request.groupId);
      const member = committingMember(existing?.group, request);
      const nowMs = this.deps.clock();
      const accepted: { topic: string; partition: number; value: OffsetValue }[] = [];
      const results = request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((p) => {
          const error = checkCommitPartition(member, request.memberEpoch, topic.name, p, this.deps.settings.maxMetadataBytes);
          if (error.code === "NONE") {
            const value: OffsetValue = { committedOffset: int64ToNumber(p.committedOffset), committedLeaderEpoch: p.committedLeaderEpoch, metadata: p.metadata, commitTimestampMs: nowMs };
            accepted.push({ topic: topic.name, partition: p.partition, value });
          }
          return { partition: p.partition, error };
        }),
      }));
      if (accepted.length > 0) {
        const entry = existing ?? this.newEntry(partition, request.groupId);
        const records = accepted.map(({ topic, partition: p, value }) => ({
          key: encodeKey({ type: "offset", groupId: request.groupId, topic, partition: p }),
          value: encodeOffsetValue(value),
        }));
        try {
          await partition.writer.write(records);
        } catch (error) {
          if (!existing && entry.offsets.size === 0 && entry.group.memberCount === 0) partition.groups.delete(request.groupId);
          return allFail(appendErrorToCoordinatorError(error));
        }
        for (const { topic, partition: p, value } of accepted) partition.applyOffset(request.groupId, topic, p, value);
      }
      return { error: NO_ERROR, topics: results, coordinator: null };
    } catch (error) {
      return allFail(error);
    }
  }

  async fetchOffsets(request: v1.OffsetFetchRequest__Output): Promise<v1.OffsetFetchResponse> {
    try {
      const partition = this.route(request.groupId);
      const entry = this.usableEntry(partition, request.groupId);
      const offsetOf = (topic: string, p: number): v1.OffsetFetchPartition => {
        const value = entry?.offsets.get(topic)?.get(p);
        return value
          ? { partition: p, committedOffset: int64(value.committedOffset), committedLeaderEpoch: value.committedLeaderEpoch, metadata: value.metadata, error: NO_ERROR }
          : { partition: p, committedOffset: "-1", committedLeaderEpoch: -1, metadata: "", error: NO_ERROR };
      };
      const wanted =
        request.topics.length > 0
          ? request.topics.map((t) => ({ topic: t.topic, partitions: t.partitions }))
          : [...(entry?.offsets ?? new Map<string, Map<number, OffsetValue>>())].map(([topic, byPartition]) => ({ topic, partitions: [...byPartition.keys()].sort((a, b) => a - b) })).sort((a, b) => (a.topic < b.topic ? -1 : 1));
      return { error: NO_ERROR, topics: wanted.map(({ topic, partitions }) => ({ name: topic, partitions: partitions.map((p) => offsetOf(topic, p)) })), coordinator: null };
    } catch (error) {
      return { error: errorOf(error), topics: [], coordinator: hintOf(error) };
    }
  }

  listGroups(request: v1.ListGroupsRequest__Output): v1.ListGroupsResponse {
    const wanted = new Set(request.statesFilter.map((s) => s.toLowerCase()));
    const groups: v1.ListedGroup[] = [];
    for (const partition of this.partitions.values()) {
      if (partition.status !== "active") continue;
      for (const entry of partition.groups.values()) {
        const state = entry.group.state;
        if (wanted.size > 0 && !wanted.has(state.toLowerCase())) continue;
        groups.push({ groupId: entry.group.groupId, protocolType: "consumer", state, coordinatorId: this.deps.nodeId });
      }
    }
    groups.sort((a, b) => (a.groupId! < b.groupId! ? -1 : 1));
    return { error: NO_ERROR, groups };
  }

  describeGroups(request: v1.DescribeGroupsRequest__Output): v1.DescribeGroupsResponse {
    return {
      groups: request.groupIds.map((groupId): v1.DescribedGroup => {
        try {
          const entry = this.route(groupId).entry(groupId);
          if (!entry || entry.deleting) return { groupId, state: "Dead", error: { code: "GROUP_ID_NOT_FOUND", message: `group ${groupId} does not exist` }, members: [] };
          const group = entry.group;
          return {
            error: NO_ERROR,
            groupId,
            state: group.state,
            groupEpoch: group.groupEpoch,
            assignmentEpoch: group.assignmentEpoch,
            assignorName: group.assignorName,
            members: group.describe().map(({ member, target }) => ({
              memberId: member.memberId,
              clientId: member.clientId,
              clientHost: member.clientHost,
              memberEpoch: member.memberEpoch,
              subscribedTopicNames: [...member.subscribedTopicNames],
              assignment: assignmentToList(ownedByMember(member)),
              targetAssignment: assignmentToList(target),
            })),
          };
        } catch (error) {
          return { groupId, state: "Dead", error: errorOf(error), members: [] };
        }
      }),
    };
  }

  async deleteGroups(request: v1.DeleteGroupsRequest__Output): Promise<v1.DeleteGroupsResponse> {
    const results = await Promise.all(request.groupIds.map((groupId) => this.deleteGroup(groupId)));
    return { results };
  }

  private async deleteGroup(groupId: string): Promise<v1.DeleteGroupResult> {
    try {
      const partition = this.route(groupId);
      const entry = this.usableEntry(partition, groupId);
      if (!entry) throw new TributaryError("GROUP_ID_NOT_FOUND", `group ${groupId} does not exist`);
      if (entry.group.memberCount > 0) throw new TributaryError("NON_EMPTY_GROUP", `group ${groupId} still has ${entry.group.memberCount} members; stop them first`);
      const records: CoordinatorRecord[] = [];
      for (const [topic, byPartition] of entry.offsets) {
        for (const p of byPartition.keys()) records.push({ key: encodeKey({ type: "offset", groupId, topic, partition: p }), value: null });
      }
      records.push({ key: encodeKey({ type: "group", groupId }), value: null });
      entry.deleting = true;
      try {
        await partition.writer.write(records);
      } catch (error) {
        entry.deleting = false;
        throw appendErrorToCoordinatorError(error);
      }
      if (partition.groups.get(groupId) === entry) partition.groups.delete(groupId);
      this.deps.logger.info({ group: groupId }, "deleted group");
      return { groupId, error: NO_ERROR };
    } catch (error) {
      return { groupId, error: errorOf(error) };
    }
  }

  /** Groups this broker coordinates now, for metrics and tests. */
  loadedGroupIds(): string[] {
    return [...this.partitions.values()].flatMap((p) => (p.status === "active" ? [...p.groups.keys()] : []));
  }

  /** Offsets partitions this broker has loaded (or is loading). */
  loadedPartitions(): { partition: number; status: string; leaderEpoch: number }[] {
    return [...this.partitions.values()].map((p) => ({ partition: p.partition, status: p.status, leaderEpoch: p.leaderEpoch }));
  }

  close(): void {
    this.closed = true;
    for (const partition of [...this.partitions.values()]) this.unload(partition, "coordinator closed");
  }
}
