// What the request handlers share: this broker's id and config, the metadata image, the
// replica manager and the delayed-operation queues. Handlers get it passed in, so each RPC's
// checks and answers live in one file and can be read without the server around them.
import { resolveTopicConfig, type MetadataImage, type ServerConfigValues, type TopicConfigValues } from "@tributary/protocol";
import type { Logger } from "pino";
import type { DelayedOperations } from "./delayed-operations.js";
import type { ReplicaManager } from "./replica-manager.js";

export interface BrokerLimits {
  /** Produce bytes accepted but not yet answered (queued.max.request.bytes). */
  queuedMaxRequestBytes: number;
  /** Requests being handled at once, all RPCs together. */
  maxConcurrentRequests: number;
  /** Upper bound on a fetch's max_wait_ms, so a client cannot park a request forever. */
  maxFetchWaitMs: number;
  /** Upper bound on a produce's timeout_ms. */
  maxProduceTimeoutMs: number;
  /** Upper bound on a fetch response's bytes, whatever the request asks. */
  maxFetchResponseBytes: number;
}

export const DEFAULT_LIMITS: BrokerLimits = {
  queuedMaxRequestBytes: 512 * 1024 * 1024,
  maxConcurrentRequests: 4096,
  maxFetchWaitMs: 30_000,
  maxProduceTimeoutMs: 300_000,
  maxFetchResponseBytes: 64 * 1024 * 1024,
};

export interface BrokerContext {
  readonly brokerId: number;
  readonly config: ServerConfigValues;
  readonly limits: BrokerLimits;
  readonly image: MetadataImage;
  readonly replicas: ReplicaManager;
  readonly delayedProduce: DelayedOperations;
  readonly delayedFetch: DelayedOperations;
  readonly log: Logger;
  now(): number;
  /** The effective configs of a topic (cached until the image changes). */
  topicConfig(topic: string): TopicConfigValues;
  /** Asks the controller to create topics with the broker defaults (auto.create.topics.enable). */
  autoCreateTopics(names: string[]): void;
  /** The current broker epoch of a registered broker, -1 when unknown. */
  brokerEpochOf(brokerId: number): number;
  /** Bytes of produce requests accepted and not yet answered. */
  queuedProduceBytes: number;
}

export class TopicConfigCache {
  private readonly cache = new Map<string, TopicConfigValues>();
  private readonly serverDefaults: TopicConfigValues;

  constructor(private readonly config: ServerConfigValues, private readonly image: MetadataImage) {
    this.serverDefaults = resolveTopicConfig({}, config);
  }

  get(topic: string): TopicConfigValues {
    let values = this.cache.get(topic);
    if (values) return values;
    const overrides = this.image.topicsByName.get(topic)?.configs;
    try {
      values = overrides && overrides.size > 0 ? resolveTopicConfig(Object.fromEntries(overrides), this.config) : this.serverDefaults;
    } catch {
      // The controller validated these; a key from a newer version is ignored rather than fatal.
      values = this.serverDefaults;
    }
    this.cache.set(topic, values);
    return values;
  }

  invalidate(): void {
    this.cache.clear();
  }
}
