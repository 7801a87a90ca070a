// The broker's gRPC server: the Broker, Admin and Groups services, gRPC health checking and
// server reflection (so stock tools such as grpcurl and grpc_health_probe work without the
// .proto files), and the request bounds: a cap on concurrent requests (RESOURCE_EXHAUSTED), the
// largest message (socket.request.max.bytes), and a catch-all that turns a handler's bug into
// an INTERNAL status instead of a crashed process.
import * as grpc from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import { installDecoderRelease, packageDefinition, tributaryV1, type v1 } from "@tributary/protocol";
import { HealthImplementation } from "grpc-health-check";
import type { Logger } from "pino";
import type { AdminService } from "./admin-service.js";
import type { BrokerContext } from "./broker-context.js";
import { handleFetch } from "./fetch-handler.js";
import { encodeFetchResponse } from "./fetch-response-codec.js";
import { COMMON_GRPC_OPTIONS, FLOW_CONTROL_WINDOW_BYTES } from "./grpc-options.js";
import { installPreframedSerialization } from "./grpc-preframed.js";
import { handleMetadata } from "./metadata-handler.js";
import { handleListOffsets, handleOffsetForLeaderEpoch } from "./offsets-handler.js";
import { handleProduce } from "./produce-handler.js";
import type { ProducerIdManager } from "./producer-ids.js";
import { type RequestAdmission, sessionHandler, sessionMethodDefinition } from "./session-handler.js";

export interface BrokerServices {
  ctx: BrokerContext;
  admin: AdminService;
  producerIds: ProducerIdManager;
  groups?: v1.GroupsHandlers;
}

export class BrokerServer {
  readonly server: grpc.Server;
  readonly health = new HealthImplementation({ "": "NOT_SERVING", "tributary.v1.Broker": "NOT_SERVING" });
  private inFlight = 0;
  /** The one cap on requests in progress, for unary calls and session requests alike. */
  private readonly admission: RequestAdmission;

  constructor(private readonly services: BrokerServices, private readonly log: Logger, maxMessageBytes: number) {
    this.server = new grpc.Server({
      ...COMMON_GRPC_OPTIONS,
      "grpc.max_receive_message_length": maxMessageBytes,
      "grpc.max_send_message_length": -1,
      "grpc.max_concurrent_streams": services.ctx.limits.maxConcurrentRequests,
    });
    const { ctx, admin, producerIds } = services;
    const limit = ctx.limits.maxConcurrentRequests;
    this.admission = {
      limit,
      tryAdmit: () => {
        if (this.inFlight >= limit) return false;
        this.inFlight++;
        return true;
      },
      release: () => {
        this.inFlight--;
      },
    };
    if (!installPreframedSerialization()) log.warn("cannot send pre-framed messages on this grpc-js version; Fetch answers will be copied once more");
    if (!installDecoderRelease()) log.warn("cannot make this grpc-js version's message decoder let go of received chunks; expect more mark-compact GCs under load");
    const v1Services = tributaryV1();
    // Fetch answers carry the records: they are encoded with one copy of those bytes, not two.
    const brokerService: grpc.ServiceDefinition = {
      ...v1Services.Broker.service,
      Fetch: { ...v1Services.Broker.service.Fetch, responseSerialize: encodeFetchResponse as (value: unknown) => Buffer },
      // Session frames are read and written by hand (session-handler.ts): their bodies are
      // spliced in already encoded, and large Fetch answers come with their gRPC prefix.
      Session: sessionMethodDefinition(v1Services.Broker.service.Session as grpc.MethodDefinition<unknown, unknown>) as grpc.MethodDefinition<unknown, unknown>,
    };
    this.server.addService(brokerService, {
      Produce: this.unary("Produce", (r: v1.ProduceRequest__Output) => handleProduce(ctx, r)),
      Fetch: this.unary("Fetch", (r: v1.FetchRequest__Output) => handleFetch(ctx, r)),
      ListOffsets: this.unary("ListOffsets", (r: v1.ListOffsetsRequest__Output) => handleListOffsets(ctx, r)),
      Metadata: this.unary("Metadata", (r: v1.MetadataRequest__Output) => handleMetadata(ctx, r)),
      OffsetForLeaderEpoch: this.unary("OffsetForLeaderEpoch", (r: v1.OffsetForLeaderEpochRequest__Output) => handleOffsetForLeaderEpoch(ctx, r)),
      InitProducerId: this.unary("InitProducerId", (r: v1.InitProducerIdRequest__Output) => producerIds.handle(r)),
      Session: sessionHandler({ produce: (r) => handleProduce(ctx, r), fetch: (r) => handleFetch(ctx, r) }, this.admission, log) as unknown as grpc.handleBidiStreamingCall<v1.SessionRequest__Output, v1.SessionResponse>,
    } satisfies v1.BrokerHandlers);
    this.server.addService(v1Services.Admin.service, {
      CreateTopics: this.unary("CreateTopics", (r: v1.CreateTopicsRequest__Output) => admin.createTopics(r)),
      DeleteTopics: this.unary("DeleteTopics", (r: v1.DeleteTopicsRequest__Output) => admin.deleteTopics(r)),
      CreatePartitions: this.unary("CreatePartitions", (r: v1.CreatePartitionsRequest__Output) => admin.createPartitions(r)),
      DescribeConfigs: this.unary("DescribeConfigs", (r: v1.DescribeConfigsRequest__Output) => admin.describeConfigs(r)),
      AlterConfigs: this.unary("AlterConfigs", (r: v1.AlterConfigsRequest__Output) => admin.alterConfigs(r)),
      DescribeCluster: this.unary("DescribeCluster", () => admin.describeCluster()),
      ElectLeaders: this.unary("ElectLeaders", (r: v1.ElectLeadersRequest__Output) => admin.electLeaders(r)),
    } satisfies v1.AdminHandlers);
    if (services.groups) this.server.addService(v1Services.Groups.service, services.groups);
    widenServerWindow(this.server, log);
    this.health.addToServer(this.server);
    new ReflectionService(packageDefinition()).addToServer(this.server);
  }

