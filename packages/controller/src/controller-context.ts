// What every controller operation works with: the active controller's working image (committed
// records plus its own proposals not yet committed, as Kafka's controller keeps them), the
// settings, the broker sessions, and a WriteBuilder that records each new metadata record and
// applies it to the working image at once, so the next step of the same operation sees it.
import { type MetadataImage, type ServerConfigValues, type v1, resolveTopicConfig } from "@tributary/protocol";
import type { BrokerLiveness } from "./broker-liveness.js";
import type { LeaderEligibility } from "./partition-leadership.js";
import { normalizeRecord } from "./metadata-records.js";

export interface ControllerSettings {
  nodeId: number;
  /** Topic defaults (num.partitions, default.replication.factor, log.* defaults) and broker.session.timeout.ms. */
  server: ServerConfigValues;
  /** Producer ids handed to a broker per AllocateProducerIds. */
  producerIdBlockSize: number;
  /** How often leadership is moved back to preferred replicas; Kafka's leader.imbalance.check.interval.seconds. */
  preferredLeaderCheckIntervalMs: number;
  /** Largest number of partitions one request may create, so one write stays a bounded entry. */
  maxPartitionsPerRequest: number;
  /**
   * How long after its last metadata stream to the active controller ends a broker that has not
   * been heard from since is fenced (see BrokerLiveness); at most broker.session.timeout.ms.
   */
  brokerConnectionGraceMs: number;
}

export const DEFAULT_PRODUCER_ID_BLOCK_SIZE = 1000;
export const DEFAULT_PREFERRED_LEADER_CHECK_INTERVAL_MS = 30_000;
export const DEFAULT_MAX_PARTITIONS_PER_REQUEST = 10_000;
/** The least connection grace: a broker's reconnect after a blip (its backoff is 200 ms) fits well within it. */
export const MIN_BROKER_CONNECTION_GRACE_MS = 500;

/**
 * The connection grace for a broker heartbeat interval and session timeout: two heartbeat
 * intervals, so a broker whose stream ended but which is alive is heard from in time even if it
 * cannot reconnect its stream, never less than MIN_BROKER_CONNECTION_GRACE_MS, never more than
 * the session timeout (beyond which expiry fences anyway).
 */
export function brokerConnectionGraceMs(heartbeatIntervalMs: number, sessionTimeoutMs: number): number {
  return Math.min(sessionTimeoutMs, Math.max(MIN_BROKER_CONNECTION_GRACE_MS, 2 * heartbeatIntervalMs));
}

export class WriteBuilder {
  readonly records: v1.MetadataRecord[] = [];
  readonly baseOffset: number;

  constructor(private readonly image: MetadataImage) {
    this.baseOffset = image.lastAppliedOffset + 1;
  }

  /** The offset the next added record will have. */
  nextOffset(): number {
    return this.image.lastAppliedOffset + 1;
  }

  add(record: v1.MetadataRecord): number {
    const offset = this.nextOffset();
    this.image.apply(offset, normalizeRecord(record));
    this.records.push(record);
    return offset;
  }
}

export interface ControllerContext {
  readonly image: MetadataImage;
  readonly settings: ControllerSettings;
  readonly liveness: BrokerLiveness;
  readonly write: WriteBuilder;
  readonly nowMs: number;
  newTopicId(): string;
  /** Advances and returns the round-robin start for placing a new topic's replicas. */
  nextPlacementStart(partitionCount: number): number;
}

/** Active = registered, unfenced and not in controlled shutdown: may lead and join an ISR. */
export function eligibility(image: MetadataImage): LeaderEligibility {
  return {
    isActive(brokerId: number): boolean {
      const broker = image.brokers.get(brokerId);
      return broker !== undefined && !broker.fenced && !broker.inControlledShutdown;
    },
  };
}

export function uncleanElectionAllowed(image: MetadataImage, topicName: string, server: ServerConfigValues): boolean {
  const overrides = Object.fromEntries(image.topicsByName.get(topicName)?.configs ?? []);
  return resolveTopicConfig(overrides, server)["unclean.leader.election.enable"];
}
