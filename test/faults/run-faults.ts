// One fault run: start the proxied cluster, create the topic, start the observers and the
// workload, let the nemesis work for `durationMs`, heal everything, let the consumer groups
// settle, read the whole log back and check. Returns a report; the history (every fault, quorum
// leader observed, violation) is in <root>/history.jsonl and each node's output in <root>/<node>.log.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Tributary, serializers } from "../../packages/client/dist/index.js";
import { checkHistory, type CheckResult, type LogRecord } from "./checker.js";
import { startFaultCluster, waitFor } from "./fault-cluster.js";
import { History } from "./history.js";
import { healEverything, runNemesis, type NemesisStats } from "./nemesis.js";
import { LeaderLedger, startObservers, type Violation } from "./observers.js";
import { startWorkload } from "./workload.js";

export const TOPIC = "faults";
export const PARTITIONS = 4;

export interface FaultRunOptions {
  seed: number;
  durationMs: number;
  acks?: "all" | "1";
  progress?: (line: string) => void;
}

export interface FaultRunReport {
  seed: number;
  root: string;
  historyFile: string;
  nemesis: NemesisStats | undefined;
  check: CheckResult | undefined;
  violations: Violation[];
  failures: string[];
  terms: number;
  quorumPolls: number;
  hwObservations: number;
  producerErrors: Record<string, number>;
  groupErrors: Record<string, number>;
}

export async function runFaults(options: FaultRunOptions): Promise<FaultRunReport> {
  const progress = options.progress ?? (() => {});
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-faults-"));
  const history = new History(path.join(root, "history.jsonl"));
  history.add("run", { seed: options.seed, durationMs: options.durationMs });
  const leaders = new LeaderLedger(history);
  const report: FaultRunReport = {
    seed: options.seed, root, historyFile: history.file, nemesis: undefined, check: undefined, violations: [], failures: [],
    terms: 0, quorumPolls: 0, hwObservations: 0, producerErrors: {}, groupErrors: {},
  };
  const cluster = await startFaultCluster({ root, onLine: (node, line) => { if (node.role === "controller") leaders.onControllerLine(node, line); } });
  const admin = new Tributary({ bootstrapServers: cluster.bootstrapServers, clientId: "fault-admin", requestTimeoutMs: 5_000 });
  let observers: ReturnType<typeof startObservers> | undefined;
  let workload: ReturnType<typeof startWorkload> | undefined;
  try {
    await waitFor(async () => (await admin.admin().describeCluster()).brokers.filter((b) => !b.fenced).length === 3, { timeoutMs: 30_000, message: "3 unfenced brokers" });
    await admin.admin().createTopics([{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3, configs: { "min.insync.replicas": "2" } }]);
    observers = startObservers(cluster, TOPIC, PARTITIONS, history, leaders);
    workload = startWorkload({ bootstrapServers: cluster.bootstrapServers, topic: TOPIC, partitions: PARTITIONS, producers: 3, groups: 2, membersPerGroup: 2, seed: options.seed, history, ...(options.acks ? { acks: options.acks } : {}) });
    const w = workload;
    const acked = () => w.producers.reduce((n, p) => n + p.acked.length, 0);
    await waitFor(() => acked() >= 200, { timeoutMs: 30_000, message: "the workload acknowledged before any fault" });
    progress(`seed ${options.seed}: workload running, nemesis for ${Math.round(options.durationMs / 1000)} s; history in ${history.file}`);
    history.add("nemesis-start", { acked: acked() });
    report.nemesis = await runNemesis(cluster, { seed: options.seed, durationMs: options.durationMs, history, leaders: () => observers?.leaderNames() ?? [], shouldStop: () => leaders.violations.length > 0 });
    if (report.nemesis.restartFailures > 0) report.failures.push(`${report.nemesis.restartFailures} node restart(s) after kill -9 failed (see history)`);
    history.add("heal", { acked: acked() });
    await healEverything(cluster, history);
    // Write on for a moment with everything healed: the cluster must be able to take writes again.
    const ackedAtHeal = acked();
    try {
      await waitFor(() => acked() >= ackedAtHeal + 100, { timeoutMs: 60_000, message: "acknowledged writes after the heal" });
    } catch (error) {
      report.failures.push(`no progress after healing: ${(error as Error).message}`);
    }
    await w.stopProducers();
    history.add("producers-stopped", { acked: acked() });
    progress(`seed ${options.seed}: faults over, ${acked()} acknowledged; settling consumer groups`);
    const ends = new Map((await admin.admin().listOffsets(TOPIC, "latest")).map((o) => [o.partition, Number(o.offset)]));
    const settled = async (groupId: string) => {
      const described = await admin.admin().describeGroup(groupId);
      return [...ends].every(([p, end]) => {
        const o = described.offsets.find((x) => x.topic === TOPIC && x.partition === p);
        return end === 0 || (o?.committedOffset !== null && o?.committedOffset !== undefined && Number(o.committedOffset) >= end);
      });
    };
    for (const g of w.groups) {
      try {
        await waitFor(() => settled(g.groupId), { timeoutMs: 90_000, intervalMs: 500, message: `group ${g.groupId} to commit up to the log end` });
      } catch (error) {
        report.failures.push((error as Error).message);
      }
    }
    await w.stopConsumers();
    const committed = new Map<string, Map<number, number>>();
    for (const g of w.groups) {
      const described = await admin.admin().describeGroup(g.groupId);
      committed.set(g.groupId, new Map(described.offsets.filter((o) => o.topic === TOPIC && o.committedOffset !== null).map((o) => [o.partition, Number(o.committedOffset)])));
    }
    const readStartMs = Date.now();
    const log = await readWholeLog(admin, ends);
    const readBack = [...log.values()].reduce((n, records) => n + records.length, 0);
    progress(`seed ${options.seed}: read back ${readBack} records in ${Date.now() - readStartMs} ms`);
    history.add("read-back", { records: readBack, ms: Date.now() - readStartMs });
    observers.stop();
    report.check = checkHistory({ log, producers: w.producers, groups: w.groups, committed });
    report.failures.push(...report.check.failures);
  } catch (error) {
    report.failures.push(`run aborted: ${(error as Error).stack ?? String(error)}`);
  } finally {
    observers?.stop();
    if (workload) {
      for (const p of workload.producers) for (const [k, n] of p.errors) report.producerErrors[k] = (report.producerErrors[k] ?? 0) + n;
      for (const g of workload.groups) for (const [k, n] of g.commitErrors) report.groupErrors[k] = (report.groupErrors[k] ?? 0) + n;
      await Promise.race([Promise.allSettled([workload.stopProducers(), workload.stopConsumers()]), new Promise((r) => setTimeout(r, 10_000))]);
      await Promise.allSettled(workload.clients.map((c) => c.close()));
    }
    await admin.close().catch(() => {});
    await cluster.stop();
  }
  report.violations = [...leaders.violations, ...(observers?.hws.violations ?? [])];
  report.failures.push(...report.violations.map((v) => `${v.invariant}: ${v.detail}`));
  report.terms = leaders.leaders.size;
  report.quorumPolls = observers?.quorumPolls() ?? 0;
  report.hwObservations = observers?.hws.observations ?? 0;
  history.add("report", { ...report, check: report.check?.stats });
  return report;
}

