// Retries with exponential backoff for retriable errors, bounded by a count and a deadline.
// The delay rule is a pure function (attempt -> ms, randomness injected) so it is tested
// without clocks; `retrying` is the one loop every admin and group call goes through.
import { TributaryError } from "@tributary/protocol";
import { TimeoutError } from "./errors.js";

export interface BackoffPolicy {
  /** The first retry waits about this long. */
  initialBackoffMs: number;
  /** No wait is longer than this. */
  maxBackoffMs: number;
  /** Each retry waits this many times longer than the one before. */
  multiplier: number;
  /** +/- this fraction of the delay, so clients that failed together do not retry together. */
  jitterFraction: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialBackoffMs: 100, maxBackoffMs: 1_000, multiplier: 2, jitterFraction: 0.2 };

/** The wait before retry number `attempt` (1 for the first retry). `random` returns [0, 1). */
export function backoffDelayMs(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`attempt must be an integer >= 1, got ${attempt}`);
  const exponential = policy.initialBackoffMs * policy.multiplier ** (attempt - 1);
  const capped = Math.min(exponential, policy.maxBackoffMs);
  const jitter = capped * policy.jitterFraction * (2 * random() - 1);
  return Math.max(0, Math.round(capped + jitter));
}

export interface RetryOptions {
  policy: BackoffPolicy;
  /** Retries after the first attempt; 0 means one attempt only. */
  retries: number;
  /** Give up (with the last error) once this much time has passed since the first attempt. */
  timeoutMs: number;
  /** Called before each retry with the retriable error: refresh metadata, find a coordinator again, ... */
  onRetriable?: (error: TributaryError, attempt: number) => Promise<void> | void;
  /** Whether an error is worth retrying; by default, the error's own `retriable` flag. */
  isRetriable?: (error: TributaryError) => boolean;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** A short description of the operation, for the timeout error's message. */
  operation?: string;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `op` until it succeeds, fails with a non-retriable error, or runs out of retries or time. */
export async function retrying<T>(op: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const now = options.now ?? Date.now;
  const wait = options.sleep ?? sleep;
  const startedMs = now();
  const isRetriable = options.isRetriable ?? ((error: TributaryError) => error.retriable);
  for (let attempt = 0; ; attempt++) {
    try {
      return await op(attempt);
    } catch (thrown) {
      // Programming errors (TypeError, assertion) are not retried and keep their own type.
      if (!(thrown instanceof TributaryError)) throw thrown;
      const error = thrown;
      if (!isRetriable(error) || attempt >= options.retries) throw error;
      const delayMs = backoffDelayMs(options.policy, attempt + 1);
      if (now() + delayMs - startedMs > options.timeoutMs) {
        throw new TimeoutError("REQUEST_TIMED_OUT", `${options.operation ?? "request"} did not succeed within ${options.timeoutMs} ms: ${error.message}`, {
          cause: error,
        });
      }
      await options.onRetriable?.(error, attempt + 1);
      await wait(delayMs);
    }
  }
}
