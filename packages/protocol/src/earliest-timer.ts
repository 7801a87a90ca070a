// One timer for many deadlines: it is set for the earliest one asked for, and whoever owns it
// looks at every deadline when it fires (and asks again for the next). A timer per request
// cost a setTimeout and a clearTimeout (and a Timeout object to collect) for each of the
// thousands of requests a second a session or a consumer's fetcher makes at linger 0.
//
// By default the timer is unref'd: a deadline timer is not cleared per answer, so it may outlive
// what it was set for, and must not keep the process alive by itself (an open call does that
// while a request waits). A wake-up timer that stands for work still to do (a producer's linger,
// a fetcher's backoff) keeps the process alive instead: `keepsProcessAlive`.
export class EarliestTimer {
  private timer: NodeJS.Timeout | undefined;
  private atMs = Infinity;

  /** @param now the clock deadlines are given in (ms). */
  constructor(
    private readonly now: () => number,
    private readonly onFire: () => void,
    private readonly options: { keepsProcessAlive?: boolean } = {},
  ) {}

  /** Fires at `atMs` unless it is already set to fire earlier. */
  armAt(atMs: number): void {
    if (atMs >= this.atMs) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.atMs = atMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.atMs = Infinity;
      this.onFire();
    }, Math.max(0, atMs - this.now()));
    if (this.options.keepsProcessAlive !== true) this.timer.unref();
  }

  disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.atMs = Infinity;
  }
}
