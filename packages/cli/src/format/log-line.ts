// Turns the pino JSON lines that controllers and brokers write into one readable line each for
// `tributary dev`: "12:00:01.234 INFO  broker 1  listening port=9092". A line that is not pino
// JSON passes through as it is, so nothing a process prints is lost.

const LEVEL_NAMES: Readonly<Record<number, string>> = {
  10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL",
};

// Fields every pino line has, shown in the fixed part of the line or not at all.
// role and nodeId are what the label already says ("broker 0").
const FIXED_FIELDS = new Set(["level", "time", "msg", "pid", "hostname", "name", "v", "role", "nodeId"]);

function formatValue(value: unknown): string {
  if (typeof value === "string") return /[\s="]/.test(value) || value === "" ? JSON.stringify(value) : value;
  if (value !== null && typeof value === "object") {
    const error = value as { type?: unknown; message?: unknown };
    if (typeof error.message === "string") return JSON.stringify(error.message);
    return JSON.stringify(value);
  }
  return String(value);
}

function clockTime(epochMs: number): string {
  const date = new Date(epochMs);
  const pad = (n: number, width = 2): string => String(n).padStart(width, "0");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

/** `label` names the process (e.g. "broker 1"); `minLevel` hides lines below it (30: info). */
export function formatLogLine(line: string, label: string, minLevel = 30): string | null {
  const trimmed = line.trim();
  if (trimmed === "") return null;
  let entry: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(trimmed);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return `${label.padEnd(12)} ${trimmed}`;
    entry = parsed as Record<string, unknown>;
  } catch {
    return `${label.padEnd(12)} ${trimmed}`;
  }
  const level = typeof entry.level === "number" ? entry.level : 30;
  if (level < minLevel) return null;
  const levelName = (LEVEL_NAMES[level] ?? String(level)).padEnd(5);
  const time = typeof entry.time === "number" ? clockTime(entry.time) : "--:--:--.---";
  const fields = Object.entries(entry)
    .filter(([key]) => !FIXED_FIELDS.has(key))
    .map(([key, value]) => `${key}=${formatValue(value)}`);
  const message = typeof entry.msg === "string" ? entry.msg : "";
  return [time, levelName, label.padEnd(12), message, ...fields].join(" ").trimEnd();
}

/** Splits a stream's chunks into whole lines; keeps the unfinished tail for the next chunk. */
export class LineSplitter {
  private pending = "";

  push(chunk: string): string[] {
    const text = this.pending + chunk;
    const lines = text.split("\n");
    this.pending = lines.pop() ?? "";
    return lines;
  }

  flush(): string[] {
    const rest = this.pending;
    this.pending = "";
    return rest === "" ? [] : [rest];
  }
}
