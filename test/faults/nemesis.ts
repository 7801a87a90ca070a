// The nemesis: on a seeded schedule, one fault at a time — kill -9 then restart, SIGSTOP then
// SIGCONT, a cut between two nodes (both directions), or a node cut off from everyone — held for
// a few seconds, then healed, then a quiet gap. Mostly one fault at a time (sometimes two), which
// keeps a majority of controllers and two of three replicas reachable most of the time, so the
// workload makes progress and the checker has acknowledged records to check; the faults still
// overlap with elections, ISR changes and group rebalances that the previous fault started.
import type { FaultCluster } from "./fault-cluster.js";
import type { CutMode } from "./fault-proxy.js";
import { Random, type History } from "./history.js";

export type FaultKind = "kill" | "pause" | "cut-pair" | "isolate";

export interface NemesisStats {
  kill: Record<"broker" | "controller", number>;
  pause: Record<"broker" | "controller", number>;
  "cut-pair": number;
  isolate: number;
  /** Rounds with two faults at once. */
  concurrentRounds: number;
  restartFailures: number;
}

export interface NemesisOptions {
  seed: number;
  durationMs: number;
  history: History;
  /** Names of nodes leading something now (the active controller, partition leaders), to aim at. */
  leaders?: () => string[];
  /** Returns true when the run should stop early (a failure already observed). */
  shouldStop?: () => boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runNemesis(cluster: FaultCluster, options: NemesisOptions): Promise<NemesisStats> {
  const random = new Random(options.seed);
  const stats: NemesisStats = { kill: { broker: 0, controller: 0 }, pause: { broker: 0, controller: 0 }, "cut-pair": 0, isolate: 0, concurrentRounds: 0, restartFailures: 0 };
  const names = cluster.nodes.map((n) => n.name);
  const deadline = Date.now() + options.durationMs;
  const { history } = options;
  const kinds: FaultKind[] = ["kill", "kill", "pause", "cut-pair", "cut-pair", "isolate"];
  // Half the time a fault aims at a leader (the active controller or a partition leader): those
  // are the faults that force elections, ISR shrinks and truncation, where bugs live.
  const target = () => {
    const leaders = options.leaders?.() ?? [];
    return leaders.length > 0 && random.next() < 0.5 ? random.pick(leaders) : random.pick(names);
  };
  interface Plan { kind: FaultKind; victim: string; holdMs: number; mode: CutMode; others: string[] }
  const plan = (used: Set<string>): Plan => {
    const kind = random.pick(kinds);
    let victim = target();
    for (let tries = 0; used.has(victim) && tries < 10; tries++) victim = random.pick(names);
    used.add(victim);
    const mode: CutMode = random.next() < 0.7 ? "blackhole" : "reset";
    // "client" is the test process (producers and consumers): cutting it from a broker is a
    // client-side partition, which the SDK must survive as well.
    const candidates = [...names.filter((n) => n !== victim), "client"];
    const others = kind === "isolate" ? candidates : [random.pick(candidates)];
    return { kind, victim, holdMs: random.int(1_000, 6_000), mode, others };
  };
  const execute = async ({ kind, victim, holdMs, mode, others }: Plan): Promise<void> => {
    const node = cluster.node(victim);
    if (kind === "kill") {
      history.add("nemesis", { op: "kill -9", node: node.name, pid: node.pid, holdMs });
      await cluster.kill(node.name);
      stats.kill[node.role]++;
      await sleep(holdMs);
      try {
        await cluster.start(node.name);
        history.add("nemesis", { op: "restart", node: node.name, pid: cluster.node(node.name).pid });
      } catch (error) {
        // A node that cannot restart after kill -9 is a finding; the run fails on it.
        stats.restartFailures++;
        history.add("failure", { op: "restart failed", node: node.name, error: String(error) });
        await cluster.start(node.name).catch(() => {});
      }
    } else if (kind === "pause") {
      if (!node.alive) return;
      history.add("nemesis", { op: "SIGSTOP", node: node.name, holdMs });
      cluster.pause(node.name);
      stats.pause[node.role]++;
      await sleep(holdMs);
      cluster.resume(node.name);
      history.add("nemesis", { op: "SIGCONT", node: node.name });
    } else {
      history.add("nemesis", { op: kind, node: victim, from: others, mode, holdMs });
      for (const other of others) {
        cluster.network.cut(victim, other, mode);
        cluster.network.cut(other, victim, mode);
      }
      stats[kind]++;
      await sleep(holdMs);
      for (const other of others) {
        cluster.network.heal(victim, other);
        cluster.network.heal(other, victim);
      }
      history.add("nemesis", { op: "heal", node: victim, from: others });
    }
  };
  while (Date.now() < deadline && !options.shouldStop?.()) {
    // A quarter of the rounds run two faults at once on different nodes (say a dead broker
    // while another is cut off, or two controllers down: no quorum for a while).
    const used = new Set<string>();
    const plans = Array.from({ length: random.next() < 0.25 ? 2 : 1 }, () => plan(used));
    const gapMs = random.int(1_000, 4_000);
    if (plans.length > 1) stats.concurrentRounds++;
    await Promise.all(plans.map(execute));
    await sleep(gapMs);
  }
  return stats;
}

/** Undo everything: heal the network, continue paused processes, start dead ones. */
export async function healEverything(cluster: FaultCluster, history: History): Promise<void> {
  cluster.network.healAll();
  for (const node of cluster.nodes) {
    if (node.paused) cluster.resume(node.name);
    if (!node.alive) {
      history.add("nemesis", { op: "final restart", node: node.name });
      await cluster.start(node.name);
    }
  }
}