  private unary<Req, Res>(method: string, run: (request: Req) => Promise<Res> | Res): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      if (!this.admission.tryAdmit()) {
        callback({ code: grpc.status.RESOURCE_EXHAUSTED, details: `RESOURCE_EXHAUSTED: ${this.admission.limit} requests are in progress on this broker; back off and retry` });
        return;
      }
      let result: Promise<Res>;
      try {
        result = Promise.resolve(run(call.request));
      } catch (error) {
        result = Promise.reject(error);
      }
      result.then(
        (response) => {
          this.admission.release();
          callback(null, response);
        },
        (error: unknown) => {
          this.admission.release();
          this.log.error({ err: error, method }, "request failed unexpectedly");
          callback({ code: grpc.status.INTERNAL, details: `UNKNOWN_SERVER_ERROR: ${error instanceof Error ? error.message : String(error)}` });
        },
      );
    };
  }

  async bind(host: string, port: number): Promise<number> {
    const boundPort = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(`${host.includes(":") ? `[${host}]` : host}:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
    });
    widenSessionWindows(this.server, this.log);
    return boundPort;
  }

  setServing(serving: boolean): void {
    const status = serving ? "SERVING" : "NOT_SERVING";
    this.health.setStatus("", status);
    this.health.setStatus("tributary.v1.Broker", status);
  }

  /** Stops taking calls; gives those in progress `graceMs` to finish, then cuts them. */
  shutdown(graceMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

// grpc-js has no server option for the receive window (clients have grpc-node.flow_control_window),
// so these two reach into its http2 server settings. Both are best effort: if a grpc-js upgrade
// moves the fields, the broker still works, with Node's default window and a warning.
interface GrpcServerInternals {
  commonServerOptions?: { settings?: Record<string, unknown> };
  http2Servers?: Map<{ on(event: "session", listener: (session: { setLocalWindowSize(size: number): void }) => void): void }, unknown>;
}

function widenServerWindow(server: grpc.Server, log: Logger): void {
  const internals = server as unknown as GrpcServerInternals;
  if (!internals.commonServerOptions) {
    log.warn("cannot set the HTTP/2 stream window on this grpc-js version; large requests will be slower");
    return;
  }
  internals.commonServerOptions.settings = { ...internals.commonServerOptions.settings, initialWindowSize: FLOW_CONTROL_WINDOW_BYTES };
}

function widenSessionWindows(server: grpc.Server, log: Logger): void {
  const servers = (server as unknown as GrpcServerInternals).http2Servers;
  if (!(servers instanceof Map)) {
    log.warn("cannot set the HTTP/2 connection window on this grpc-js version; large requests will be slower");
    return;
  }
  for (const http2Server of servers.keys()) {
    http2Server.on("session", (session) => {
      try {
        session.setLocalWindowSize(FLOW_CONTROL_WINDOW_BYTES);
      } catch (error) {
        log.debug({ err: error }, "cannot widen an HTTP/2 session window");
      }
    });
  }
}
