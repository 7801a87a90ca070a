// The controller process: opens the metadata dir (meta.properties, then the Raft log on LevelDB),
// starts Raft with the gRPC transport, serves the Controller and Raft services on one port, and
// stops cleanly (handing leadership to another voter first when there is one).
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import * as grpc from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import { tributaryV1 } from "@tributary/protocol";
import { LevelRaftStorage, RaftDriver, realTimeScheduler } from "@tributary/raft";
import pino, { type Logger } from "pino";
import {
  DEFAULT_MAX_PARTITIONS_PER_REQUEST,
  DEFAULT_PREFERRED_LEADER_CHECK_INTERVAL_MS,
  DEFAULT_PRODUCER_ID_BLOCK_SIZE,
  brokerConnectionGraceMs,
} from "./controller-context.js";
import { type ControllerConfig, type ControllerConfigSources, clusterIdFromVoters, resolveControllerConfig } from "./controller-config.js";
import { ControllerNode } from "./controller-node.js";
import { GRPC_CHANNEL_OPTIONS } from "./grpc/channel-options.js";
import { controllerServiceHandlers } from "./grpc/controller-service.js";
import { RaftGrpcTransport } from "./grpc/raft-transport.js";
import { ensureMetaProperties } from "./meta-properties.js";
import { MetadataLog } from "./metadata-log.js";

/** Records kept in memory for brokers' metadata streams (older offsets get a snapshot). */
const STREAM_RETAINED_RECORDS = 100_000;
/** How long a clean stop waits for calls in progress before closing the server. */
const SERVER_SHUTDOWN_WAIT_MS = 2_000;
/** How often the health status follows the Raft leadership. */
const HEALTH_REFRESH_MS = 250;
/** How long a clean stop waits for another voter to take leadership. */
const LEADERSHIP_TRANSFER_WAIT_MS = 2_000;

export interface RunningController {
  nodeId: number;
  clusterId: string;
  /** The port the Controller and Raft services listen on. */
  port: number;
  /** Whether this node is the active controller right now. */
  isActive(): boolean;
  stop(): Promise<void>;
}

export interface StartControllerOptions {
  log?: Logger;
}

function bindAddress(host: string, port: number): string {
  const bindHost = host === "" ? "0.0.0.0" : host.includes(":") ? `[${host}]` : host;
  return `${bindHost}:${port}`;
}

async function bindServer(server: grpc.Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port)));
  });
}

