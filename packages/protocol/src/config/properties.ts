// Java-style .properties parsing (what Kafka's server.properties uses), with errors that name
// the file and line so an operator can fix them.
import { readFileSync } from "node:fs";

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    message: string,
    readonly file?: string,
    readonly line?: number,
  ) {
    super(file ? `${file}${line ? `:${line}` : ""}: ${message}` : message);
  }
}

export interface PropertyValue {
  value: string;
  /** Where it came from, for error messages: "server.properties:12", "--log.dirs", "TRIBUTARY_LOG_DIRS". */
  source: string;
  line?: number;
  file?: string;
}

const ESCAPES: Record<string, string> = { t: "\t", n: "\n", r: "\r", f: "\f" };

function unescape(text: string, file: string | undefined, line: number): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch !== "\\") {
      out += ch;
      continue;
    }
    const next = text[++i];
    if (next === undefined) break;
    if (next === "u") {
      const hex = text.slice(i + 1, i + 5);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new ConfigError(`bad unicode escape \\u${hex}`, file, line);
      out += String.fromCharCode(parseInt(hex, 16));
      i += 4;
    } else {
      out += ESCAPES[next] ?? next;
    }
  }
  return out;
}

/** Splits a logical line at the first unescaped '=', ':' or whitespace. */
function splitKeyValue(logical: string): [string, string] {
  for (let i = 0; i < logical.length; i++) {
    const ch = logical[i]!;
    if (ch === "\\") {
      i++;
      continue;
    }
    if (ch === "=" || ch === ":" || ch === " " || ch === "\t") {
      let rest = logical.slice(i + 1);
      if (ch === " " || ch === "\t") rest = rest.replace(/^[ \t]*[=:]?/, "");
      return [logical.slice(0, i), rest.replace(/^[ \t\f]+/, "")];
    }
  }
  return [logical, ""];
}

/** Parses .properties text; duplicate keys are an error (a likely mistake in a config file). */
export function parseProperties(text: string, file?: string): Map<string, PropertyValue> {
  const result = new Map<string, PropertyValue>();
  const lines = text.split(/\r\n|\r|\n/);
  for (let index = 0; index < lines.length; index++) {
    const startLine = index + 1;
    let logical = lines[index]!.replace(/^[ \t\f]+/, "");
    if (logical === "" || logical.startsWith("#") || logical.startsWith("!")) continue;
    // A line ending in an odd number of backslashes continues on the next line.
    while (/(^|[^\\])(\\\\)*\\$/.test(logical)) {
      logical = logical.slice(0, -1);
      index++;
      if (index >= lines.length) break;
      logical += lines[index]!.replace(/^[ \t\f]+/, "");
    }
    const [rawKey, rawValue] = splitKeyValue(logical);
    const key = unescape(rawKey, file, startLine);
    if (key === "") throw new ConfigError(`line has a value but no key: "${logical}"`, file, startLine);
    if (result.has(key)) {
      const first = result.get(key)!;
      throw new ConfigError(`"${key}" is set twice (first at line ${first.line})`, file, startLine);
    }
    result.set(key, {
      value: unescape(rawValue.replace(/[ \t]+$/, ""), file, startLine),
      source: file ? `${file}:${startLine}` : `line ${startLine}`,
      line: startLine,
      ...(file ? { file } : {}),
    });
  }
  return result;
}

export function readPropertiesFile(path: string): Map<string, PropertyValue> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(`cannot read the properties file: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, path);
  }
  return parseProperties(text, path);
}
