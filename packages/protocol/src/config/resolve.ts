// Turns properties files, command-line flags and TRIBUTARY_* environment variables into typed,
// validated values. Precedence: flags > environment > file > default.
import {
  type ConfigDef,
  type ConfigType,
  type ConfigValue,
  SERVER_CONFIGS,
  type ServerConfigValues,
  TOPIC_CONFIGS,
  type TopicConfigValues,
} from "./definitions.js";
import { ConfigError, type PropertyValue } from "./properties.js";

/** TRIBUTARY_LOG_DIRS for log.dirs: how containers set any key. */
export function envVarName(configName: string): string {
  return `TRIBUTARY_${configName.toUpperCase().replace(/[.-]/g, "_")}`;
}

export function parseConfigValue<T extends ConfigType>(def: ConfigDef<T>, raw: string, source: PropertyValue | string): ConfigValue<T> {
  const where = typeof source === "string" ? { file: undefined, line: undefined, label: source } : { file: source.file, line: source.line, label: source.source };
  const fail = (why: string): never => {
    if (where.file) throw new ConfigError(`${def.name}=${raw}: ${why}`, where.file, where.line);
    throw new ConfigError(`${def.name}=${raw} (from ${where.label}): ${why}`);
  };
  const text = raw.trim();
  let value: unknown;
  switch (def.type) {
    case "int":
    case "long": {
      if (!/^-?\d+$/.test(text)) fail(`expected a whole number`);
      const n = Number(text);
      if (!Number.isSafeInteger(n)) fail(`number is too large`);
      if (def.type === "int" && (n > 2_147_483_647 || n < -2_147_483_648)) fail(`expected a 32-bit integer`);
      value = n;
      break;
    }
    case "double": {
      const n = Number(text);
      if (text === "" || !Number.isFinite(n)) fail(`expected a number`);
      value = n;
      break;
    }
    case "boolean":
      if (!/^(true|false)$/i.test(text)) fail(`expected true or false`);
      value = text.toLowerCase() === "true";
      break;
    case "list":
      value = text === "" ? [] : text.split(",").map((part) => part.trim()).filter((part) => part !== "");
      break;
    case "string":
      value = text;
      break;
  }
  if (typeof value === "number") {
    if (def.min !== undefined && value < def.min) fail(`must be at least ${def.min}`);
    if (def.max !== undefined && value > def.max) fail(`must be at most ${def.max}`);
  }
  if (def.oneOf) {
    const items = Array.isArray(value) ? (value as string[]) : [value as string];
    for (const item of items) if (!def.oneOf.includes(item)) fail(`"${item}" is not one of ${def.oneOf.join(", ")}`);
  }
  return value as ConfigValue<T>;
}

export interface ConfigSources {
  file?: Map<string, PropertyValue>;
  /** Flag overrides by config name, e.g. { "log.dirs": "/data" }. */
  flags?: Record<string, string | undefined>;
  env?: Record<string, string | undefined>;
}

export interface ResolvedConfig<V> {
  values: V;
  /** Keys in the file that no definition knows (Kafka warns and goes on; so do we). */
  unknownKeys: string[];
}

function resolveWith<V>(defs: readonly ConfigDef[], sources: ConfigSources): ResolvedConfig<V> {
  const values: Record<string, unknown> = {};
  const known = new Set<string>();
  for (const def of defs) {
    const names = [def.name, ...(def.synonyms ?? [])];
    names.forEach((name) => known.add(name));
    let chosen: { raw: string; source: PropertyValue | string } | undefined;
    for (const name of names) {
      const flag = sources.flags?.[name];
      if (flag !== undefined) { chosen = { raw: flag, source: `--${name}` }; break; }
    }
    if (!chosen) {
      for (const name of names) {
        const env = sources.env?.[envVarName(name)];
        if (env !== undefined) { chosen = { raw: env, source: envVarName(name) }; break; }
      }
    }
    if (!chosen) {
      for (const name of names) {
        const fromFile = sources.file?.get(name);
        if (fromFile) { chosen = { raw: fromFile.value, source: fromFile }; break; }
      }
    }
    values[def.name] = chosen ? parseConfigValue(def, chosen.raw, chosen.source) : def.default;
  }
  const unknownKeys = [...(sources.file?.keys() ?? [])].filter((key) => !known.has(key));
  return { values: values as V, unknownKeys };
}

export function resolveServerConfig(sources: ConfigSources): ResolvedConfig<ServerConfigValues> {
  return resolveWith<ServerConfigValues>(SERVER_CONFIGS, sources);
}

