// What the user sees when a command fails: one line that says what failed, why, and what to do,
// and the exit code (1: the operation failed, 2: the command line was wrong). Stack traces are
// for --verbose only; they are noise to someone who mistyped a port.
import { ConfigError, TributaryError } from "@tributary/protocol";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A failure the CLI explains itself; `hint` says what to do about it. */
export class CliError extends Error {
  override readonly name: string = "CliError";
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode: number = EXIT_FAILURE,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The command line itself is wrong (exit code 2). */
export class UsageError extends CliError {
  override readonly name = "UsageError";
  constructor(message: string, hint?: string) {
    super(message, hint, EXIT_USAGE);
  }
}

export interface FailureContext {
  /** What the command was doing, e.g. "create topic my-topic". */
  action?: string;
  /** The bootstrap servers it talked to, for "cannot reach" messages. */
  bootstrapServers?: string;
}

const HINTS: Partial<Record<string, string>> = {
  UNKNOWN_TOPIC_OR_PARTITION: "check the name with `tributary topics list`",
  TOPIC_ALREADY_EXISTS: "pick another name, or delete it first with `tributary topics delete`",
  INVALID_REPLICATION_FACTOR: "use a replication factor no larger than the number of live brokers (see `tributary cluster describe`)",
  INVALID_PARTITIONS: "the partition count must be at least 1, and `topics alter` can only increase it",
  INVALID_CONFIG: "see the configuration reference in README.md",
  NOT_ENOUGH_REPLICAS: "start the missing brokers, or lower min.insync.replicas / use --acks 1",
  GROUP_ID_NOT_FOUND: "check the name with `tributary groups list`",
  NON_EMPTY_GROUP: "stop the group's consumers first",
  INVALID_TOPIC: "topic names are 1-249 characters of letters, digits, '.', '_' and '-'",
  REQUEST_TIMED_OUT: "check that the cluster is healthy with `tributary cluster describe`",
  LEADER_NOT_AVAILABLE: "a leader election is under way; retry in a moment",
};

const NETWORK_CODES = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENOTFOUND", "ETIMEDOUT", "ECONNRESET"]);

function errnoCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** gRPC status 14 (UNAVAILABLE) and 4 (DEADLINE_EXCEEDED) on connect mean the broker is not there. */
function isUnreachable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 14) return true;
  if (typeof code === "string" && NETWORK_CODES.has(code)) return true;
  if (error instanceof TributaryError && (error.code === "NETWORK_EXCEPTION" || error.code === "BROKER_NOT_AVAILABLE")) return true;
  const message = error instanceof Error ? error.message : "";
  return /ECONNREFUSED|No connection established|failed to connect|UNAVAILABLE/i.test(message);
}

function prefix(context: FailureContext): string {
  return context.action ? `cannot ${context.action}: ` : "";
}

/** A failure while doing a named action ("create topic my-topic"); the line names the action. */
export class ActionError extends Error {
  override readonly name = "ActionError";
  constructor(
    readonly action: string,
    override readonly cause: unknown,
    readonly bootstrapServers: string,
  ) {
    super(describeFailure(cause, { action, bootstrapServers }), { cause });
  }
}

/** One line for the terminal: "cannot X: why; what to do". */
export function describeFailure(error: unknown, context: FailureContext = {}): string {
  if (error instanceof ActionError) return error.message;
  if (error instanceof CliError) {
    return `${prefix(context)}${error.message}${error.hint ? `; ${error.hint}` : ""}`;
  }
  if (error instanceof ConfigError) {
    const unreadable = /cannot read the properties file/.test(error.message);
    return `${prefix(context)}bad configuration: ${error.message}; ${unreadable ? "check the --config path" : "fix the value and start again"}`;
  }
  if (isUnreachable(error)) {
    const where = context.bootstrapServers ?? "the bootstrap servers";
    return `${prefix(context)}no broker reachable at ${where}; start one with \`tributary dev\` or pass --bootstrap-server host:port`;
  }
  if (error instanceof TributaryError) {
    const hint = HINTS[error.code];
    // The SDK often starts its message with the operation, which the prefix already says.
    const message = context.action && error.message.startsWith(`${context.action}: `) ? error.message.slice(context.action.length + 2) : error.message;
    return `${prefix(context)}${message} (${error.code})${hint ? `; ${hint}` : ""}`;
  }
  const code = errnoCode(error);
  const text = error instanceof Error ? error.message : String(error);
  // grpc-js reports a taken port inside its own message, without an errno code.
  if (code === "EADDRINUSE" || /EADDRINUSE/.test(text)) {
    const port = /in use:? \S*?:(\d+)\b/.exec(text)?.[1] ?? /:(\d+)\b/.exec(text)?.[1];
    return `${prefix(context)}port ${port ?? ""} is already in use`.replace(/ {2}/, " ") +
      "; stop the other process (`tributary dev` may already be running) or choose other ports";
  }
  if (code === "EACCES") return `${prefix(context)}permission denied: ${(error as Error).message}; check the folder's owner and mode`;
  const message = error instanceof Error ? error.message : String(error);
  return `${prefix(context)}${message}`;
}

/** The exit code for an error: usage errors 2, everything else 1. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof ActionError) return exitCodeOf(error.cause);
  return error instanceof CliError ? error.exitCode : EXIT_FAILURE;
}
