// The run's history: every nemesis action, workload outcome summary and invariant observation,
// with a time relative to the start. Written as JSON lines so a failure can be read in order.
import fs from "node:fs";

export interface HistoryEvent {
  atMs: number;
  kind: string;
  [detail: string]: unknown;
}

export class History {
  readonly events: HistoryEvent[] = [];
  private readonly startedAt = Date.now();

  constructor(readonly file: string) {}

  add(kind: string, detail: Record<string, unknown> = {}): void {
    const event = { atMs: Date.now() - this.startedAt, kind, ...detail };
    this.events.push(event);
    fs.appendFileSync(this.file, JSON.stringify(event, (_, v) => (typeof v === "bigint" ? v.toString() : v)) + "\n");
  }
}

/** A small seeded PRNG (mulberry32): the same seed gives the same fault schedule. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(minInclusive: number, maxInclusive: number): number {
    return minInclusive + Math.floor(this.next() * (maxInclusive - minInclusive + 1));
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("pick from nothing");
    return items[Math.floor(this.next() * items.length)]!;
  }
}
