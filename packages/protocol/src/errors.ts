// The one list of error codes every side shares (numbers in proto/tributary/v1/common.proto),
// with whether a caller may retry, and the typed error class the SDK and servers raise.
import type { ErrorCode as ErrorCodeEnum } from "./generated/tributary/v1/ErrorCode.js";

/** An error code's name, e.g. "NOT_LEADER_OR_FOLLOWER". */
export type ErrorCode = Exclude<keyof typeof ErrorCodeEnum, never>;

interface ErrorCodeInfo {
  retriable: boolean;
  /** What it means, for messages and docs. */
  description: string;
}

// Retriable means: the same request may succeed later without changing it (after a metadata
// refresh, a backoff, or a new leader). Non-retriable errors need a different request.
export const ERROR_CODES: Readonly<Record<ErrorCode, ErrorCodeInfo>> = {
  NONE: { retriable: false, description: "No error." },
  UNKNOWN_SERVER_ERROR: { retriable: false, description: "The server hit an unexpected error; see its log." },
  OFFSET_OUT_OF_RANGE: { retriable: false, description: "The offset is outside the partition's log." },
  CORRUPT_MESSAGE: { retriable: false, description: "A record batch failed its CRC or size checks." },
  UNKNOWN_TOPIC_OR_PARTITION: { retriable: true, description: "This broker does not know the topic or partition." },
  INVALID_FETCH_SIZE: { retriable: false, description: "The requested fetch size is invalid." },
  LEADER_NOT_AVAILABLE: { retriable: true, description: "The partition has no leader right now (an election is under way)." },
  NOT_LEADER_OR_FOLLOWER: { retriable: true, description: "This broker is not the leader (or a replica) of the partition." },
  REQUEST_TIMED_OUT: { retriable: true, description: "The request timed out." },
  BROKER_NOT_AVAILABLE: { retriable: true, description: "The broker is not available." },
  REPLICA_NOT_AVAILABLE: { retriable: true, description: "The replica is not available." },
  MESSAGE_TOO_LARGE: { retriable: false, description: "A batch is larger than the largest the server accepts." },
  OFFSET_METADATA_TOO_LARGE: { retriable: false, description: "The commit metadata string is too large." },
  NETWORK_EXCEPTION: { retriable: true, description: "The connection failed before a response was received." },
  COORDINATOR_LOAD_IN_PROGRESS: { retriable: true, description: "The group coordinator is still loading offsets." },
  COORDINATOR_NOT_AVAILABLE: { retriable: true, description: "The group coordinator is not available." },
  NOT_COORDINATOR: { retriable: true, description: "This broker is not the group's coordinator." },
  INVALID_TOPIC: { retriable: false, description: "The topic name is invalid." },
  RECORD_LIST_TOO_LARGE: { retriable: false, description: "The request's records are larger than a segment." },
  NOT_ENOUGH_REPLICAS: { retriable: true, description: "Fewer in-sync replicas than min.insync.replicas." },
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: { retriable: true, description: "Written, but to fewer in-sync replicas than required." },
  INVALID_REQUIRED_ACKS: { retriable: false, description: "acks must be 0, 1 or -1 (all)." },
  ILLEGAL_GENERATION: { retriable: false, description: "The group generation is not current." },
  INVALID_GROUP_ID: { retriable: false, description: "The group id is invalid." },
  UNKNOWN_MEMBER_ID: { retriable: false, description: "The coordinator does not know this member; rejoin." },
  INVALID_SESSION_TIMEOUT: { retriable: false, description: "The session timeout is outside the allowed range." },
  REBALANCE_IN_PROGRESS: { retriable: false, description: "The group is rebalancing." },
  INVALID_TIMESTAMP: { retriable: false, description: "A timestamp is out of the acceptable range." },
  UNSUPPORTED_VERSION: { retriable: false, description: "The request version is not supported." },
  TOPIC_ALREADY_EXISTS: { retriable: false, description: "A topic with this name already exists." },
  INVALID_PARTITIONS: { retriable: false, description: "The partition count is invalid." },
  INVALID_REPLICATION_FACTOR: { retriable: false, description: "Replication factor is below 1 or above the number of live brokers." },
  INVALID_REPLICA_ASSIGNMENT: { retriable: false, description: "The replica assignment is invalid." },
  INVALID_CONFIG: { retriable: false, description: "A configuration value is invalid." },
  NOT_CONTROLLER: { retriable: true, description: "This controller is not the active one." },
  INVALID_REQUEST: { retriable: false, description: "The request is malformed." },
  POLICY_VIOLATION: { retriable: false, description: "The request violates a configured policy." },
  OUT_OF_ORDER_SEQUENCE_NUMBER: { retriable: false, description: "The producer's sequence number has a gap." },
  DUPLICATE_SEQUENCE_NUMBER: { retriable: false, description: "The producer's sequence number was already written." },
  INVALID_PRODUCER_EPOCH: { retriable: false, description: "The producer epoch is older than the current one (fenced)." },
  KAFKA_STORAGE_ERROR: { retriable: true, description: "A disk error on the broker." },
  UNKNOWN_PRODUCER_ID: { retriable: false, description: "The broker has no state for this producer id." },
  NON_EMPTY_GROUP: { retriable: false, description: "The group still has members." },
  GROUP_ID_NOT_FOUND: { retriable: false, description: "The group does not exist." },
  FENCED_LEADER_EPOCH: { retriable: true, description: "The leader epoch in the request is older than the broker's." },
  INVALID_FETCH_SESSION_EPOCH: { retriable: true, description: "The incremental fetch does not follow the session's last one: send a full fetch (session epoch 1)." },
  UNKNOWN_LEADER_EPOCH: { retriable: true, description: "The leader epoch in the request is newer than the broker's." },
  UNSUPPORTED_COMPRESSION_TYPE: { retriable: false, description: "The compression type is not supported." },
  STALE_BROKER_EPOCH: { retriable: false, description: "The broker epoch is not current (the broker restarted)." },
  OFFSET_NOT_AVAILABLE: { retriable: true, description: "The new leader's high watermark has not caught up yet." },
  ELIGIBLE_LEADERS_NOT_AVAILABLE: { retriable: true, description: "No eligible leader is available for the partition." },
  ELECTION_NOT_NEEDED: { retriable: false, description: "The partition already has its preferred leader." },
  INVALID_RECORD: { retriable: false, description: "A record failed broker-side validation." },
  THROTTLING_QUOTA_EXCEEDED: { retriable: true, description: "A quota was exceeded; back off." },
  RESOURCE_NOT_FOUND: { retriable: false, description: "The named resource does not exist." },
  DUPLICATE_RESOURCE: { retriable: false, description: "The request names the same resource twice." },
  INVALID_UPDATE_VERSION: { retriable: false, description: "The partition epoch does not match; refresh and retry." },
  SNAPSHOT_NOT_FOUND: { retriable: false, description: "The requested snapshot was not found." },
  DUPLICATE_BROKER_REGISTRATION: { retriable: true, description: "This broker id is registered by another live process." },
  BROKER_ID_NOT_REGISTERED: { retriable: false, description: "The broker id is not registered." },
  INCONSISTENT_CLUSTER_ID: { retriable: false, description: "The cluster id does not match this cluster's." },
  INELIGIBLE_REPLICA: { retriable: false, description: "The new ISR holds a replica that cannot be in it (fenced or not a replica)." },
  NEW_LEADER_ELECTED: { retriable: false, description: "The partition changed leader while the request was in flight." },
  FENCED_MEMBER_EPOCH: { retriable: false, description: "The member epoch is fenced; give up partitions and rejoin." },
  UNSUPPORTED_ASSIGNOR: { retriable: false, description: "The server-side assignor is not supported." },
  STALE_MEMBER_EPOCH: { retriable: false, description: "The member epoch is stale." },
  BROKER_SHUTTING_DOWN: { retriable: true, description: "The broker is shutting down." },
  RESOURCE_EXHAUSTED: { retriable: true, description: "A server limit (memory, connections, queue) was reached; back off." },
  INVALID_LEADER_EPOCH: { retriable: false, description: "The leader epoch is invalid." },
};