async function readWholeLog(client: Tributary, ends: Map<number, number>): Promise<Map<number, LogRecord[]>> {
  // Polls back to back, many records a poll: the read-back once went through waitFor (one poll
  // of at most 500 records, then a 100 ms pause), which capped it near 5,000 records/s, so a
  // 19-minute run's ~380,000 records could not be read within its 60 s deadline.
  const consumer = client.consumer({ keyDeserializer: serializers.string, valueDeserializer: serializers.string, autoOffsetReset: "earliest", enableAutoCommit: false, maxPollRecords: 10_000 });
  consumer.assign([...ends.keys()].map((partition) => ({ topic: TOPIC, partition })));
  const log = new Map<number, LogRecord[]>([...ends.keys()].map((p) => [p, []]));
  const next = new Map<number, number>([...ends.keys()].map((p) => [p, 0]));
  const total = [...ends.values()].reduce((a, b) => a + b, 0);
  const timeoutMs = 60_000 + Math.ceil(total / 10_000) * 1_000;
  const deadlineMs = Date.now() + timeoutMs;
  const done = () => [...ends].every(([p, end]) => next.get(p)! >= end);
  try {
    while (!done()) {
      if (Date.now() >= deadlineMs) {
        // Say how far each partition got, so a stuck partition is told apart from a slow read.
        const progress = [...ends].map(([p, end]) => `partition ${p}: read to ${next.get(p)} of ${end}`).join(", ");
        throw new Error(`timed out after ${timeoutMs} ms waiting for the whole log read back (${progress})`);
      }
      for (const r of await consumer.poll(500)) {
        log.get(r.partition)!.push({ offset: Number(r.offset), value: r.value ?? "" });
        next.set(r.partition, Number(r.offset) + 1);
      }
    }
  } finally {
    await consumer.close();
  }
  return log;
}

export function formatReport(report: FaultRunReport): string {
  const n = report.nemesis;
  const lines = [
    `fault run, seed ${report.seed}: ${report.failures.length === 0 ? "PASSED" : `FAILED (${report.failures.length} failure(s))`}`,
    n ? `faults survived: kill -9 brokers ${n.kill.broker}, controllers ${n.kill.controller}; SIGSTOP brokers ${n.pause.broker}, controllers ${n.pause.controller}; pair cuts ${n["cut-pair"]}; isolations ${n.isolate}; rounds with two faults at once ${n.concurrentRounds}` : "nemesis did not run",
    report.check ? `records: ${report.check.stats.acked} acknowledged, ${report.check.stats.logRecords} in the log, ${report.check.stats.uncertain} unacknowledged (${report.check.stats.uncertainPresent} of them in the log); groups saw ${JSON.stringify(report.check.stats.seenByGroups)}` : "no check",
    `controller terms observed ${report.terms}, DescribeQuorum answers ${report.quorumPolls}, high-watermark observations ${report.hwObservations}`,
    `producer errors ${JSON.stringify(report.producerErrors)}, consumer errors ${JSON.stringify(report.groupErrors)}`,
    ...report.failures.slice(0, 30).map((f) => `  FAILURE: ${f}`),
    `history: ${report.historyFile} (node logs beside it)`,
  ];
  return lines.join("\n");
}
