// What the fetcher does about one partition's error in a Fetch answer. Pure: the code, the
// offset that was asked for and the log bounds the broker sent decide it, so every case is
// tested without brokers.
//
// Leadership errors (the broker is not the leader, or the leader epoch the consumer sent is
// older than the broker's) need the partition's current leader: a hint or a metadata refresh.
// UNKNOWN_LEADER_EPOCH means the consumer's epoch is newer than the broker's: the broker has
// not yet learned of the election the consumer knows about, so the same broker is asked again
// shortly. OFFSET_OUT_OF_RANGE below the log start is retention at work (the reset policy
// decides); above the log end of the leader of the epoch the consumer sent, the log was
// truncated under the consumer's position (an unclean election), and fetching resumes at the
// new log end, where the offsets that diverge begin, instead of rewinding the whole log (or
// skipping to its end) as a blind reset would.
import type { ErrorCode } from "@tributary/protocol";

export type FetchErrorAction =
  /** Learn the partition's leader again (hint or metadata), then fetch from it after a backoff. */
  | { kind: "find-leader" }
  /** Ask the same leader again after a backoff. */
  | { kind: "retry" }
  /** The position is before the log start (or unknown bounds): look it up by the reset policy. */
  | { kind: "reset" }
  /** The log ends before the fetch offset: resume at `logEndOffset`. */
  | { kind: "truncated"; logEndOffset: number }
  /** Not retriable: poll() raises it. */
  | { kind: "raise" };

const FIND_LEADER: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "NOT_LEADER_OR_FOLLOWER",
  "FENCED_LEADER_EPOCH",
  "LEADER_NOT_AVAILABLE",
  "UNKNOWN_TOPIC_OR_PARTITION",
  "REPLICA_NOT_AVAILABLE",
  "NEW_LEADER_ELECTED",
  "KAFKA_STORAGE_ERROR",
]);

export interface FetchErrorInput {
  code: ErrorCode;
  retriable: boolean;
  /** The offset the request asked for. */
  fetchOffset: number;
  /** The leader's log bounds as the answer gave them; -1 when the broker did not say. */
  logStartOffset: number;
  logEndOffset: number;
}

export function fetchErrorAction(input: FetchErrorInput): FetchErrorAction {
  if (input.code === "OFFSET_OUT_OF_RANGE") {
    const { fetchOffset, logStartOffset, logEndOffset } = input;
    if (logEndOffset >= 0 && logStartOffset >= 0 && fetchOffset > logEndOffset && logEndOffset >= logStartOffset) {
      return { kind: "truncated", logEndOffset };
    }
    return { kind: "reset" };
  }
  if (FIND_LEADER.has(input.code)) return { kind: "find-leader" };
  return input.retriable ? { kind: "retry" } : { kind: "raise" };
}
