// Assembles one broker: log manager, replica manager, fetchers, the gRPC server, and its life
// with the controller quorum (register with a fresh incarnation id and get a broker epoch,
// heartbeat, follow metadata), plus the background timers (ISR lag, delayed-operation expiry,
// HW checkpoints, retention). `startBroker` is the in-process entry (tests, `tributary dev`);
// process.ts wraps it with config files and signals.
import { randomUUID } from "node:crypto";
import { ConfigError, TributaryError, effectiveListeners, errorCodeOf, int64, int64ToNumber, parseListeners, parseQuorumVoters, type ServerConfigValues } from "@tributary/protocol";
import { pino, type Logger } from "pino";
import { AdminService } from "./admin-service.js";
import { DEFAULT_LIMITS, TopicConfigCache, type BrokerContext, type BrokerLimits } from "./broker-context.js";
import { ControllerClient } from "./controller-client.js";
import { BrokerCoordinatorPartitions } from "./coordinator-partitions.js";
import { DeadlineTimer } from "./deadline-timer.js";
import { DelayedOperations } from "./delayed-operations.js";
import { FetcherManager } from "./fetcher.js";
import { createGroupsService, coordinatorSettingsFromConfig, type GroupsService } from "./groups/index.js";
import { LogManager } from "./log-manager.js";
import { MetadataFollower } from "./metadata-follower.js";
import { ProducerIdManager } from "./producer-ids.js";
import { ReplicaManager } from "./replica-manager.js";
import { BrokerServer } from "./server.js";

export interface StartBrokerOptions {
  config: ServerConfigValues;
  logger?: Logger;
  limits?: Partial<BrokerLimits>;
}

export interface BrokerHandle {
  readonly brokerId: number;
  /** The bound port of the first listener. */
  readonly port: number;
  readonly host: string;
  /** Controlled shutdown: leadership moves away first, then logs are flushed and closed. */
  stop(options?: { controlled?: boolean }): Promise<void>;
}

const MAX_DELAYED_OPERATIONS = 50_000;

