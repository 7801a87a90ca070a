// The group coordinator (KIP-848-style consumer groups with server-side assignment), as the
// broker wires it: createGroupsService(deps) gives the Groups gRPC handlers and the coordinator.
// The broker supplies a CoordinatorPartitionAccess over its __consumer_offsets partitions and a
// partitionsOf(topic) lookup into its MetadataImage.
export { createGroupsService, type GroupsService, type GroupsServiceDeps } from "./service.js";
export { GroupCoordinator, type CoordinatorDeps, type CoordinatorLogger } from "./coordinator.js";
export { CoordinatorError } from "./coordinator-errors.js";
export { type CoordinatorSettings, DEFAULT_COORDINATOR_SETTINGS, coordinatorSettingsFromConfig } from "./settings.js";
export type { CoordinatorPartitionAccess, CommittedRead, LeadershipChange, PartitionLeader, Clock } from "./types.js";
export { offsetsPartitionFor, javaStringHashCode } from "./group-partition.js";
export { ASSIGNORS, rangeAssignor, uniformAssignor, type Assignor, type AssignorInput, type AssignorMember } from "./assignors/index.js";
export { ConsumerGroup, type GroupState, type GroupSettings } from "./group.js";
export * as offsetsRecordFormat from "./record-format.js";
