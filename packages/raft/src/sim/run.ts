// One seeded simulation run: a cluster under a storm of faults with clients proposing and
// reading throughout, then a calm period in which it must make progress. Every fault, delay
// and timeout comes from the seed, so a failing seed replays exactly (RAFT_SIM_SEED=<seed>).
import type { RaftConfigInput, RaftUnsafeTestingOptions } from "../config.js";
import { RaftError } from "../errors.js";
import type { Entry, NodeId } from "../messages.js";
import { createSeededRandom, randomInt, type RandomSource } from "../random.js";
import { entryKeyOf, SafetyChecker, type Violation } from "./checker.js";
import { SimCluster } from "./cluster.js";
import { EventQueue } from "./event-queue.js";
import { PERFECT_NETWORK, SimNetwork, type NetworkFaults } from "./network.js";

export interface SimOptions {
  readonly seed: number;
  readonly nodeCount: number;
  /** How long faults are injected. */
  readonly chaosMs: number;
  /** After faults stop, a proposal must commit on every node within this long. */
  readonly progressWithinMs: number;
  readonly unsafeTesting?: RaftUnsafeTestingOptions;
}

export interface SimStats {
  events: number;
  simulatedMs: number;
  leaderTerms: number;
  committedEntries: number;
  readsChecked: number;
  crashes: number;
  faults: number;
}

export interface SimResult {
  readonly seed: number;
  readonly nodeCount: number;
  readonly violations: readonly Violation[];
  readonly stats: SimStats;
  /** The last faults injected, to help read a failure. */
  readonly recentFaults: readonly string[];
}

const ELECTION_TIMEOUT_MS = 200;

/**
 * Safety must hold in every configuration, so each seed draws its own: with pre-vote and
 * check-quorum off, candidates collide in the same term far more often; with one entry per
 * append, old-term entries reach a majority before the new leader's no-op does (Figure 8's
 * precondition).
 */
function rollRaftConfig(random: RandomSource): Omit<RaftConfigInput, "id" | "voters"> {
  return {
    electionTimeoutMs: ELECTION_TIMEOUT_MS,
    heartbeatIntervalMs: 40,
    preVote: random() < 0.7,
    checkQuorum: random() < 0.7,
    maxEntriesPerAppend: [1, 2, 4, 16][randomInt(random, 0, 3)]!,
    maxInflightAppends: [1, 4, 8][randomInt(random, 0, 2)]!,
    snapshotRetryMs: 400,
  };
}

/** A fresh, seed-chosen mix of network faults. */
function rollNetworkFaults(random: RandomSource): NetworkFaults {
  return {
    lossRate: random() < 0.3 ? 0 : random() * 0.2,
    duplicateRate: random() * 0.1,
    baseDelayMs: 0.2 + random() * 3,
    jitterMs: random() < 0.5 ? random() * 20 : random() * 120,
    longDelayRate: random() * 0.02,
    longDelayMs: 100 + random() * 1500,
  };
}