export async function startBroker(options: StartBrokerOptions): Promise<BrokerHandle> {
  const config = options.config;
  const log = options.logger ?? pino({ name: "broker" });
  const brokerId = config["node.id"];
  if (brokerId === null || brokerId === undefined) throw new ConfigError("node.id (or broker.id) is required for a broker");
  const limits: BrokerLimits = { ...DEFAULT_LIMITS, queuedMaxRequestBytes: config["queued.max.request.bytes"], ...options.limits };
  const listener = effectiveListeners(config, "PLAINTEXT", 9092)[0]!;
  const voters = parseQuorumVoters(config["controller.quorum.voters"]);
  const maxMessageBytes = config["socket.request.max.bytes"];
  const now = () => Date.now();

  const controllers = new ControllerClient({ voters, requestTimeoutMs: config["controller.quorum.request.timeout.ms"], maxMessageBytes: Math.max(maxMessageBytes, 64 * 1024 * 1024) });
  const metadata = new MetadataFollower(brokerId, controllers, log.child({ component: "metadata" }));
  const image = metadata.image;
  // One timer, armed for the earliest deadline of a parked produce or fetch. A 10 ms poll of
  // both queues cost an idle broker ~100 wakeups a second (timers were ~20% of an idle broker's
  // CPU, and ~0.01 CPU-s a second per broker under load, whether or not anything was due).
  const expiry = new DeadlineTimer(now, (nowMs) => {
    try {
      delayedProduce.expireDue(nowMs);
      delayedFetch.expireDue(nowMs);
    } catch (error) {
      log.error({ err: error, task: "delayed-operations" }, "background task failed");
    }
    return Math.min(delayedProduce.nextDeadlineMs() ?? Infinity, delayedFetch.nextDeadlineMs() ?? Infinity);
  });
  const delayedProduce = new DelayedOperations(MAX_DELAYED_OPERATIONS, (deadlineMs) => expiry.armFor(deadlineMs));
  const delayedFetch = new DelayedOperations(MAX_DELAYED_OPERATIONS, (deadlineMs) => expiry.armFor(deadlineMs));
  let brokerEpoch = -1;
  const fetchers = new FetcherManager({
    brokerId, brokerEpoch: () => brokerEpoch, image,
    maxWaitMs: config["replica.fetch.wait.max.ms"], maxBytes: config["replica.fetch.response.max.bytes"],
    partitionMaxBytes: config["replica.fetch.max.bytes"], requestTimeoutMs: config["controller.quorum.request.timeout.ms"],
    backoffMs: 100, maxMessageBytes: Math.max(maxMessageBytes, config["replica.fetch.response.max.bytes"] * 2),
    log: log.child({ component: "fetcher" }),
  });
  const logs = new LogManager(config["log.dirs"], config, log, now);
  const replicas = new ReplicaManager({
    brokerId, replicaLagTimeMaxMs: config["replica.lag.time.max.ms"], logs, fetchers,
    alterPartition: (items) => controllers.call("AlterPartition", { brokerId, brokerEpoch: int64(brokerEpoch), partitions: items }),
    delayedProduce, delayedFetch, now, log: log.child({ component: "replicas" }),
  });
  const topicConfigs = new TopicConfigCache(config, image);
  const autoCreating = new Set<string>();
  const ctx: BrokerContext = {
    brokerId, config, limits, image, replicas, delayedProduce, delayedFetch, log, now,
    queuedProduceBytes: 0,
    topicConfig: (topic) => topicConfigs.get(topic),
    brokerEpochOf: (id) => image.brokers.get(id)?.brokerEpoch ?? -1,
    autoCreateTopics(names) {
      const fresh = names.filter((name) => !autoCreating.has(name));
      if (fresh.length === 0) return;
      fresh.forEach((name) => autoCreating.add(name));
      const replicationFactor = Math.max(1, Math.min(config["default.replication.factor"], Math.max(1, image.liveBrokers().length)));
      controllers.call("CreateTopics", {
        topics: fresh.map((name) => ({ name, numPartitions: config["num.partitions"], replicationFactor, configs: {}, assignments: [] })),
        timeoutMs: 10_000, validateOnly: false,
      }).then((response) => {
        for (const topic of response.topics) {
          const code = errorCodeOf(topic.error);
          if (code !== "NONE" && code !== "TOPIC_ALREADY_EXISTS") log.warn({ topic: topic.name, code, message: topic.error?.message }, "auto-create failed");
          else log.info({ topic: topic.name }, "auto-created topic");
        }
      }, (error: unknown) => log.warn({ err: error, topics: fresh }, "auto-create failed"))
        .finally(() => fresh.forEach((name) => autoCreating.delete(name)));
    },
  };
  const coordinatorAccess = new BrokerCoordinatorPartitions(ctx, controllers, metadata);
  let groups: GroupsService | undefined;
  try {
    groups = createGroupsService({
      nodeId: brokerId, access: coordinatorAccess,
      partitionsOf: (topic) => image.topicsByName.get(topic)?.partitions.size,
      settings: coordinatorSettingsFromConfig(config), logger: log.child({ component: "groups" }),
    });
  } catch (error) {
    log.error({ err: error }, "group coordinator failed to start; serving without the Groups service");
  }
  const admin = new AdminService(controllers, image, config, brokerId, config["controller.quorum.request.timeout.ms"]);
  const producerIds = new ProducerIdManager(controllers, brokerId, () => brokerEpoch);
  const server = new BrokerServer({ ctx, admin, producerIds, ...(groups ? { groups: groups.handlers } : {}) }, log, maxMessageBytes);
  const bindHost = listener.host === "" ? "0.0.0.0" : listener.host;
  const port = await server.bind(bindHost, listener.port);
  const advertised = advertisedListener(config, listener.name, listener.host, port);

  let caughtUpOnce = false;
  metadata.onChange(() => {
    topicConfigs.invalidate();
    // Until the first catch-up, the image is a replay of history: acting on a half-replayed one
    // could delete logs of topics that exist again later in the log. After that, every change counts.
    if (!caughtUpOnce && image.lastAppliedOffset < metadata.controllerCommittedOffset) return;
    if (!caughtUpOnce) log.info({ metadataOffset: image.lastAppliedOffset }, "caught up with the metadata log");
    caughtUpOnce = true;
    replicas.applyImage(image);
  });

  let stopping = false;
  const incarnationId = randomUUID();
  const register = async (): Promise<void> => {
    for (let attempt = 0; !stopping; attempt++) {
      try {
        const response = await controllers.call("RegisterBroker", {
          // Empty until the first registration answers: then a re-registration names the cluster
          // this broker belongs to, and a quorum of another cluster refuses it.
          brokerId, clusterId: image.clusterId, incarnationId, rack: config["broker.rack"] ?? "",
          listeners: [{ host: advertised.host, port: advertised.port, listenerName: advertised.name }],
        });
        const code = errorCodeOf(response.error);
        if (code === "NONE") {
          brokerEpoch = int64ToNumber(response.brokerEpoch);
          if (image.clusterId === "") image.clusterId = response.clusterId;
          log.info({ brokerId, brokerEpoch, clusterId: response.clusterId }, "registered with the controller quorum");
          return;
        }
        if (code === "INCONSISTENT_CLUSTER_ID") throw new TributaryError(code, response.error?.message);
        log.warn({ code, message: response.error?.message }, "registration refused; retrying");
      } catch (error) {
        if (error instanceof TributaryError && !error.retriable && error.code !== "NOT_CONTROLLER") throw error;
        if (attempt % 10 === 0) log.warn({ err: error }, "cannot register with the controller quorum yet; retrying");
      }
      await delay(Math.min(100 * (attempt + 1), 1000));
    }
  };

  await register();
  metadata.start();
  server.setServing(true);

  let wantShutdown = false;
  let shouldShutDown = false;
  let heartbeatInFlight = false;
  const heartbeat = async (): Promise<void> => {
    if (heartbeatInFlight || brokerEpoch < 0) return;
    heartbeatInFlight = true;
    try {
      const response = await controllers.call("BrokerHeartbeat", {
        // Caught up only once every log this broker hosts is open (see ReplicaManager.fullyApplied).
        brokerId, brokerEpoch: int64(brokerEpoch), currentMetadataOffset: int64(replicas.fullyApplied ? Math.max(0, image.lastAppliedOffset) : 0),
        wantFence: false, wantShutdown,
      });
      const code = errorCodeOf(response.error);
      if (code === "STALE_BROKER_EPOCH" || code === "BROKER_ID_NOT_REGISTERED") {
        log.warn({ code }, "controller no longer knows this registration; registering again");
        brokerEpoch = -1;
        await register();
      } else if (code === "NONE") {
        shouldShutDown = response.shouldShutDown;
      }
    } catch (error) {
      log.debug({ err: error }, "heartbeat failed");
    } finally {
      heartbeatInFlight = false;
    }
  };
  // A background task that throws is a bug; it is logged and the task runs again next time,
  // rather than taking every partition on this broker down with the process.
  const every = (name: string, intervalMs: number, task: () => void) => setInterval(() => {
    try {
      task();
    } catch (error) {
      log.error({ err: error, task: name }, "background task failed");
    }
  }, intervalMs);
  const timers = [
    every("heartbeat", config["broker.heartbeat.interval.ms"], () => void heartbeat()),
    every("isr-lag", Math.max(50, Math.floor(config["replica.lag.time.max.ms"] / 2)), () => replicas.checkIsrLag()),
    every("hw-checkpoint", config["replica.high.watermark.checkpoint.interval.ms"], () => replicas.checkpointHighWatermarks()),
    every("retention", config["log.retention.check.interval.ms"], () => replicas.runMaintenance()),
  ];
  void heartbeat();
  log.info({ brokerId, port, host: bindHost, advertised: `${advertised.host}:${advertised.port}`, brokerEpoch }, "listening");

  return {
    brokerId, port, host: advertised.host,
    async stop({ controlled = true } = {}) {
      if (stopping) return;
      if (controlled && brokerEpoch >= 0) {
        // Controlled shutdown: the controller moves our leaderships away before we go.
        wantShutdown = true;
        const deadline = now() + config["broker.session.timeout.ms"];
        while (!shouldShutDown && now() < deadline) {
          await heartbeat();
          if (!shouldShutDown) await delay(Math.min(200, config["broker.heartbeat.interval.ms"]));
        }
        log.info({ shouldShutDown, leaders: replicas.leaderCount() }, "controlled shutdown: leadership moved");
      }
      stopping = true;
      server.setServing(false);
      for (const timer of timers) clearInterval(timer);
      expiry.stop();
      delayedProduce.expireAll(now());
      delayedFetch.expireAll(now());
      await server.shutdown(2_000);
      groups?.close();
      metadata.stop();
      fetchers.stop();
      await replicas.close();
      controllers.close();
      log.info({ brokerId }, "stopped");
    },
  };
}

function advertisedListener(config: ServerConfigValues, name: string, host: string, boundPort: number): { name: string; host: string; port: number } {
  const advertised = config["advertised.listeners"];
  if (advertised && advertised.length > 0) {
    const parsed = parseListeners(advertised);
    const chosen = parsed.find((l) => l.name === name) ?? parsed[0]!;
    return { name: chosen.name, host: chosen.host || "localhost", port: chosen.port === 0 ? boundPort : chosen.port };
  }
  // A wildcard bind has no one address to give clients; on one machine localhost reaches it.
  const reachable = host === "" || host === "0.0.0.0" || host === "::" ? "localhost" : host;
  return { name, host: reachable, port: boundPort };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
