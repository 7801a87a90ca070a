// @tributary/controller: the metadata state machine on Raft and the controller process.
export { QuorumController, type ControllerWrite, type QuorumControllerOptions } from "./quorum-controller.js";
export {
  type ControllerSettings,
  DEFAULT_MAX_PARTITIONS_PER_REQUEST,
  DEFAULT_PREFERRED_LEADER_CHECK_INTERVAL_MS,
  DEFAULT_PRODUCER_ID_BLOCK_SIZE,
} from "./controller-context.js";
export { ControllerError } from "./errors.js";
export { placeReplicas, rackAlternatedOrder, type PlacementBroker } from "./placement.js";
export { validateTopicName, MAX_TOPIC_NAME_LENGTH } from "./topic-validation.js";
export { applyBatch, batchCodec, cloneImage, encodeBatch, snapshotCodec } from "./metadata-records.js";
export { startController, runController, type RunningController, type StartControllerOptions } from "./process.js";
export {
  resolveControllerConfig,
  clusterIdFromVoters,
  DEFAULT_CONTROLLER_PORT,
  type ControllerConfig,
  type ControllerConfigSources,
} from "./controller-config.js";
export { MetadataLog, type CommittedBatch } from "./metadata-log.js";
export { MetadataStream } from "./metadata-stream.js";
export { ensureMetaProperties, META_PROPERTIES } from "./meta-properties.js";
