// `meta.properties` in the metadata dir names the node and cluster the data belongs to, as in
// Kafka. A dir written by another node or cluster is refused at start rather than mixing two
// histories in one Raft log.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, parseProperties } from "@tributary/protocol";

export const META_PROPERTIES = "meta.properties";

export interface MetaProperties {
  nodeId: number;
  clusterId: string;
}

/**
 * Checks (or, in a new dir, writes) the dir's identity. `configuredClusterId` is what the
 * configuration asks for; when it names none, the dir's own id stands, and a new dir takes
 * `newClusterId`.
 */
export function ensureMetaProperties(dir: string, nodeId: number, configuredClusterId: string | null, newClusterId: string): MetaProperties {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, META_PROPERTIES);
  if (!existsSync(path)) {
    const clusterId = configuredClusterId ?? newClusterId;
    const text = `# Written by the Tributary controller at its first start; do not edit.\nversion=1\nnode.id=${nodeId}\ncluster.id=${clusterId}\n`;
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
    return { nodeId, clusterId };
  }
  const props = parseProperties(readFileSync(path, "utf8"), path);
  const storedNode = props.get("node.id");
  const storedCluster = props.get("cluster.id");
  if (!storedNode || !/^\d+$/.test(storedNode.value) || !storedCluster) {
    throw new ConfigError("is damaged: it must hold node.id and cluster.id", path);
  }
  if (Number(storedNode.value) !== nodeId) {
    throw new ConfigError(
      `this metadata dir belongs to node ${storedNode.value}, but this controller is node ${nodeId}; use the right dir or an empty one`,
      path, storedNode.line,
    );
  }
  if (configuredClusterId !== null && storedCluster.value !== configuredClusterId) {
    throw new ConfigError(
      `this metadata dir belongs to cluster ${storedCluster.value}, but this controller is configured for cluster ${configuredClusterId}; use an empty dir to join another cluster`,
      path, storedCluster.line,
    );
  }
  return { nodeId, clusterId: storedCluster.value };
}
