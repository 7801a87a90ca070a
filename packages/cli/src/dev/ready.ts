// `tributary dev` prints "running" only once the cluster can take a topic: a broker that has
// registered is still fenced until its first heartbeat is accepted, and a newcomer typing
// `topics create` in that moment would get "0 live brokers".
import { openSdkSession } from "../client/sdk-session.js";
import { CliError } from "../errors.js";

const READY_POLL_INTERVAL_MS = 100;
export const READY_TIMEOUT_MS = 30_000;

export async function waitForLiveBrokers(bootstrapServers: string[], expectedBrokers: number, signal: AbortSignal, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const session = await openSdkSession(bootstrapServers, { verbose: false, clientId: "tributary-dev" });
  let live = 0;
  try {
    while (!signal.aborted) {
      try {
        const cluster = await session.describeCluster();
        live = cluster.brokers.filter((b) => !b.fenced).length;
        if (live >= expectedBrokers) return;
      } catch {
        // Not answering yet: keep polling until the deadline.
      }
      if (Date.now() > deadline) {
        throw new CliError(`only ${live} of ${expectedBrokers} brokers became live within ${timeoutMs} ms`, "see the log lines above");
      }
      await new Promise((resolve) => setTimeout(resolve, READY_POLL_INTERVAL_MS));
    }
  } finally {
    await session.close().catch(() => undefined);
  }
}
