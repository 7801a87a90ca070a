// --override key=value and --config key=value pairs, and the TRIBUTARY_* environment variables
// handed to servers (which apply them as flags > env > file > default).
import { UsageError } from "../errors.js";

/** Parses repeated `key=value` flags into a record; the flag name is for the error message. */
export function parseKeyValuePairs(pairs: readonly string[] | undefined, flag: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const equals = pair.indexOf("=");
    if (equals <= 0) throw new UsageError(`${flag} "${pair}" is not key=value`, `write it as ${flag} log.dirs=/data/logs`);
    const key = pair.slice(0, equals).trim();
    if (key in result) throw new UsageError(`${flag} sets "${key}" twice`);
    result[key] = pair.slice(equals + 1).trim();
  }
  return result;
}

/** Only the TRIBUTARY_* variables: the rest of the environment has no say in a server's config. */
export function tributaryEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[0].startsWith("TRIBUTARY_") && entry[1] !== undefined),
  );
}
