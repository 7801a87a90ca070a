// Finds positions for partitions that have none: the group's committed offset when there is
// one, otherwise the reset policy (ListOffsets earliest / latest at the leaders). "none" with
// nothing committed is the caller's error, raised by poll() until a seek() gives a position.
// One lookup round runs at a time; a round that fails retriably is tried again shortly.
import { OffsetOutOfRangeError, type TributaryError, asTributaryError } from "../errors.js";
import { type CoordinatorLocator, EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, type OffsetClient } from "./offsets.js";
import type { SubscriptionState } from "./subscription-state.js";

const RETRY_LOOKUP_MS = 200;

export interface PositionLookupHooks {
  /** An error for poll() to raise. */
  onError(error: TributaryError): void;
  /** A round finished: fetching may start for the partitions that now have positions. */
  onDone(): void;
}

export class PositionLookup {
  private running: Promise<void> | undefined;

  constructor(
    private readonly subscriptions: SubscriptionState,
    private readonly offsets: OffsetClient,
    private readonly locator: CoordinatorLocator | undefined,
    private readonly hooks: PositionLookupHooks,
  ) {}

  /** The round in progress, if any. */
  get inProgress(): Promise<void> | undefined {
    return this.running;
  }

  /** Looks up every partition that needs it; resolves when none is left pending (or a round failed). */
  resolve(): Promise<void> {
    if (this.running !== undefined) return this.running.then(() => (this.subscriptions.needingLookup().length > 0 ? this.resolve() : undefined));
    this.running = this.runRound().finally(() => {
      this.running = undefined;
      this.hooks.onDone();
    });
    return this.running;
  }

  private async runRound(): Promise<void> {
    const needing = this.subscriptions.needingLookup();
    if (needing.length === 0) return;
    try {
      await this.fromCommitted();
      this.raiseNoReset();
      await this.fromResetPolicy();
    } catch (error) {
      const typed = asTributaryError(error);
      if (!typed.retriable) this.hooks.onError(typed);
      // Positions stay pending (fetching waits for them); try again shortly.
      setTimeout(() => void this.resolve(), RETRY_LOOKUP_MS).unref();
    }
  }

  private async fromCommitted(): Promise<void> {
    const committed = this.subscriptions.needingLookup().filter((s) => s.pendingLookup === "committed");
    if (committed.length === 0) return;
    if (this.locator === undefined) {
      for (const state of committed) state.pendingLookup = this.subscriptions.resetSource();
      return;
    }
    const found = await this.offsets.fetchCommitted(this.locator, committed);
    for (const state of committed) {
      if (this.subscriptions.get(state.key) !== state || state.pendingLookup !== "committed") continue;
      const offset = found.get(state.key)?.offset ?? -1;
      if (offset >= 0) this.subscriptions.seek(state.key, offset);
      else state.pendingLookup = this.subscriptions.resetSource();
    }
  }

  private raiseNoReset(): void {
    const none = this.subscriptions.needingLookup().filter((s) => s.pendingLookup === "none");
    if (none.length === 0) return;
    this.hooks.onError(
      new OffsetOutOfRangeError(
        "OFFSET_OUT_OF_RANGE",
        `no committed or valid offset for ${none.map((s) => `${s.topic}-${s.partition}`).join(", ")} and autoOffsetReset is "none"; seek() to a position`,
      ),
    );
    for (const state of none) state.pendingLookup = null; // waits for a seek()
  }

  private async fromResetPolicy(): Promise<void> {
    for (const source of ["earliest", "latest"] as const) {
      const list = this.subscriptions.needingLookup().filter((s) => s.pendingLookup === source);
      if (list.length === 0) continue;
      const offsets = await this.offsets.listOffsets(list, source === "earliest" ? EARLIEST_TIMESTAMP : LATEST_TIMESTAMP);
      for (const state of list) {
        if (this.subscriptions.get(state.key) !== state || state.pendingLookup !== source) continue;
        const found = offsets.get(state.key);
        if (found !== undefined && found.offset >= 0) this.subscriptions.seek(state.key, found.offset);
      }
    }
  }
}