export async function runSimulation(options: SimOptions): Promise<SimResult> {
  const random = createSeededRandom(options.seed);
  const ids: NodeId[] = Array.from({ length: options.nodeCount }, (_, k) => k + 1);
  const queue = new EventQueue();
  const network = new SimNetwork(random);
  const checker = new SafetyChecker();
  const cluster = new SimCluster(
    {
      ids,
      seed: options.seed,
      raft: { ...rollRaftConfig(random), unsafeTesting: options.unsafeTesting },
      snapshotEveryEntries: randomInt(random, 20, 120),
      disk: { minWriteMs: 0.05, maxWriteMs: 0.05 + random() * 3, slowWriteRate: random() * 0.02, slowWriteMs: 200 },
    },
    queue,
    network,
    checker,
    random,
  );
  const stats: SimStats = { events: 0, simulatedMs: 0, leaderTerms: 0, committedEntries: 0, readsChecked: 0, crashes: 0, faults: 0 };
  const recentFaults: string[] = [];
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const note = (fault: string) => {
    stats.faults++;
    recentFaults.push(`${cluster.nowMs.toFixed(1)}ms ${fault}`);
    if (recentFaults.length > 12) recentFaults.shift();
  };

  const healAtMs = options.chaosMs;
  const deadlineMs = healAtMs + options.progressWithinMs;
  let endAtMs = deadlineMs;
  let firstProposalAfterHeal: number | null = null;
  const appliedAfterHeal = new Map<number, Set<NodeId>>();

  // ---- Clients: proposals and reads, aimed at whoever they believe leads ----
  let believedLeader: NodeId = ids[0]!;
  let nextProposalId = 1;
  const learnLeader = (error: unknown) => {
    if (error instanceof RaftError && error.code === "NOT_LEADER") believedLeader = error.leaderId ?? pick(ids);
  };
  const propose = () => {
    const target = random() < 0.8 ? believedLeader : pick(ids);
    const driver = cluster.driver(target);
    if (driver === null) {
      believedLeader = pick(ids);
      return;
    }
    const proposalId = nextProposalId++;
    if (cluster.nowMs >= healAtMs && firstProposalAfterHeal === null) firstProposalAfterHeal = proposalId;
    const data = new Uint8Array(4);
    new DataView(data.buffer).setUint32(0, proposalId);
    driver.propose(data).catch(learnLeader);
  };
  const read = () => {
    const target = believedLeader;
    const driver = cluster.driver(target);
    if (driver === null) return;
    const floor = checker.readIssued();
    driver.read().then((index) => checker.readConfirmed(target, index, floor, cluster.appliedIndex(target)), learnLeader);
  };
  const every = (minMs: number, maxMs: number, action: () => void) => {
    const loop = () => {
      action();
      cluster.at(minMs + random() * (maxMs - minMs), loop);
    };
    cluster.at(random() * maxMs, loop);
  };
  every(5, 40, propose);
  every(20, 80, read);
  every(200, 200, () => {
    checker.checkLogs(cluster.liveViews());
    checker.checkDurableQuorum(cluster.durableStates());
  });

  cluster.onApplied = (nodeId: NodeId, entry: Entry) => {
    if (firstProposalAfterHeal === null || entry.kind !== "normal" || entryKeyOf(entry) < firstProposalAfterHeal) return;
    const appliedBy = appliedAfterHeal.get(entry.index) ?? new Set<NodeId>();
    appliedAfterHeal.set(entry.index, appliedBy);
    appliedBy.add(nodeId);
    if (appliedBy.size === ids.length && endAtMs === deadlineMs) endAtMs = cluster.nowMs + 500;
  };

  // ---- Faults, until the heal ----
  const restartLater = (id: NodeId, downMs: number) => {
    cluster.at(Math.min(downMs, Math.max(0, healAtMs - cluster.nowMs)), () => {
      if (!cluster.isUp(id)) {
        note(`restart ${id}`);
        cluster.start(id);
      }
    });
  };
  const faults: Array<[weight: number, inject: () => void]> = [
    [3, () => {
      const shuffled = [...ids].sort(() => random() - 0.5);
      const cut = randomInt(random, 1, ids.length - 1);
      network.partition(shuffled.slice(0, cut), shuffled.slice(cut));
      note(`partition ${shuffled.slice(0, cut)} | ${shuffled.slice(cut)}`);
    }],
    [2, () => {
      const id = pick(ids);
      network.partition([id], ids.filter((other) => other !== id));
      note(`isolate ${id}`);
    }],
    [2, () => {
      const links = randomInt(random, 1, 3);
      for (let k = 0; k < links; k++) {
        const from = pick(ids);
        const to = pick(ids.filter((other) => other !== from));
        network.cutOneWay(from, to);
        note(`cut ${from}->${to}`);
      }
    }],
    [3, () => {
      network.heal();
      note("heal network");
    }],
    [3, () => {
      const id = pick(ids);
      if (!cluster.isUp(id)) return;
      cluster.crash(id);
      const downMs = random() < 0.3 ? random() * 50 : random() * 2000;
      note(`crash ${id} for ${downMs.toFixed(0)}ms`);
      restartLater(id, downMs);
    }],
    [3, () => {
      const leader = cluster.liveViews().find((view) => view.role === "leader");
      if (leader === undefined) return;
      network.partition([leader.id], ids.filter((other) => other !== leader.id));
      note(`isolate leader ${leader.id}`);
    }],
    [1, () => {
      // A clean hand-over, as the controller does before shutting down.
      const leader = cluster.liveViews().find((view) => view.role === "leader");
      if (leader === undefined) return;
      const target = pick(ids.filter((other) => other !== leader.id));
      try {
        cluster.driver(leader.id)?.transferLeadership(target);
        note(`transfer leadership ${leader.id} -> ${target}`);
      } catch {
        // Lost leadership in between: nothing to transfer.
      }
    }],
    [1, () => {
      const id = pick(ids);
      const byMs = random() * 3 * ELECTION_TIMEOUT_MS;
      cluster.jumpClock(id, byMs);
      note(`clock of ${id} jumps ${byMs.toFixed(0)}ms`);
    }],
    [1, () => {
      network.faults = rollNetworkFaults(random);
      note(`network loss ${network.faults.lossRate.toFixed(2)} dup ${network.faults.duplicateRate.toFixed(2)}`);
    }],
  ];
  const totalWeight = faults.reduce((sum, [weight]) => sum + weight, 0);
  const injectFault = () => {
    if (cluster.nowMs >= healAtMs) return;
    let roll = random() * totalWeight;
    for (const [weight, inject] of faults) {
      roll -= weight;
      if (roll < 0) {
        inject();
        break;
      }
    }
    cluster.at(50 + random() * 1000, injectFault);
  };

  // ---- Crash points: crash a node just before or just after it sends something that matters ----
  // Some seeds are brutal: leaders die within a few messages of winning.
  const brutal = random() < 0.3;
  const crashAfterVoteRate = random() * 0.3;
  const crashAfterAckRate = random() * (brutal ? 0.1 : 0.02);
  const crashLeaderBeforeAppendRate = random() * (brutal ? 0.25 : 0.03);
  const crashAt = (id: NodeId, why: string) => {
    cluster.at(0, () => {
      if (!cluster.isUp(id)) return;
      cluster.crash(id);
      const downMs = random() * 60;
      note(`crash ${id} ${why}, for ${downMs.toFixed(0)}ms`);
      restartLater(id, downMs);
    });
  };
  cluster.onSend = (message) => {
    if (cluster.nowMs >= healAtMs) return "send";
    if (message.type === "AppendEntries" && random() < crashLeaderBeforeAppendRate) {
      crashAt(message.from, `before sending AppendEntries ${message.prevLogIndex + 1}..${message.prevLogIndex + message.entries.length}`);
      return "crash";
    }
    const afterRate =
      message.type === "RequestVoteResponse" && message.granted && !message.preVote
        ? crashAfterVoteRate
        : message.type === "AppendEntriesResponse" && message.success
          ? crashAfterAckRate
          : 0;
    if (afterRate > 0 && random() < afterRate) crashAt(message.from, `after sending ${message.type}`);
    return "send";
  };

  // ---- Calm: everything heals, every node is up, and progress must follow ----
  cluster.at(healAtMs, () => {
    network.heal();
    network.faults = PERFECT_NETWORK;
    for (const id of ids) if (!cluster.isUp(id)) cluster.start(id);
    note("heal all");
  });

  network.faults = rollNetworkFaults(random);
  for (const id of ids) cluster.start(id);
  cluster.at(random() * 500, injectFault);

  const drain = () => new Promise<void>((resolve) => setImmediate(resolve));
  await drain();
  let electabilityCheckedAt = -1;
  while (!checker.failed) {
    const event = queue.pop();
    if (event === undefined || event.atMs > endAtMs) break;
    cluster.nowMs = event.atMs;
    checker.nowMs = event.atMs;
    event.run();
    await drain();
    stats.events++;
    checker.observe(cluster.liveViews());
    // A commit is when a bad one shows; otherwise logs only grow, so sampling is enough.
    if (checker.maxCommitted !== electabilityCheckedAt || stats.events % 16 === 0) {
      electabilityCheckedAt = checker.maxCommitted;
      checker.checkElectability(cluster.logSummaries());
    }
  }
  if (!checker.failed) checker.checkLogs(cluster.liveViews());
  if (!checker.failed) checker.checkDurableQuorum(cluster.durableStates());
  if (!checker.failed && endAtMs === deadlineMs) {
    checker.violation(
      "progress",
      `no proposal made after the heal at ${healAtMs}ms committed on all ${ids.length} nodes within ${options.progressWithinMs}ms`,
    );
  }
  stats.simulatedMs = cluster.nowMs;
  stats.committedEntries = checker.maxCommitted;
  stats.readsChecked = checker.readsChecked;
  stats.crashes = cluster.crashes;
  stats.leaderTerms = checker.leaderTermCount();
  return { seed: options.seed, nodeCount: options.nodeCount, violations: checker.violations, stats, recentFaults };
}

export function describeFailure(result: SimResult): string {
  const lines = [
    `raft simulation failed: seed ${result.seed} (${result.nodeCount} nodes) — rerun with RAFT_SIM_SEED=${result.seed}`,
    ...result.violations.map((violation) => `  at ${violation.atMs.toFixed(1)}ms ${violation.property}: ${violation.detail}`),
    "  recent faults:",
    ...result.recentFaults.map((fault) => `    ${fault}`),
  ];
  return lines.join("\n");
}
