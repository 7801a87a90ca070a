// The steps of the seed's Lab 2, shared by the free-port run and the run on the seed's own
// files: create my-failsafe-topic (1 partition, RF 3), produce through two brokers, consume from
// the beginning, describe (ISR of 3), kill -9 the leader, describe (new leader, ISR of 2), and
// the consumer still reads every record.
import { expect } from "vitest";
import { parsePartitionLine, removeDirs, type RunningProcess, runTributary, untilCommand } from "./support.js";

const FIRST = ["Hello!", "How are you today?", "Mighty fine I thank you!"];
const AFTER_FAILOVER = ["hi dad", "I love you!"];

export interface Cluster {
  controller: RunningProcess;
  brokers: Map<number, RunningProcess>;
  bootstrap: string;
  dirs: string[];
}

/** `topics describe` until its partition line satisfies `accept`. */
async function describeUntil(bootstrap: string, accept: (p: NonNullable<ReturnType<typeof parsePartitionLine>>) => boolean) {
  const result = await untilCommand(["topics", "describe", "my-failsafe-topic", "--bootstrap-server", bootstrap], (r) => {
    const partition = parsePartitionLine(r.stdout.split("\n")[1] ?? "");
    return partition !== null && accept(partition);
  }, 45_000);
  const lines = result.stdout.trim().split("\n");
  return { lines, partition: parsePartitionLine(lines[1]!)! };
}

export async function runLab(cluster: Cluster, produceBootstrap: string): Promise<void> {
  const { bootstrap } = cluster;
  const created = await untilCommand(["topics", "create", "--replication-factor", "3", "--partitions", "1", "--topic", "my-failsafe-topic",
    "--bootstrap-server", bootstrap], () => true);
  expect(created.stdout.trim()).toBe("Created topic my-failsafe-topic.");

  const produced = await runTributary(["console-producer", "--broker-list", produceBootstrap, "--topic", "my-failsafe-topic"], { input: FIRST.join("\n") + "\n" });
  expect(produced.stderr).toBe("");
  expect(produced.code).toBe(0);

  const consumed = await runTributary(["console-consumer", "--bootstrap-server", bootstrap, "--topic", "my-failsafe-topic", "--from-beginning", "--max-messages", "3", "--timeout-ms", "15000"]);
  expect(consumed.stdout.split("\n").filter((l) => l !== "")).toEqual(FIRST);

  const before = await describeUntil(bootstrap, (p) => p.isr.length === 3);
  expect(before.lines[0]).toBe("Topic: my-failsafe-topic PartitionCount: 1 ReplicationFactor: 3 Configs:");
  expect(before.partition.replicas.sort()).toEqual([0, 1, 2]);
  expect(before.partition.isr).toEqual([0, 1, 2]);
  const leader = before.partition.leader;
  expect(cluster.brokers.has(leader)).toBe(true);

  // The seed kills the first server; kill -9 the leader, whichever it is.
  await cluster.brokers.get(leader)!.stop("SIGKILL");
  const survivors = [...cluster.brokers.keys()].filter((id) => id !== leader);
  const after = await describeUntil(bootstrap.split(",").filter((_, i) => i !== leader).join(","), (p) => p.leader !== leader && p.leader >= 0 && p.isr.length === 2);
  expect(survivors).toContain(after.partition.leader);
  expect(after.partition.isr).toEqual(survivors.sort());
  expect(after.partition.replicas).toEqual(before.partition.replicas);

  const survivorBootstrap = bootstrap.split(",").filter((_, i) => i !== leader).join(",");
  const more = await runTributary(["console-producer", "--bootstrap-server", survivorBootstrap, "--topic", "my-failsafe-topic"], { input: AFTER_FAILOVER.join("\n") + "\n" });
  expect(more.code).toBe(0);
  const all = await runTributary(["console-consumer", "--bootstrap-server", survivorBootstrap, "--topic", "my-failsafe-topic", "--from-beginning",
    "--max-messages", "5", "--timeout-ms", "15000"]);
  expect(all.stdout.split("\n").filter((l) => l !== "")).toEqual([...FIRST, ...AFTER_FAILOVER]);
}

export async function stopCluster(cluster: Cluster | undefined): Promise<void> {
  if (!cluster) return;
  for (const broker of cluster.brokers.values()) await broker.stop();
  await cluster.controller.stop();
  removeDirs(...cluster.dirs);
}

