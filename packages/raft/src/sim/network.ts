// A simulated network between Raft nodes: each message may be lost, duplicated or delayed (so
// reordered), and links may be cut both ways (partitions) or one way. Faults are drawn from the
// run's seeded random source, so a seed replays the same traffic.
import type { NodeId, RaftMessage } from "../messages.js";
import type { RandomSource } from "../random.js";

export interface NetworkFaults {
  /** Probability a message is dropped. */
  lossRate: number;
  /** Probability a delivered message is delivered twice. */
  duplicateRate: number;
  /** Every message takes at least this long. */
  baseDelayMs: number;
  /** Plus up to this much, uniformly: this is what reorders messages. */
  jitterMs: number;
  /** Probability of a long stall (a message arriving long after it was sent). */
  longDelayRate: number;
  longDelayMs: number;
}

export const PERFECT_NETWORK: NetworkFaults = {
  lossRate: 0,
  duplicateRate: 0,
  baseDelayMs: 1,
  jitterMs: 1,
  longDelayRate: 0,
  longDelayMs: 0,
};

export class SimNetwork {
  faults: NetworkFaults = PERFECT_NETWORK;
  /** Directed links that are cut: "from>to". */
  private readonly cut = new Set<string>();

  constructor(private readonly random: RandomSource) {}

  /** Delivery delays for one message: empty when it is lost, two entries when duplicated. */
  deliveries(message: RaftMessage): number[] {
    if (this.cut.has(`${message.from}>${message.to}`)) return [];
    if (this.random() < this.faults.lossRate) return [];
    const copies = this.random() < this.faults.duplicateRate ? 2 : 1;
    const delays: number[] = [];
    for (let copy = 0; copy < copies; copy++) {
      let delayMs = this.faults.baseDelayMs + this.random() * this.faults.jitterMs;
      if (this.random() < this.faults.longDelayRate) delayMs += this.random() * this.faults.longDelayMs;
      delays.push(delayMs);
    }
    return delays;
  }

  /** Cut every link between the two groups, both ways. */
  partition(groupA: readonly NodeId[], groupB: readonly NodeId[]): void {
    for (const a of groupA) {
      for (const b of groupB) {
        this.cut.add(`${a}>${b}`);
        this.cut.add(`${b}>${a}`);
      }
    }
  }

  cutOneWay(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}>${to}`);
  }

  heal(): void {
    this.cut.clear();
  }

  describeCuts(): string {
    return [...this.cut].sort().join(" ");
  }
}
