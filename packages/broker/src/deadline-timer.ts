// One timer for many deadlines: armed for the earliest deadline it has been told of, and after
// it fires, for the next one its owner reports. Replaces polling on a short interval, which
// wakes the process whether or not anything is due.
export class DeadlineTimer {
  private timer: NodeJS.Timeout | undefined;
  private armedForMs = Number.POSITIVE_INFINITY;
  private stopped = false;

  /**
   * @param fire runs when the armed deadline has come (with the time); returns the next
   *   deadline to arm for, or Infinity when nothing waits.
   */
  constructor(
    private readonly now: () => number,
    private readonly fire: (nowMs: number) => number,
  ) {}

  /** Makes sure the timer goes off no later than `deadlineMs`. */
  armFor(deadlineMs: number): void {
    if (this.stopped || !(deadlineMs < this.armedForMs)) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.armedForMs = deadlineMs;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, deadlineMs - this.now()));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private onTimer(): void {
    this.timer = undefined;
    this.armedForMs = Number.POSITIVE_INFINITY;
    const next = this.fire(this.now());
    if (Number.isFinite(next)) this.armFor(next);
  }
}
