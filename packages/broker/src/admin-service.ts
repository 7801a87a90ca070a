// The Admin service on every broker: writes (topics, partitions, configs, elections) are
// forwarded to the active controller, following NOT_CONTROLLER hints; DescribeConfigs and
// DescribeCluster are answered from this broker's metadata image plus the controllers'
// DescribeQuorum, so a client needs to know only bootstrap brokers.
import { SERVER_CONFIGS, TOPIC_CONFIGS, TributaryError, int64, int64ToNumber, resolveTopicConfig, type MetadataImage, type ServerConfigValues, type v1 } from "@tributary/protocol";
import type { ControllerClient } from "./controller-client.js";
import { toTributaryError } from "./errors.js";

export class AdminService {
  constructor(
    private readonly controllers: ControllerClient,
    private readonly image: MetadataImage,
    private readonly config: ServerConfigValues,
    private readonly brokerId: number,
    private readonly describeTimeoutMs: number,
  ) {}

  async createTopics(request: v1.CreateTopicsRequest__Output): Promise<v1.CreateTopicsResponse> {
    try {
      return await this.controllers.call("CreateTopics", request, this.timeout(request.timeoutMs));
    } catch (error) {
      const e = toTributaryError(error).toResponse();
      return { topics: request.topics.map((t) => ({ name: t.name, error: e, topicId: "", numPartitions: -1, replicationFactor: -1 })) };
    }
  }

  async deleteTopics(request: v1.DeleteTopicsRequest__Output): Promise<v1.DeleteTopicsResponse> {
    try {
      return await this.controllers.call("DeleteTopics", request, this.timeout(request.timeoutMs));
    } catch (error) {
      const e = toTributaryError(error).toResponse();
      return { topics: request.names.map((name) => ({ name, error: e })) };
    }
  }

  async createPartitions(request: v1.CreatePartitionsRequest__Output): Promise<v1.CreatePartitionsResponse> {
    try {
      return await this.controllers.call("CreatePartitions", request, this.timeout(request.timeoutMs));
    } catch (error) {
      const e = toTributaryError(error).toResponse();
      return { topics: request.topics.map((t) => ({ name: t.name, error: e })) };
    }
  }

  async alterConfigs(request: v1.AlterConfigsRequest__Output): Promise<v1.AlterConfigsResponse> {
    try {
      return await this.controllers.call("AlterConfigs", request);
    } catch (error) {
      const e = toTributaryError(error).toResponse();
      return { results: request.resources.map((r) => ({ resource: r.resource, error: e })) };
    }
  }

  async electLeaders(request: v1.ElectLeadersRequest__Output): Promise<v1.ElectLeadersResponse> {
    try {
      return await this.controllers.call("ElectLeaders", request);
    } catch (error) {
      const e = toTributaryError(error).toResponse();
      return { results: request.partitions.map((p) => ({ partition: p, error: e })) };
    }
  }

  describeConfigs(request: v1.DescribeConfigsRequest__Output): v1.DescribeConfigsResponse {
    const wanted = new Set(request.configNames);
    const keep = (name: string) => wanted.size === 0 || wanted.has(name);
    return {
      results: request.resources.map((resource) => {
        try {
          if (!resource) throw new TributaryError("INVALID_REQUEST", "a config resource is missing");
          if (resource.type === "topic") return { resource, error: { code: "NONE", message: "" }, configs: this.topicConfigs(resource.name).filter((c) => keep(c.name ?? "")) };
          if (resource.type === "broker") return { resource, error: { code: "NONE", message: "" }, configs: this.brokerConfigs(resource.name).filter((c) => keep(c.name ?? "")) };
          throw new TributaryError("INVALID_REQUEST", `resource type "${resource.type}" is not "topic" or "broker"`);
        } catch (error) {
          return { resource: resource ?? null, error: toTributaryError(error).toResponse(), configs: [] };
        }
      }),
    };
  }

  private topicConfigs(name: string): v1.ConfigEntry[] {
    const topic = this.image.topicsByName.get(name);
    if (!topic) throw new TributaryError("UNKNOWN_TOPIC_OR_PARTITION", `topic ${name} does not exist`);
    const values = resolveTopicConfig(Object.fromEntries(topic.configs), this.config) as unknown as Record<string, unknown>;
    return TOPIC_CONFIGS.map((def) => ({
      name: def.name, value: configText(values[def.name]), isDefault: !topic.configs.has(def.name), readOnly: false, sensitive: false,
    }));
  }

  private brokerConfigs(name: string): v1.ConfigEntry[] {
    const id = name === "" ? this.brokerId : Number(name);
    if (!Number.isInteger(id)) throw new TributaryError("INVALID_REQUEST", `broker resource name "${name}" is not a broker id`);
    if (id !== this.brokerId && !this.image.brokers.has(id)) throw new TributaryError("RESOURCE_NOT_FOUND", `broker ${id} is not registered`);
    const dynamic = new Map([...(this.image.brokerConfigs.get("") ?? []), ...(this.image.brokerConfigs.get(String(id)) ?? [])]);
    const values = this.config as unknown as Record<string, unknown>;
    return SERVER_CONFIGS.filter((def) => def.roles?.includes("broker")).map((def) => {
      const fromImage = dynamic.get(def.name);
      // Another broker's static file is not known here; its dynamic values are.
      const value = fromImage ?? (id === this.brokerId ? configText(values[def.name]) : configText(def.default));
      return { name: def.name, value, isDefault: fromImage === undefined && values[def.name] === def.default, readOnly: fromImage === undefined, sensitive: false };
    });
  }

  async describeCluster(): Promise<v1.DescribeClusterResponse> {
    const controllers = await Promise.all(this.controllers.allAddresses().map(async (c): Promise<v1.ControllerDescription> => {
      try {
        const quorum = await this.controllers.clientCall(c.address, "DescribeQuorum", {}, this.describeTimeoutMs);
        return { nodeId: c.nodeId, endpoint: { host: c.host, port: c.port, listenerName: "CONTROLLER" }, isLeader: quorum.leaderId === c.nodeId, term: quorum.term, reachable: true, lastCommittedOffset: quorum.commitIndex };
      } catch {
        return { nodeId: c.nodeId, endpoint: { host: c.host, port: c.port, listenerName: "CONTROLLER" }, isLeader: false, term: "-1", reachable: false, lastCommittedOffset: "-1" };
      }
    }));
    const leader = controllers.find((c) => c.isLeader);
    return {
      error: { code: "NONE", message: "" },
      clusterId: this.image.clusterId,
      controllerId: leader?.nodeId ?? this.image.controllerId,
      brokers: [...this.image.brokers.values()].sort((a, b) => a.brokerId - b.brokerId).map((b) => ({
        nodeId: b.brokerId,
        endpoint: b.listeners[0] ? { host: b.listeners[0].host, port: b.listeners[0].port, listenerName: b.listeners[0].listenerName } : null,
        rack: b.rack, fenced: b.fenced, brokerEpoch: int64(b.brokerEpoch), inControlledShutdown: b.inControlledShutdown,
      })),
      controllers: controllers.map((c) => ({ ...c, term: int64(int64ToNumber(c.term as string)), lastCommittedOffset: int64(int64ToNumber(c.lastCommittedOffset as string)) })),
    };
  }

  private timeout(requestTimeoutMs: number): number {
    return Math.min(Math.max(requestTimeoutMs > 0 ? requestTimeoutMs : 30_000, 1_000), 120_000);
  }
}

function configText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.join(",");
  return String(value);
}
