// @tributary/broker: the broker process — produce, fetch, replication with ISR, high watermark
// and leader epochs, the Admin service, and the hook the group coordinator runs on.
export { startBroker, type BrokerHandle, type StartBrokerOptions } from "./broker.js";
export { runBroker, loadBrokerConfig, parseBrokerArgs, type RunBrokerOptions } from "./process.js";
export { type BrokerLimits, DEFAULT_LIMITS } from "./broker-context.js";
export {
  OFFSETS_TOPIC,
  type CoordinatorPartitionAccess,
  type CommittedRead,
  type LeadershipChange,
  type PartitionLeader,
} from "./coordinator-partitions.js";
export { LeaderPartitionState, checkLeaderEpoch, findDivergence, truncationOffset, type EpochEndOffset } from "./partition-state.js";
export { DelayedOperations, type DelayedOperation } from "./delayed-operations.js";