/** Effective retention in ms: log.retention.ms, else minutes, else hours (Kafka's order). */
export function effectiveRetentionMs(config: ServerConfigValues): number {
  if (config["log.retention.ms"] !== null) return config["log.retention.ms"];
  if (config["log.retention.minutes"] !== null) return config["log.retention.minutes"] < 0 ? -1 : config["log.retention.minutes"] * 60_000;
  return config["log.retention.hours"] < 0 ? -1 : config["log.retention.hours"] * 3_600_000;
}

export function effectiveRollMs(config: ServerConfigValues): number {
  return config["log.roll.ms"] ?? config["log.roll.hours"] * 3_600_000;
}

const SERVER_DEFAULT_OF_TOPIC: Record<string, (c: ServerConfigValues) => unknown> = {
  "log.retention.ms": effectiveRetentionMs,
  "log.roll.ms": effectiveRollMs,
};

/**
 * A topic's effective configs: its overrides, else the server's default for that key, else the
 * topic default. Throws ConfigError on an unknown key or a bad value (INVALID_CONFIG).
 */
export function resolveTopicConfig(overrides: Record<string, string>, server?: ServerConfigValues): TopicConfigValues {
  const byName = new Map(TOPIC_CONFIGS.map((d) => [d.name as string, d as ConfigDef]));
  for (const key of Object.keys(overrides)) {
    if (!byName.has(key)) throw new ConfigError(`unknown topic config "${key}"; known: ${[...byName.keys()].join(", ")}`);
  }
  const values: Record<string, unknown> = {};
  for (const def of TOPIC_CONFIGS as readonly ConfigDef[]) {
    const override = overrides[def.name];
    if (override !== undefined) {
      values[def.name] = parseConfigValue(def, override, "topic config");
      continue;
    }
    let fromServer: unknown = null;
    if (server && def.serverDefault) {
      const derive = SERVER_DEFAULT_OF_TOPIC[def.serverDefault];
      fromServer = derive ? derive(server) : (server as unknown as Record<string, unknown>)[def.serverDefault];
    }
    values[def.name] = fromServer ?? def.default;
  }
  return values as TopicConfigValues;
}

export interface QuorumVoter {
  id: number;
  host: string;
  port: number;
}

/** Parses controller.quorum.voters: `1@host:port,2@host:port`. */
export function parseQuorumVoters(entries: readonly string[]): QuorumVoter[] {
  const voters: QuorumVoter[] = [];
  for (const entry of entries) {
    const match = /^(\d+)@(\[[^\]]+\]|[^:@]+):(\d+)$/.exec(entry.trim());
    if (!match) throw new ConfigError(`controller.quorum.voters entry "${entry}" is not id@host:port`);
    const id = Number(match[1]);
    const port = Number(match[3]);
    if (port < 1 || port > 65535) throw new ConfigError(`controller.quorum.voters entry "${entry}" has an invalid port`);
    if (voters.some((v) => v.id === id)) throw new ConfigError(`controller.quorum.voters names node ${id} twice`);
    voters.push({ id, host: match[2]!.replace(/^\[|\]$/g, ""), port });
  }
  if (voters.length === 0) throw new ConfigError("controller.quorum.voters is empty");
  return voters;
}

export interface Listener {
  name: string;
  host: string;
  port: number;
}

/** Parses listeners like PLAINTEXT://0.0.0.0:9092 or CONTROLLER://:9191 (empty host: all interfaces). */
export function parseListeners(entries: readonly string[]): Listener[] {
  return entries.map((entry) => {
    const match = /^([A-Za-z_][A-Za-z0-9_]*):\/\/(\[[^\]]*\]|[^:]*):(\d+)$/.exec(entry.trim());
    if (!match) throw new ConfigError(`listener "${entry}" is not NAME://host:port`);
    const port = Number(match[3]);
    if (port > 65535) throw new ConfigError(`listener "${entry}" has an invalid port`);
    return { name: match[1]!.toUpperCase(), host: match[2]!.replace(/^\[|\]$/g, ""), port };
  });
}

/** The listeners a server binds: listeners, else Kafka's legacy host.name/port, else the default port. */
export function effectiveListeners(config: ServerConfigValues, defaultName: string, defaultPort: number): Listener[] {
  if (config.listeners && config.listeners.length > 0) return parseListeners(config.listeners);
  return [{ name: defaultName, host: config["host.name"] ?? "", port: config.port ?? defaultPort }];
}
