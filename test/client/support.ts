// Helpers for the SDK's process tests: a cluster of real brokers plus a Tributary client on it.
import { Tributary, type TributaryOptions } from "../../packages/client/dist/index.js";
import { startCluster, waitFor, type Cluster, type ClusterOptions } from "../support/cluster.js";

export { waitFor } from "../support/cluster.js";

export interface ClientCluster {
  cluster: Cluster;
  client(options?: Partial<TributaryOptions>): Tributary;
  stop(): Promise<void>;
}

/** Starts a cluster and waits until every broker is registered and unfenced; clients made through it are closed by stop(). */
export async function startClientCluster(options: ClusterOptions): Promise<ClientCluster> {
  const cluster = await startCluster(options);
  const clients: Tributary[] = [];
  const probe = new Tributary({ bootstrapServers: cluster.bootstrapServers, clientId: "client-test-probe", requestTimeoutMs: 5_000 });
  try {
    await waitFor(
      async () => {
        const described = await probe.admin().describeCluster();
        return described.brokers.filter((b) => !b.fenced).length === options.brokers;
      },
      { timeoutMs: 30_000, message: `${options.brokers} unfenced brokers` },
    );
  } catch (error) {
    await cluster.stop();
    throw error;
  } finally {
    await probe.close();
  }
  return {
    cluster,
    client(overrides = {}) {
      const client = new Tributary({ bootstrapServers: cluster.bootstrapServers, clientId: "client-test", requestTimeoutMs: 10_000, ...overrides });
      clients.push(client);
      return client;
    },
    async stop() {
      await Promise.allSettled(clients.map((c) => c.close()));
      await cluster.stop();
    },
  };
}