async function shutdownServer(server: grpc.Server, waitMs: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, waitMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function transferLeadership(driver: RaftDriver, config: ControllerConfig, log: Logger): Promise<void> {
  const status = driver.status();
  const target = config.voters.find((v) => v.id !== config.nodeId);
  if (status.role !== "leader" || !target) return;
  try {
    driver.transferLeadership(target.id);
  } catch (error) {
    log.warn({ err: error }, "leadership transfer refused");
    return;
  }
  const deadline = performance.now() + LEADERSHIP_TRANSFER_WAIT_MS;
  while (driver.status().role === "leader" && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  log.info({ to: target.id, transferred: driver.status().role !== "leader" }, "leadership transfer before stopping");
}

/** Starts a controller in this process. */
export async function startController(config: ControllerConfig, options: StartControllerOptions = {}): Promise<RunningController> {
  const log = options.log ?? pino({ base: { nodeId: config.nodeId, role: "controller" } });
  if (config.unknownKeys.length > 0) log.warn({ keys: config.unknownKeys }, "unknown configuration keys ignored");
  const meta = ensureMetaProperties(config.metadataLogDir, config.nodeId, config.clusterId, clusterIdFromVoters(config.voters));
  const server = config.server;
  let driver: RaftDriver | null = null;
  const metadataLog = new MetadataLog({
    clusterId: meta.clusterId,
    snapshotIntervalRecords: server["metadata.log.max.snapshot.interval.records"],
    retainedRecords: STREAM_RETAINED_RECORDS,
    onSnapshot: (index, data) => driver?.compact(index, data),
    onApplied: (entry) => node.onApplied(entry),
    onBatch: (batch) => node.onCommittedBatch(batch),
    onRestored: () => node.onRestored(),
  });
  const node: ControllerNode = new ControllerNode({
    settings: {
      nodeId: config.nodeId,
      server,
      producerIdBlockSize: DEFAULT_PRODUCER_ID_BLOCK_SIZE,
      preferredLeaderCheckIntervalMs: DEFAULT_PREFERRED_LEADER_CHECK_INTERVAL_MS,
      maxPartitionsPerRequest: DEFAULT_MAX_PARTITIONS_PER_REQUEST,
      brokerConnectionGraceMs: brokerConnectionGraceMs(server["broker.heartbeat.interval.ms"], server["broker.session.timeout.ms"]),
    },
    voters: config.voters,
    metadataLog,
    log,
    nowMs: () => performance.now(),
    newTopicId: () => randomUUID(),
    tickIntervalMs: Math.max(10, Math.min(250, Math.floor(server["broker.session.timeout.ms"] / 4))),
    writeTimeoutMs: server["controller.quorum.request.timeout.ms"],
  });
  const transport = new RaftGrpcTransport({ selfId: config.nodeId, clusterId: meta.clusterId, peers: config.voters, log });
  const storage = await LevelRaftStorage.open(join(config.metadataLogDir, "raft"));
  const grpcServer = new grpc.Server(GRPC_CHANNEL_OPTIONS);
  try {
    driver = await RaftDriver.start({
      config: {
        id: config.nodeId,
        voters: config.voters.map((v) => v.id),
        electionTimeoutMs: server["controller.quorum.election.timeout.ms"],
        heartbeatIntervalMs: server["controller.quorum.heartbeat.interval.ms"],
      },
      storage,
      transport,
      scheduler: realTimeScheduler,
      stateMachine: metadataLog,
      onSoftState: (state) => node.onSoftState(state),
      onFatal: (error) => {
        log.fatal({ err: error }, "raft stopped after a fatal error; exiting");
        process.exit(1);
      },
    });
  } catch (error) {
    await storage.close();
    throw error;
  }
  const raftDriver = driver;
  transport.attach((message) => raftDriver.receive(message));
  node.attach(raftDriver);
  const v1 = tributaryV1();
  grpcServer.addService(v1.Raft.service, transport.handlers());
  const openStreams = new Set<() => void>();
  grpcServer.addService(v1.Controller.service, controllerServiceHandlers({
    node, metadataLog, driver: () => raftDriver, voters: config.voters, nodeId: config.nodeId, clusterId: meta.clusterId, log, openStreams,
    nowMs: () => performance.now(),
  }));
  // Stock probes (grpc_health_probe, compose health checks) ask grpc.health.v1: a controller is
  // SERVING once its quorum has a leader it can reach, which is when it can answer writes.
  const health = new HealthImplementation({ "": "NOT_SERVING", "tributary.v1.Controller": "NOT_SERVING" });
  health.addToServer(grpcServer);
  const healthTimer = setInterval(() => {
    const status = raftDriver.status().leaderId !== null ? "SERVING" : "NOT_SERVING";
    health.setStatus("", status);
    health.setStatus("tributary.v1.Controller", status);
  }, HEALTH_REFRESH_MS);
  healthTimer.unref();
  let port: number;
  try {
    port = await bindServer(grpcServer, bindAddress(config.host, config.port));
  } catch (error) {
    // The port is taken (or the address is wrong): stop what already runs, so the caller's
    // error is the only thing left of this start.
    clearInterval(healthTimer);
    node.stop();
    await raftDriver.stop();
    transport.close();
    grpcServer.forceShutdown();
    await storage.close();
    throw error;
  }
  log.info({ port, clusterId: meta.clusterId, voters: config.voters.map((v) => v.id), metadataLogDir: config.metadataLogDir }, "listening");

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      clearInterval(healthTimer);
      await transferLeadership(raftDriver, config, log);
      node.stop();
      await raftDriver.stop();
      transport.close();
      // Brokers' metadata streams never end by themselves: end them, then give other calls a
      // moment to finish before closing the server anyway.
      for (const end of [...openStreams]) end();
      await shutdownServer(grpcServer, SERVER_SHUTDOWN_WAIT_MS);
      await storage.close();
      log.info("stopped");
    })();
    return stopping;
  };
  return { nodeId: config.nodeId, clusterId: meta.clusterId, port, isActive: () => node.isActive(), stop };
}

/**
 * Reads the configuration and runs a controller until SIGTERM or SIGINT (the CLI's
 * `tributary controller start`). Configuration errors are thrown (with file and line).
 */
export async function runController(sources: ControllerConfigSources & StartControllerOptions): Promise<RunningController> {
  const config = resolveControllerConfig(sources);
  const running = await startController(config, sources);
  const log = sources.log;
  const onSignal = (signal: NodeJS.Signals): void => {
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        if (log) log.error({ err: error, signal }, "unclean stop");
        else process.stderr.write(`controller ${config.nodeId} failed to stop cleanly on ${signal}: ${error instanceof Error ? error.stack : String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  return running;
}
