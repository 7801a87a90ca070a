// The client's view of the cluster and its way in: bootstrap addresses, the connection pool,
// the metadata cache and its refreshes (one in flight at a time, shared by every caller), and
// the calls every component makes the same way (Metadata, FindCoordinator, "any broker").
import type { v1 } from "@tributary/protocol";
import { ConnectionPool, type BrokerStubs } from "./connection-pool.js";
import { TimeoutError, TributaryError, asTributaryError, errorFor, responseErrorOf } from "./errors.js";
import { type BrokerNode, MetadataCache, addressOf } from "./metadata-cache.js";
import type { ClientLogger } from "./logger.js";
import { type BackoffPolicy, sleep } from "./retry.js";
import { unary } from "./rpc.js";

/** How long a broker that failed to answer is tried after the others for calls any broker can answer. */
const FAILED_BROKER_MEMORY_MS = 10_000;

export interface ClusterOptions {
  bootstrapServers: string[];
  clientId: string;
  requestTimeoutMs: number;
  metadataMaxAgeMs: number;
  /** Refreshes closer together than this wait, so a burst of leader errors makes one refresh. */
  metadataRefreshBackoffMs: number;
  maxMessageBytes: number;
  backoff: BackoffPolicy;
  retries: number;
  logger: ClientLogger;
}

export interface Coordinator {
  nodeId: number;
  address: string;
}

export class Cluster {
  readonly pool: ConnectionPool;
  readonly metadata: MetadataCache;
  /** Topics someone in this client cares about; every refresh asks for all of them. */
  private readonly trackedTopics = new Set<string>();
  private autoCreateTopics = new Set<string>();
  private refreshing: Promise<void> | undefined;
  private lastRefreshStartMs = -Infinity;
  private nextBootstrap = 0;
  /** When a call to each address last failed without an answer (see candidateAddresses). */
  private readonly failedAtMs = new Map<string, number>();
  private closed = false;
  /** Refreshes metadata older than metadataMaxAgeMs (new partitions, moved leaders nobody erred on). */
  private readonly maxAgeTimer: NodeJS.Timeout;

