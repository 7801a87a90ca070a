// Observers of two invariants while the nemesis runs, each talking to nodes on their real
// ports (never through the fault proxies):
//   - one leader per term: DescribeQuorum answers from every controller, plus the controllers'
//     own "raft state" log lines (a node that became leader logs it even if nobody polls it then);
//   - high watermarks never go backwards on a replica: ListOffsets(latest) per broker (the
//     leader's in-memory HW, scoped to one process lifetime, as a restart starts again from the
//     checkpoint), and each replica's high-watermark-checkpoint file (across restarts).
import fs from "node:fs";
import path from "node:path";
import type * as grpcTypes from "@grpc/grpc-js";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { connectBroker, errorCode, protocol, type RawBrokerClient } from "../support/raw-client.js";
import type { FaultCluster, FaultNode } from "./fault-cluster.js";
import type { History } from "./history.js";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const grpc = createRequire(path.join(REPO, "packages/broker/package.json"))("@grpc/grpc-js") as typeof grpcTypes;

export interface Violation {
  invariant: "one-leader-per-term" | "hw-monotonic";
  detail: string;
}

export class LeaderLedger {
  /** term → leader id → where it was seen */
  readonly leaders = new Map<number, Map<number, string>>();
  readonly violations: Violation[] = [];
  /** The leader of the highest term seen so far. */
  latest: { term: number; leaderId: number } | undefined;

  constructor(private readonly history: History) {}

  observe(term: number, leaderId: number, source: string): void {
    if (!Number.isSafeInteger(term) || leaderId <= 0) return;
    if (!this.latest || term > this.latest.term) this.latest = { term, leaderId };
    let byLeader = this.leaders.get(term);
    if (!byLeader) this.leaders.set(term, (byLeader = new Map()));
    if (byLeader.has(leaderId)) return;
    byLeader.set(leaderId, source);
    this.history.add("quorum", { term, leaderId, source });
    if (byLeader.size > 1) {
      const detail = `term ${term} had leaders ${[...byLeader].map(([id, from]) => `${id} (seen by ${from})`).join(", ")}`;
      this.violations.push({ invariant: "one-leader-per-term", detail });
      this.history.add("violation", { invariant: "one-leader-per-term", detail });
    }
  }

  /** Feeds a controller's stdout line. */
  onControllerLine(node: FaultNode, line: string): void {
    if (!line.includes('"raft state"')) return;
    try {
      const parsed = JSON.parse(line) as { raftRole?: string; term?: number; leaderId?: number | null };
      if (parsed.raftRole === "leader" && typeof parsed.term === "number") this.observe(parsed.term, node.nodeId, `${node.name} log`);
      else if (typeof parsed.term === "number" && typeof parsed.leaderId === "number") this.observe(parsed.term, parsed.leaderId, `${node.name} log (follower)`);
    } catch {
      // Not JSON: not a raft line.
    }
  }
}

export class HighWatermarkLedger {
  private readonly memory = new Map<string, number>();
  private readonly checkpoint = new Map<string, number>();
  readonly violations: Violation[] = [];
  observations = 0;

  constructor(private readonly history: History) {}

  private record(table: Map<string, number>, key: string, hw: number, source: string): void {
    this.observations++;
    const before = table.get(key);
    if (before !== undefined && hw < before) {
      const detail = `${key}: high watermark went from ${before} to ${hw} (${source})`;
      this.violations.push({ invariant: "hw-monotonic", detail });
      this.history.add("violation", { invariant: "hw-monotonic", detail });
    }
    if (before === undefined || hw > before) table.set(key, hw);
  }

  observeLeader(broker: FaultNode, partition: string, hw: number): void {
    this.record(this.memory, `${broker.name}#${broker.incarnation} ${partition}`, hw, "ListOffsets latest");
  }

