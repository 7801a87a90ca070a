// A raw gRPC client for the Broker and Admin services, for tests and benchmarks that must not
// depend on the SDK: requests and responses are the generated protocol types, promisified.
// Also helpers to create a topic and read a partition's metadata from any broker.
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type * as grpcTypes from "@grpc/grpc-js";
import * as protocol from "../../packages/protocol/dist/index.js";
import type { v1 } from "../../packages/protocol/dist/index.js";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const requireFromBroker = createRequire(path.join(REPO, "packages/broker/package.json"));
const grpc = requireFromBroker("@grpc/grpc-js") as typeof grpcTypes;

type Callback<T> = (error: grpcTypes.ServiceError | null, value?: T) => void;
type Unary<Req, Res> = (request: Req, options: grpcTypes.CallOptions, callback: Callback<Res>) => unknown;

function promisify<Req, Res>(client: object, method: string, timeoutMs: number): (request: Req, callTimeoutMs?: number) => Promise<Res> {
  const fn = (client as Record<string, Unary<Req, Res>>)[method]!.bind(client);
  return (request, callTimeoutMs = timeoutMs) =>
    new Promise<Res>((resolve, reject) => {
      fn(request, { deadline: Date.now() + callTimeoutMs }, (error, value) => (error ? reject(error) : resolve(value!)));
    });
}

export interface RawBrokerClient {
  readonly address: string;
  produce(request: v1.ProduceRequest, timeoutMs?: number): Promise<v1.ProduceResponse__Output>;
  fetch(request: v1.FetchRequest, timeoutMs?: number): Promise<v1.FetchResponse__Output>;
  metadata(request: v1.MetadataRequest, timeoutMs?: number): Promise<v1.MetadataResponse__Output>;
  listOffsets(request: v1.ListOffsetsRequest, timeoutMs?: number): Promise<v1.ListOffsetsResponse__Output>;
  offsetForLeaderEpoch(request: v1.OffsetForLeaderEpochRequest, timeoutMs?: number): Promise<v1.OffsetForLeaderEpochResponse__Output>;
  initProducerId(request: v1.InitProducerIdRequest, timeoutMs?: number): Promise<v1.InitProducerIdResponse__Output>;
  createTopics(request: v1.CreateTopicsRequest, timeoutMs?: number): Promise<v1.CreateTopicsResponse__Output>;
  deleteTopics(request: v1.DeleteTopicsRequest, timeoutMs?: number): Promise<v1.DeleteTopicsResponse__Output>;
  alterConfigs(request: v1.AlterConfigsRequest, timeoutMs?: number): Promise<v1.AlterConfigsResponse__Output>;
  describeCluster(request: v1.DescribeClusterRequest, timeoutMs?: number): Promise<v1.DescribeClusterResponse__Output>;
  describeConfigs(request: v1.DescribeConfigsRequest, timeoutMs?: number): Promise<v1.DescribeConfigsResponse__Output>;
  close(): void;
}

export function connectBroker(address: string, defaultTimeoutMs = 10_000): RawBrokerClient {
  const v1Services = protocol.tributaryV1();
  const options = {
    "grpc.max_receive_message_length": 256 * 1024 * 1024,
    "grpc.max_send_message_length": 256 * 1024 * 1024,
    // Large fetch responses would otherwise wait on 64 KiB HTTP/2 window updates.
    "grpc-node.flow_control_window": 16 * 1024 * 1024,
  };
  const broker = new v1Services.Broker(address, grpc.credentials.createInsecure(), options);
  const admin = new v1Services.Admin(address, grpc.credentials.createInsecure(), options);
  return {
    address,
    produce: promisify(broker, "Produce", defaultTimeoutMs),
    fetch: promisify(broker, "Fetch", defaultTimeoutMs),
    metadata: promisify(broker, "Metadata", defaultTimeoutMs),
    listOffsets: promisify(broker, "ListOffsets", defaultTimeoutMs),
    offsetForLeaderEpoch: promisify(broker, "OffsetForLeaderEpoch", defaultTimeoutMs),
    initProducerId: promisify(broker, "InitProducerId", defaultTimeoutMs),
    createTopics: promisify(admin, "CreateTopics", defaultTimeoutMs),
    deleteTopics: promisify(admin, "DeleteTopics", defaultTimeoutMs),
    alterConfigs: promisify(admin, "AlterConfigs", defaultTimeoutMs),
    describeCluster: promisify(admin, "DescribeCluster", defaultTimeoutMs),
    describeConfigs: promisify(admin, "DescribeConfigs", defaultTimeoutMs),
    close() {
      broker.close();
      admin.close();
    },
  };
}

export function errorCode(error: { code?: unknown } | null | undefined): string {
  return protocol.errorCodeOf(error);
}

/** Creates a topic through any broker's Admin service; throws unless it was created. */
export async function createTopic(client: RawBrokerClient, name: string, numPartitions: number, replicationFactor: number, configs: Record<string, string> = {}): Promise<void> {
  const response = await client.createTopics({ topics: [{ name, numPartitions, replicationFactor, configs, assignments: [] }], timeoutMs: 10_000 });
  const code = errorCode(response.topics[0]?.error);
  if (code !== "NONE") throw new Error(`create ${name}: ${code} ${response.topics[0]?.error?.message ?? ""}`);
}

/** The partition's metadata as `client` sees it, or undefined when it does not know it. */
export async function partitionMetadata(client: RawBrokerClient, topic: string, partition: number): Promise<v1.PartitionMetadata__Output | undefined> {
  const response = await client.metadata({ topics: [topic], allTopics: false, allowAutoTopicCreation: false });
  return response.topics.find((t) => t.name === topic)?.partitions.find((p) => p.partition === partition);
}

export { protocol };

export interface BrokerClients {
  /** The client for a broker id, connected on first use. */
  get(nodeId: number): RawBrokerClient;
  closeAll(): void;
}

/** One raw client per broker, made on first use and closed together: tests address brokers by id. */
export function brokerClients(addressOf: (nodeId: number) => string, defaultTimeoutMs?: number): BrokerClients {
  const clients = new Map<number, RawBrokerClient>();
  return {
    get(nodeId) {
      let client = clients.get(nodeId);
      if (!client) clients.set(nodeId, (client = connectBroker(addressOf(nodeId), defaultTimeoutMs)));
      return client;
    },
    closeAll() {
      for (const client of clients.values()) client.close();
      clients.clear();
    },
  };
}