  constructor(readonly options: ClusterOptions) {
    if (options.bootstrapServers.length === 0) throw new RangeError("bootstrapServers must name at least one broker");
    this.pool = new ConnectionPool({ clientId: options.clientId, maxMessageBytes: options.maxMessageBytes });
    this.metadata = new MetadataCache(options.metadataMaxAgeMs);
    this.maxAgeTimer = setInterval(() => {
      if (this.trackedTopics.size > 0 && this.metadata.isStale(Date.now())) this.refreshMetadata().catch(() => undefined);
    }, Math.max(1_000, Math.min(options.metadataMaxAgeMs, 60_000)));
    this.maxAgeTimer.unref();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  track(topics: Iterable<string>, allowAutoCreation = false): void {
    for (const topic of topics) {
      this.trackedTopics.add(topic);
      if (allowAutoCreation) this.autoCreateTopics.add(topic);
    }
  }

  untrack(topics: Iterable<string>): void {
    for (const topic of topics) {
      this.trackedTopics.delete(topic);
      this.autoCreateTopics.delete(topic);
    }
  }

  stubs(address: string): BrokerStubs {
    return this.pool.get(address);
  }

  /**
   * Addresses to try for a call any broker can answer: live brokers first, then bootstrap ones;
   * those that failed lately go last, so a stalled broker (SIGSTOP: connections open, no answer)
   * does not cost every metadata refresh a whole request timeout before the next is tried.
   */
  candidateAddresses(nowMs = Date.now()): string[] {
    const known = this.metadata.brokerList().map((b) => b.address);
    const start = this.nextBootstrap++ % Math.max(1, this.options.bootstrapServers.length);
    const bootstrap = [...this.options.bootstrapServers.slice(start), ...this.options.bootstrapServers.slice(0, start)];
    const rotated = known.length === 0 ? [] : [...known.slice(start % known.length), ...known.slice(0, start % known.length)];
    const all = [...new Set([...rotated, ...bootstrap])];
    const failedLately = (address: string) => nowMs - (this.failedAtMs.get(address) ?? -Infinity) < FAILED_BROKER_MEMORY_MS;
    return [...all.filter((a) => !failedLately(a)), ...all.filter(failedLately)];
  }

  /** A call to `address` failed for want of an answer (unreachable, timed out): try others first for a while. */
  noteUnreachable(address: string, nowMs = Date.now()): void {
    this.failedAtMs.set(address, nowMs);
  }

  /** `address` answered: it is a first choice again. */
  noteReachable(address: string): void {
    this.failedAtMs.delete(address);
  }

  /** Runs `call` against brokers in turn until one answers (network errors move on to the next). */
  async onAnyBroker<T>(call: (stubs: BrokerStubs) => Promise<T>): Promise<T> {
    let lastError: TributaryError | undefined;
    for (const address of this.candidateAddresses()) {
      try {
        const answer = await call(this.stubs(address));
        this.noteReachable(address);
        return answer;
      } catch (error) {
        const typed = asTributaryError(error);
        if (typed.code !== "NETWORK_EXCEPTION" && typed.code !== "REQUEST_TIMED_OUT" && typed.code !== "BROKER_SHUTTING_DOWN") throw typed;
        this.noteUnreachable(address);
        lastError = typed;
      }
    }
    throw lastError ?? errorFor("NETWORK_EXCEPTION", "no broker address to try");
  }

  /** Asks for fresh metadata of every tracked topic; concurrent callers share one refresh. */
  refreshMetadata(): Promise<void> {
    if (this.refreshing !== undefined) return this.refreshing;
    const run = async (): Promise<void> => {
      const waitMs = this.lastRefreshStartMs + this.options.metadataRefreshBackoffMs - Date.now();
      if (waitMs > 0) await sleep(waitMs);
      this.lastRefreshStartMs = Date.now();
      // Stale topics too: a producer may write to a topic it never tracked (its metadata came
      // from Admin.createTopics); asking only for tracked ones would never learn its new leader.
      const topics = [...new Set([...this.trackedTopics, ...this.metadata.staleTopicNames()])];
      const request: v1.MetadataRequest = {
        topics,
        allTopics: false,
        allowAutoTopicCreation: topics.some((t) => this.autoCreateTopics.has(t)),
      };
      const response = await this.onAnyBroker((stubs) =>
        unary<v1.MetadataResponse__Output>((o, cb) => stubs.broker.Metadata(request, o, cb), this.options.requestTimeoutMs, `Metadata from ${stubs.address}`),
      ).catch((error: unknown) => {
        this.options.logger.warn({ topics, error: String(error) }, "metadata refresh failed");
        throw error;
      });
      this.metadata.update(response, Date.now());
      this.options.logger.debug({ topics, metadataOffset: response.metadataOffset, brokers: response.brokers.length }, "metadata refreshed");
    };
    this.refreshing = run().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** Metadata for all topics, not cached as tracked (admin listTopics). */
  async fetchMetadata(request: v1.MetadataRequest): Promise<v1.MetadataResponse__Output> {
    const response = await this.onAnyBroker((stubs) =>
      unary<v1.MetadataResponse__Output>((o, cb) => stubs.broker.Metadata(request, o, cb), this.options.requestTimeoutMs, `Metadata from ${stubs.address}`),
    );
    this.metadata.update(response, Date.now());
    return response;
  }

  /** Waits until `topic`'s partition count is known, refreshing as needed; fails after `timeoutMs`. */
  async waitForTopic(topic: string, timeoutMs: number, allowAutoCreation = false): Promise<number> {
    this.track([topic], allowAutoCreation);
    const deadlineMs = Date.now() + timeoutMs;
    let lastError: TributaryError | undefined;
    for (let attempt = 1; ; attempt++) {
      const count = this.metadata.partitionCount(topic);
      if (count !== undefined) return count;
      if (this.closed) throw errorFor("NETWORK_EXCEPTION", "client is closed");
      try {
        await this.refreshMetadata();
      } catch (error) {
        lastError = asTributaryError(error);
      }
      const known = this.metadata.partitionCount(topic);
      if (known !== undefined) return known;
      if (Date.now() >= deadlineMs) {
        throw new TimeoutError("REQUEST_TIMED_OUT", `topic ${topic} not present in metadata after ${timeoutMs} ms${lastError ? `: ${lastError.message}` : ""}`, {
          cause: lastError,
        });
      }
      await sleep(Math.min(this.options.metadataRefreshBackoffMs * attempt, 500, Math.max(0, deadlineMs - Date.now())));
    }
  }

  leaderFor(topic: string, partition: number): BrokerNode | undefined {
    return this.metadata.leaderFor(topic, partition);
  }

  /** The broker coordinating `groupId` (FindCoordinator on any broker). */
  async findCoordinator(groupId: string): Promise<Coordinator> {
    const response = await this.onAnyBroker((stubs) =>
      unary<v1.FindCoordinatorResponse__Output>(
        (o, cb) => stubs.groups.FindCoordinator({ keyType: "group", keys: [groupId] }, o, cb),
        this.options.requestTimeoutMs,
        `FindCoordinator on ${stubs.address}`,
      ),
    );
    const coordinator = response.coordinators.find((c) => c.key === groupId) ?? response.coordinators[0];
    if (coordinator === undefined) throw errorFor("COORDINATOR_NOT_AVAILABLE", `no coordinator returned for group ${groupId}`);
    const error = responseErrorOf(coordinator.error, `FindCoordinator(${groupId})`);
    if (error !== null) throw error;
    if (coordinator.endpoint === null) throw errorFor("COORDINATOR_NOT_AVAILABLE", `coordinator of group ${groupId} has no endpoint`);
    return { nodeId: coordinator.nodeId, address: addressOf(coordinator.endpoint.host, coordinator.endpoint.port) };
  }

  close(): void {
    this.closed = true;
    clearInterval(this.maxAgeTimer);
    this.pool.close();
  }
}
