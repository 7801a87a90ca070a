// The consumer's events: partitionsAssigned / partitionsRevoked / partitionsLost (and the
// RebalanceListener object form), and "error" for failures nobody awaits (an auto-commit, a
// listener that threw). A listener that throws or rejects is reported as an "error" event (or a
// process warning when nobody listens): a rebalance never becomes an exception in user code.
import type { RebalanceListener, TopicPartition } from "./types.js";

export type ConsumerEvent = "partitionsAssigned" | "partitionsRevoked" | "partitionsLost" | "error";
type EventListener = (payload: TopicPartition[] | Error) => void;

export class ConsumerEvents {
  private readonly listeners = new Map<ConsumerEvent, Set<EventListener>>();

  constructor(private readonly rebalanceListener: RebalanceListener | undefined) {}

  add(event: ConsumerEvent, listener: EventListener): void {
    let set = this.listeners.get(event);
    if (set === undefined) this.listeners.set(event, (set = new Set()));
    set.add(listener);
  }

  remove(event: ConsumerEvent, listener: EventListener): void {
    this.listeners.get(event)?.delete(listener);
  }

  private emit(event: ConsumerEvent, payload: TopicPartition[] | Error): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        listener(payload);
      } catch (error) {
        if (event !== "error") this.reportError(error);
      }
    }
  }

  /** An error nobody awaits: to "error" listeners, or a process warning when there are none. */
  reportError(error: unknown): void {
    const typed = error instanceof Error ? error : new Error(String(error));
    if ((this.listeners.get("error")?.size ?? 0) > 0) this.emit("error", typed);
    else process.emitWarning(`tributary consumer: ${typed.message}`);
  }

  /** Tells event listeners, then awaits the RebalanceListener's method; never throws. */
  async rebalance(name: keyof RebalanceListener, event: ConsumerEvent, partitions: TopicPartition[]): Promise<void> {
    this.emit(event, partitions);
    const method = this.rebalanceListener?.[name];
    if (method === undefined) return;
    try {
      await method.call(this.rebalanceListener, partitions);
    } catch (error) {
      this.reportError(error);
    }
  }
}
