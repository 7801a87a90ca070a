// The controller process's configuration, from a properties file, --override flags and
// TRIBUTARY_* environment variables, checked once at start. Errors name the file and line.
import { createHash } from "node:crypto";
import { join } from "node:path";
import {
  ConfigError,
  type PropertyValue,
  type ServerConfigValues,
  effectiveListeners,
  parseQuorumVoters,
  readPropertiesFile,
  resolveServerConfig,
} from "@tributary/protocol";
import type { Voter } from "./controller-node.js";

export const DEFAULT_CONTROLLER_PORT = 9191;

export interface ControllerConfig {
  nodeId: number;
  /** Where to bind ("" = all interfaces) and the port (0 = any free port). */
  host: string;
  port: number;
  voters: Voter[];
  metadataLogDir: string;
  /** cluster.id when configured; otherwise the metadata dir's, or for a new dir one derived from the voters. */
  clusterId: string | null;
  server: ServerConfigValues;
  /** Keys in the file no definition knows (warned about at start). */
  unknownKeys: string[];
}

export interface ControllerConfigSources {
  configFile?: string;
  /** key=value overrides, as given by --override. */
  overrides?: Record<string, string>;
  env?: Record<string, string | undefined>;
}

/** Re-raises a ConfigError from a value with the file and line the value came from. */
function at<T>(value: PropertyValue | undefined, action: () => T): T {
  try {
    return action();
  } catch (error) {
    if (error instanceof ConfigError && value?.file && error.file === undefined) throw new ConfigError(error.message, value.file, value.line);
    throw error;
  }
}

/** When no cluster.id is given, every controller of one quorum derives the same id from the voters. */
export function clusterIdFromVoters(voters: readonly Voter[]): string {
  const text = voters.map((v) => `${v.id}@${v.host}:${v.port}`).sort().join(",");
  return createHash("sha256").update(text).digest("base64url").slice(0, 22);
}

export function resolveControllerConfig(sources: ControllerConfigSources): ControllerConfig {
  const file = sources.configFile ? readPropertiesFile(sources.configFile) : undefined;
  const { values, unknownKeys } = resolveServerConfig({ file, flags: sources.overrides, env: sources.env });
  const nodeIdSource = file?.get("node.id") ?? file?.get("broker.id");
  if (values["node.id"] === null) throw new ConfigError("node.id is required (this controller's id in controller.quorum.voters)", sources.configFile);
  const nodeId = values["node.id"];
  const votersSource = file?.get("controller.quorum.voters");
  const voters = at(votersSource, () => parseQuorumVoters(values["controller.quorum.voters"]));
  if (!voters.some((v) => v.id === nodeId)) {
    at(votersSource ?? nodeIdSource, () => {
      throw new ConfigError(`node.id ${nodeId} is not one of controller.quorum.voters (${voters.map((v) => v.id).join(", ")})`);
    });
  }
  const listenersSource = file?.get("listeners");
  const listener = at(listenersSource, () => effectiveListeners(values, "CONTROLLER", DEFAULT_CONTROLLER_PORT))[0];
  if (!listener) throw new ConfigError("listeners is empty", sources.configFile);
  const metadataLogDir = values["metadata.log.dir"] ?? join(values["log.dirs"][0] ?? "/tmp/tributary-logs", "__cluster_metadata");
  return {
    nodeId,
    host: listener.host,
    port: listener.port,
    voters,
    metadataLogDir,
    clusterId: values["cluster.id"],
    server: values,
    unknownKeys,
  };
}
