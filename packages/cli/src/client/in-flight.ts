// Bounds records sent and not yet acknowledged, without a Promise.race over every one of them
// (which costs O(in-flight) per call): a count, and one waiter woken when it drops low enough.
export class InFlightLimit {
  private count = 0;
  private waiter: { below: number; resolve: () => void } | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(readonly maxInFlight: number) {
    if (!(maxInFlight >= 1)) throw new RangeError(`maxInFlight must be at least 1, got ${maxInFlight}`);
  }

  get size(): number {
    return this.count;
  }

  /** Tracks `acknowledged`; waits first while the limit is reached (resumes at half, to batch wake-ups). */
  async add(start: () => Promise<void>): Promise<void> {
    if (this.count >= this.maxInFlight) {
      await new Promise<void>((resolve) => (this.waiter = { below: Math.ceil(this.maxInFlight / 2), resolve }));
    }
    this.count++;
    void start().finally(() => this.release());
  }

  /** Resolves once nothing is in flight. */
  idle(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private release(): void {
    this.count--;
    if (this.waiter && this.count <= this.waiter.below) {
      const { resolve } = this.waiter;
      this.waiter = undefined;
      resolve();
    }
    if (this.count === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}