  observeCheckpoint(broker: FaultNode, partition: string, hw: number): void {
    this.record(this.checkpoint, `${broker.name} ${partition}`, hw, "high-watermark-checkpoint file");
  }
}

interface QuorumAnswer {
  error?: { code?: unknown };
  nodeId: number;
  leaderId: number;
  term: string | number;
}

export interface Observers {
  leaders: LeaderLedger;
  hws: HighWatermarkLedger;
  quorumPolls(): number;
  /** Node names leading now, as last observed: the active controller and partition leaders. */
  leaderNames(): string[];
  stop(): void;
}

export function startObservers(cluster: FaultCluster, topic: string, partitions: number, history: History, leaders: LeaderLedger): Observers {
  const hws = new HighWatermarkLedger(history);
  const v1 = protocol.tributaryV1();
  const controllerClients = new Map(cluster.controllers.map((c) => [c.name, new v1.Controller(c.directAddress, grpc.credentials.createInsecure())]));
  const brokerClients = new Map<string, RawBrokerClient>(cluster.brokers.map((b) => [b.name, connectBroker(b.directAddress, 1_000)]));
  let polls = 0;
  const partitionLeaders = new Map<number, string>();
  let stopped = false;
  const pollQuorum = async () => {
    await Promise.all(cluster.controllers.map((c) => new Promise<void>((resolve) => {
      if (!c.alive || c.paused) return resolve();
      const client = controllerClients.get(c.name) as unknown as {
        DescribeQuorum(req: object, opts: object, cb: (e: Error | null, r?: QuorumAnswer) => void): void;
      };
      client.DescribeQuorum({}, { deadline: Date.now() + 1_000 }, (error, response) => {
        if (!error && response && errorCode(response.error) === "NONE") {
          polls++;
          leaders.observe(Number(response.term), response.leaderId, `${c.name} DescribeQuorum`);
        }
        resolve();
      });
    })));
  };
  const pollHighWatermarks = async () => {
    await Promise.all(cluster.brokers.map(async (b) => {
      if (!b.alive || b.paused) return;
      const incarnation = b.incarnation;
      try {
        const response = await brokerClients.get(b.name)!.listOffsets({
          replicaId: -1, isolationLevel: 0,
          topics: [{ name: topic, partitions: Array.from({ length: partitions }, (_, p) => ({ partition: p, timestamp: "-1", currentLeaderEpoch: -1 })) }],
        } as never);
        // An answer that raced a restart belongs to the old process; drop it.
        if (b.incarnation !== incarnation) return;
        for (const p of response.topics[0]?.partitions ?? []) {
          if (errorCode(p.error) === "NONE") {
            hws.observeLeader(b, `${topic}-${p.partition}`, Number(p.offset));
            partitionLeaders.set(p.partition, b.name);
          }
        }
      } catch {
        // Down, stalled or cut: nothing observed.
      }
      for (let p = 0; p < partitions; p++) {
        const file = path.join(b.dataDir, `${topic}-${p}`, "high-watermark-checkpoint");
        try {
          const lines = fs.readFileSync(file, "utf8").trim().split("\n");
          const value = Number(lines[1]);
          if (lines.length >= 2 && Number.isSafeInteger(value)) hws.observeCheckpoint(b, `${topic}-${p}`, value);
        } catch {
          // Not written yet.
        }
      }
    }));
  };
  const loop = async () => {
    while (!stopped) {
      await Promise.all([pollQuorum(), pollHighWatermarks()]);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };
  const running = loop();
  return {
    leaders, hws,
    quorumPolls: () => polls,
    leaderNames() {
      const names = new Set(partitionLeaders.values());
      const controller = cluster.controllers.find((c) => c.nodeId === leaders.latest?.leaderId);
      if (controller) names.add(controller.name);
      return [...names];
    },
    stop() {
      stopped = true;
      void running.then(() => {
        for (const c of controllerClients.values()) c.close();
        for (const b of brokerClients.values()) b.close();
      });
    },
  };
}