export function isRetriable(code: ErrorCode): boolean {
  return ERROR_CODES[code]?.retriable ?? false;
}

/** A typed error carrying a protocol error code; the SDK raises these, servers build responses from them. */
export class TributaryError extends Error {
  override readonly name: string = "TributaryError";
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ERROR_CODES[code]?.description ?? code, options);
    this.code = code;
    this.retriable = isRetriable(code);
  }

  /** The response form: `{ code, message }`. */
  toResponse(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** The `{code, message}` of a response: NONE when there is no error. */
export interface ResponseError {
  code: ErrorCode | number | string;
  message: string;
}

export const NO_ERROR: ResponseError = { code: "NONE", message: "" };

export function responseError(code: ErrorCode, message?: string): ResponseError {
  return { code, message: message ?? ERROR_CODES[code].description };
}

/** Normalizes a decoded error code (a name, or a number the loader did not recognize). */
export function errorCodeOf(error: { code?: unknown } | null | undefined): ErrorCode {
  const code = error?.code;
  if (code === undefined || code === null || code === "" || code === 0) return "NONE";
  if (typeof code === "string" && code in ERROR_CODES) return code as ErrorCode;
  return "UNKNOWN_SERVER_ERROR";
}

/** Throws the response's error as a TributaryError unless it is NONE. */
export function throwIfError(error: { code?: unknown; message?: string } | null | undefined, context?: string): void {
  const code = errorCodeOf(error);
  if (code === "NONE") return;
  const message = error?.message || ERROR_CODES[code].description;
  throw new TributaryError(code, context ? `${context}: ${message}` : message);
}
