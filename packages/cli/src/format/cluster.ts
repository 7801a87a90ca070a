// `cluster describe`: the controller quorum (who leads, at which term) and the brokers.
import { formatColumns } from "./table.js";

export interface ControllerView {
  nodeId: number;
  host: string;
  port: number;
  isLeader: boolean;
  /** -1 when unknown. */
  term: number;
  reachable: boolean;
}

export interface BrokerView {
  nodeId: number;
  host: string;
  port: number;
  rack: string;
  fenced: boolean;
}

export interface ClusterView {
  clusterId: string;
  /** The active controller, -1 when unknown. */
  controllerId: number;
  controllers: readonly ControllerView[];
  brokers: readonly BrokerView[];
}

const address = (host: string, port: number): string => `${host.includes(":") ? `[${host}]` : host}:${port}`;

export function formatClusterDescription(cluster: ClusterView): string[] {
  const lines = [`Cluster: ${cluster.clusterId || "-"} ActiveController: ${cluster.controllerId < 0 ? "none" : cluster.controllerId}`, ""];
  lines.push(...formatColumns(
    ["CONTROLLER", "ADDRESS", "ROLE", "TERM"],
    [...cluster.controllers].sort((a, b) => a.nodeId - b.nodeId).map((c) => [
      String(c.nodeId), address(c.host, c.port),
      !c.reachable ? "unreachable" : c.isLeader ? "leader" : "follower",
      c.term < 0 ? "-" : String(c.term),
    ]),
  ));
  lines.push("");
  lines.push(...formatColumns(
    ["BROKER", "ADDRESS", "RACK", "STATE"],
    [...cluster.brokers].sort((a, b) => a.nodeId - b.nodeId).map((b) => [
      String(b.nodeId), address(b.host, b.port), b.rack || "-", b.fenced ? "fenced" : "live",
    ]),
  ));
  return lines;
}
