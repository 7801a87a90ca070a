// The one place the CLI talks to the SDK (@tributary/client): every command goes through a
// ClusterSession, which turns SDK results into the plain views the formatters print. When the
// SDK's API changes, this file changes and the commands do not.
import type { CommandContext } from "../cli.js";
import { ActionError } from "../errors.js";
import type { ClusterView } from "../format/cluster.js";
import type { GroupView } from "../format/groups.js";
import type { TopicView } from "../format/topics.js";
import { openSdkSession } from "./sdk-session.js";

export interface CreateTopicSpec {
  name: string;
  partitions: number | undefined;
  replicationFactor: number | undefined;
  configs: Record<string, string>;
  ifNotExists: boolean;
}

export type ResetTarget = { kind: "earliest" } | { kind: "latest" } | { kind: "offset"; offset: bigint };

export interface ResetOffsetsSpec {
  groupId: string;
  topic: string;
  partition: number | undefined;
  target: ResetTarget;
  dryRun: boolean;
}

export interface ResetOffsetResult {
  topic: string;
  partition: number;
  newOffset: bigint;
}

export type Acks = "all" | "1" | "0";

export interface ProducedRecord {
  partition: number;
  offset: bigint;
}

export interface CliProducer {
  /** Resolves when the record is acknowledged (per --acks). */
  send(record: { topic: string; key: Buffer | null; value: Buffer; partition?: number }): Promise<ProducedRecord>;
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: bigint;
  timestampMs: number;
  key: Buffer | null;
  value: Buffer | null;
}

export interface ConsumeSpec {
  topic: string;
  groupId: string | undefined;
  fromBeginning: boolean;
  partition: number | undefined;
  /** With `partition`: start here ("earliest" | "latest" | an offset). */
  offset: bigint | "earliest" | "latest" | undefined;
}

export interface CliConsumer {
  /** The next records, waiting at most `maxWaitMs`; empty when none arrived in that time. */
  poll(maxWaitMs: number): Promise<ConsumedRecord[]>;
  /** Commits the offsets after these records (group consumers only), not merely what poll returned. */
  commit(records: readonly ConsumedRecord[]): Promise<void>;
  close(): Promise<void>;
}

export interface ClusterSession {
  listTopics(options: { includeInternal: boolean }): Promise<string[]>;
  /** Throws UNKNOWN_TOPIC_OR_PARTITION for a named topic that does not exist. */
  describeTopics(names: string[] | undefined): Promise<TopicView[]>;
  /** false when ifNotExists and the topic already existed. */
  createTopic(spec: CreateTopicSpec): Promise<boolean>;
  deleteTopic(name: string): Promise<void>;
  createPartitions(name: string, totalCount: number): Promise<void>;
  alterTopicConfigs(name: string, set: Record<string, string>, deleted: string[]): Promise<void>;
  describeCluster(): Promise<ClusterView>;
  listGroups(): Promise<{ groupId: string; state: string }[]>;
  describeGroup(groupId: string): Promise<GroupView>;
  resetOffsets(spec: ResetOffsetsSpec): Promise<ResetOffsetResult[]>;
  producer(options: { acks: Acks; lingerMs?: number; batchBytes?: number }): Promise<CliProducer>;
  consumer(spec: ConsumeSpec): Promise<CliConsumer>;
  close(): Promise<void>;
}

/**
 * Opens a session, runs `work`, and always closes it. Errors are given the action's name
 * ("cannot create topic my-topic: ...") so the one line the user sees says what failed.
 */
export async function withSession<T>(
  context: CommandContext,
  action: string,
  work: (session: ClusterSession) => Promise<T>,
  options: { clientId?: string } = {},
): Promise<T> {
  const session = await openSdkSession(context.bootstrapServers, { verbose: context.verbose, clientId: options.clientId ?? "tributary-cli" });
  try {
    return await work(session);
  } catch (error) {
    throw new ActionError(action, error, context.bootstrapServersText);
  } finally {
    await session.close().catch(() => undefined);
  }
}
