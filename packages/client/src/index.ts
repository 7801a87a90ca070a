// @tributary/client: the Tributary SDK (Producer, Consumer, Admin), shaped after Kafka's Java
// client: `new Tributary({ bootstrapServers, clientId })`, then client.producer(...),
// client.consumer(...), client.admin(). Offsets are bigint; errors are typed with their code.
export { Tributary, type TributaryOptions } from "./tributary.js";
export type { ClientLogger } from "./logger.js";
export { Producer, type ProducerCloseOptions } from "./producer/producer.js";
export type { Acks, ProducerOptions, ProducerRecord, ProducerRecordHeader, RecordMetadata, SendCallback } from "./producer/types.js";
export { Consumer, type CommitCallback, type ConsumerEvent, type OffsetAndMetadata, type PartitionLag } from "./consumer/consumer.js";
export type { ConsumerOptions, ConsumerRecord, ConsumerRecordHeader, OffsetResetPolicy, RebalanceListener, TopicPartition } from "./consumer/types.js";
export {
  Admin,
  type ConfigDescription,
  type ConfigResourceRef,
  type CreateTopicsOptions,
  type GroupDescription,
  type GroupListing,
  type GroupPartitionOffset,
  type ListedOffset,
  type NewTopic,
  type PartitionDescription,
  type TopicDescription,
} from "./admin.js";
export {
  TributaryError,
  type ErrorCode,
  LeadershipError,
  TopicError,
  ReplicationError,
  NetworkError,
  TimeoutError,
  BufferExhaustedError,
  RecordTooLargeError,
  ProducerStateError,
  CoordinatorError,
  GroupMembershipError,
  OffsetOutOfRangeError,
  ConfigurationError,
  IllegalStateError,
  errorFor,
} from "./errors.js";
export { serializers, jsonSerde, partitioners, createStickyPartitioner, SerializationError, type Serializer, type Deserializer, type Serde, type Partitioner, type CompressionType } from "@tributary/records";
