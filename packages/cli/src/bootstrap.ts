// --bootstrap-server host:port[,host:port]: checked before any connection is tried, so a typo is
// a usage error (exit 2) and not a timeout.
import { UsageError } from "./errors.js";

export const DEFAULT_BOOTSTRAP_SERVER = "localhost:9092";

export interface HostPort {
  host: string;
  port: number;
}

export function parseHostPort(entry: string): HostPort {
  const match = /^(\[[^\]]+\]|[^:,\s]+):(\d{1,5})$/.exec(entry.trim());
  const port = match ? Number(match[2]) : NaN;
  if (!match || port < 1 || port > 65_535) {
    throw new UsageError(`"${entry}" is not host:port`, "write it as localhost:9092, several separated by commas");
  }
  return { host: match[1]!.replace(/^\[|\]$/g, ""), port };
}

/** Splits and checks a bootstrap list; returns "host:port" strings as the SDK takes them. */
export function parseBootstrapServers(value: string | readonly string[]): string[] {
  const entries = (typeof value === "string" ? [value] : value)
    .flatMap((part) => part.split(","))
    .map((part) => part.trim())
    .filter((part) => part !== "");
  if (entries.length === 0) throw new UsageError("--bootstrap-server is empty", "give at least one host:port");
  return entries.map((entry) => {
    const { host, port } = parseHostPort(entry);
    return `${host.includes(":") ? `[${host}]` : host}:${port}`;
  });
}
