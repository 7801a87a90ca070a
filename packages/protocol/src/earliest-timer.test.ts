// One timer for many deadlines: an earlier deadline moves it forward, a later one does not, and
// a disarmed timer never fires.
import { describe, expect, it } from "vitest";
import { EarliestTimer } from "./earliest-timer.js";

const waitUntil = async (done: () => boolean): Promise<void> => {
  const deadline = Date.now() + 5_000;
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
};

describe("EarliestTimer", () => {
  it("fires once, for the earliest deadline asked for", async () => {
    const fired: number[] = [];
    const timer = new EarliestTimer(Date.now, () => fired.push(Date.now()));
    const start = Date.now();
    timer.armAt(start + 60_000); // far away: must be replaced by the earlier one below
    timer.armAt(start + 20);
    timer.armAt(start + 40_000); // later than what is set: ignored
    await waitUntil(() => fired.length > 0);
    expect(fired).toHaveLength(1);
    // After firing, any deadline arms it again.
    timer.armAt(Date.now() + 10);
    await waitUntil(() => fired.length > 1);
    expect(fired).toHaveLength(2);
    timer.disarm();
  });

  it("never fires once disarmed", async () => {
    let fired = 0;
    const timer = new EarliestTimer(Date.now, () => fired++);
    timer.armAt(Date.now() + 10);
    timer.disarm();
    let markerFired = false;
    const probe = new EarliestTimer(Date.now, () => { markerFired = true; });
    probe.armAt(Date.now() + 50);
    await waitUntil(() => markerFired);
    expect(markerFired).toBe(true);
    expect(fired).toBe(0);
  });

  it("keeps the process alive only when asked to (a wake-up for work still to do)", () => {
    // Timers that keep the event loop alive are the "Timeout" entries of the active resources.
    const keepingAlive = (): number => process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;
    const before = keepingAlive();
    const deadline = new EarliestTimer(Date.now, () => {});
    deadline.armAt(Date.now() + 60_000);
    expect(keepingAlive()).toBe(before);
    const wakeUp = new EarliestTimer(Date.now, () => {}, { keepsProcessAlive: true });
    wakeUp.armAt(Date.now() + 60_000);
    expect(keepingAlive()).toBe(before + 1);
    wakeUp.disarm();
    deadline.disarm();
    expect(keepingAlive()).toBe(before);
  });
});
