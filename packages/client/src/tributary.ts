// The client's entry point: `new Tributary({ bootstrapServers, clientId })` holds the
// connections and cluster metadata that its producers, consumers and admin share.
import { Admin } from "./admin.js";
import { Cluster } from "./cluster.js";
import { Consumer } from "./consumer/consumer.js";
import type { ConsumerOptions } from "./consumer/types.js";
import { IllegalStateError } from "./errors.js";
import { Producer } from "./producer/producer.js";
import type { ProducerOptions } from "./producer/types.js";
import { type ClientLogger, SILENT_LOGGER } from "./logger.js";
import { DEFAULT_BACKOFF } from "./retry.js";

export interface TributaryOptions {
  /** "host:port" of one or more brokers (a comma-separated string works too, as Kafka's). */
  bootstrapServers: string[] | string;
  /** Names this application in brokers' logs. */
  clientId?: string;
  /** Deadline of one admin, metadata or group call. */
  requestTimeoutMs?: number;
  /** Metadata older than this is refreshed even without an error. */
  metadataMaxAgeMs?: number;
  /** Retries of admin, metadata and group calls on retriable errors. */
  retries?: number;
  retryBackoffMs?: number;
  retryBackoffMaxMs?: number;
  /** Largest gRPC message sent or received. */
  maxMessageBytes?: number;
  /** A pino(-compatible) logger for retries, rebalances and metadata changes; silent by default. */
  logger?: ClientLogger;
}

export class Tributary {
  private readonly cluster: Cluster;
  private readonly closables = new Set<{ close(): Promise<void> }>();
  private closed = false;

  constructor(options: TributaryOptions) {
    const servers = typeof options.bootstrapServers === "string" ? options.bootstrapServers.split(",") : options.bootstrapServers;
    const bootstrapServers = servers.map((s) => s.trim()).filter((s) => s.length > 0);
    this.cluster = new Cluster({
      bootstrapServers,
      clientId: options.clientId ?? "tributary-client",
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      metadataMaxAgeMs: options.metadataMaxAgeMs ?? 300_000,
      metadataRefreshBackoffMs: 50,
      maxMessageBytes: options.maxMessageBytes ?? 128 * 1024 * 1024,
      backoff: {
        ...DEFAULT_BACKOFF,
        initialBackoffMs: options.retryBackoffMs ?? DEFAULT_BACKOFF.initialBackoffMs,
        maxBackoffMs: options.retryBackoffMaxMs ?? DEFAULT_BACKOFF.maxBackoffMs,
      },
      retries: options.retries ?? 10,
      logger: options.logger ?? SILENT_LOGGER,
    });
  }

  get clientId(): string {
    return this.cluster.options.clientId;
  }

  producer<K, V>(options: ProducerOptions<K, V>): Producer<K, V> {
    this.assertOpen();
    const producer = new Producer<K, V>(this.cluster, options);
    this.closables.add(producer);
    return producer;
  }

  consumer<K, V>(options: ConsumerOptions<K, V>): Consumer<K, V> {
    this.assertOpen();
    const consumer = new Consumer<K, V>(this.cluster, options);
    this.closables.add(consumer);
    return consumer;
  }

  admin(): Admin {
    this.assertOpen();
    return new Admin(this.cluster);
  }

  /** Closes every producer and consumer made from this client, then its connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.closables].map((c) => c.close()));
    this.cluster.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new IllegalStateError("the Tributary client is closed");
  }
}
