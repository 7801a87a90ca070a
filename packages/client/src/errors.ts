// The SDK's typed errors. Every error a caller sees is a TributaryError carrying a protocol code
// and a `retriable` flag (from @tributary/protocol's one list); the subclasses group codes into
// the families a caller branches on, so `err instanceof LeadershipError` reads as Java's
// `NotLeaderOrFollowerException` does, while `err.code` stays exact.
import { ERROR_CODES, type ErrorCode, TributaryError, errorCodeOf } from "@tributary/protocol";

export { TributaryError, type ErrorCode };

/** The partition's leader moved or is unknown: refresh metadata and retry. */
export class LeadershipError extends TributaryError {
  override readonly name: string = "LeadershipError";
}
/** The topic or partition does not exist, or its name is invalid. */
export class TopicError extends TributaryError {
  override readonly name: string = "TopicError";
}
/** Too few in-sync replicas for the write's acks. */
export class ReplicationError extends TributaryError {
  override readonly name: string = "ReplicationError";
}
/** The broker could not be reached, or the call ran past its deadline. */
export class NetworkError extends TributaryError {
  override readonly name: string = "NetworkError";
}
/** Something took longer than allowed: a request, a delivery, or a wait for buffer space. */
export class TimeoutError extends TributaryError {
  override readonly name: string = "TimeoutError";
}
/** send() waited `maxBlockMs` for buffer memory or metadata and gave up (Kafka's BufferExhaustedException). */
export class BufferExhaustedError extends TimeoutError {
  override readonly name: string = "BufferExhaustedError";
}
/** A record or request is larger than allowed. */
export class RecordTooLargeError extends TributaryError {
  override readonly name: string = "RecordTooLargeError";
}
/** The idempotent producer's id, epoch or sequence was refused. */
export class ProducerStateError extends TributaryError {
  override readonly name: string = "ProducerStateError";
}
/** The group coordinator moved or is loading: find it again and retry. */
export class CoordinatorError extends TributaryError {
  override readonly name: string = "CoordinatorError";
}
/** The member is unknown, fenced or stale: it must rejoin (its partitions are lost). */
export class GroupMembershipError extends TributaryError {
  override readonly name: string = "GroupMembershipError";
}
/** The offset is outside the log and autoOffsetReset is "none". */
export class OffsetOutOfRangeError extends TributaryError {
  override readonly name: string = "OffsetOutOfRangeError";
}
/** A topic, partition or broker configuration was refused. */
export class ConfigurationError extends TributaryError {
  override readonly name: string = "ConfigurationError";
}
/** The client, producer or consumer was used after close(), or in a state that forbids the call. */
export class IllegalStateError extends TributaryError {
  override readonly name: string = "IllegalStateError";
  constructor(message: string) {
    super("INVALID_REQUEST", message);
  }
}

type ErrorClass = new (code: ErrorCode, message?: string, options?: { cause?: unknown }) => TributaryError;

const FAMILIES: Partial<Record<ErrorCode, ErrorClass>> = {
  NOT_LEADER_OR_FOLLOWER: LeadershipError,
  LEADER_NOT_AVAILABLE: LeadershipError,
  FENCED_LEADER_EPOCH: LeadershipError,
  UNKNOWN_LEADER_EPOCH: LeadershipError,
  NEW_LEADER_ELECTED: LeadershipError,
  ELIGIBLE_LEADERS_NOT_AVAILABLE: LeadershipError,
  REPLICA_NOT_AVAILABLE: LeadershipError,
  OFFSET_NOT_AVAILABLE: LeadershipError,
  UNKNOWN_TOPIC_OR_PARTITION: TopicError,
  INVALID_TOPIC: TopicError,
  TOPIC_ALREADY_EXISTS: TopicError,
  INVALID_PARTITIONS: TopicError,
  INVALID_REPLICATION_FACTOR: TopicError,
  INVALID_REPLICA_ASSIGNMENT: TopicError,
  NOT_ENOUGH_REPLICAS: ReplicationError,
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: ReplicationError,
  NETWORK_EXCEPTION: NetworkError,
  BROKER_NOT_AVAILABLE: NetworkError,
  BROKER_SHUTTING_DOWN: NetworkError,
  REQUEST_TIMED_OUT: TimeoutError,
  MESSAGE_TOO_LARGE: RecordTooLargeError,
  RECORD_LIST_TOO_LARGE: RecordTooLargeError,
  OUT_OF_ORDER_SEQUENCE_NUMBER: ProducerStateError,
  DUPLICATE_SEQUENCE_NUMBER: ProducerStateError,
  INVALID_PRODUCER_EPOCH: ProducerStateError,
  UNKNOWN_PRODUCER_ID: ProducerStateError,
  NOT_COORDINATOR: CoordinatorError,
  COORDINATOR_NOT_AVAILABLE: CoordinatorError,
  COORDINATOR_LOAD_IN_PROGRESS: CoordinatorError,
  UNKNOWN_MEMBER_ID: GroupMembershipError,
  FENCED_MEMBER_EPOCH: GroupMembershipError,
  STALE_MEMBER_EPOCH: GroupMembershipError,
  ILLEGAL_GENERATION: GroupMembershipError,
  REBALANCE_IN_PROGRESS: GroupMembershipError,
  OFFSET_OUT_OF_RANGE: OffsetOutOfRangeError,
  INVALID_CONFIG: ConfigurationError,
  POLICY_VIOLATION: ConfigurationError,
};

/** The typed error for a protocol code: the family's class when it has one. */
export function errorFor(code: ErrorCode, message?: string, options?: { cause?: unknown }): TributaryError {
  const ErrorType = FAMILIES[code] ?? TributaryError;
  return new ErrorType(code, message ?? ERROR_CODES[code]?.description ?? code, options);
}

/** The response's `{ code, message }` as a typed error, or null for NONE. */
export function responseErrorOf(error: { code?: unknown; message?: string } | null | undefined, context?: string): TributaryError | null {
  const code = errorCodeOf(error);
  if (code === "NONE") return null;
  const message = error?.message || ERROR_CODES[code].description;
  return errorFor(code, context === undefined ? message : `${context}: ${message}`);
}

/** Throws the response's error as a typed error unless it is NONE. */
export function throwResponseError(error: { code?: unknown; message?: string } | null | undefined, context?: string): void {
  const typed = responseErrorOf(error, context);
  if (typed !== null) throw typed;
}

/** Any thrown value as a TributaryError (a non-Tributary error becomes UNKNOWN_SERVER_ERROR with it as cause). */
export function asTributaryError(error: unknown): TributaryError {
  if (error instanceof TributaryError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new TributaryError("UNKNOWN_SERVER_ERROR", message, { cause: error });
}
