import { describe, expect, it } from "vitest";
import { InFlightLimit } from "./in-flight.js";

describe("InFlightLimit", () => {
  it("never lets more than the limit be in flight, and reports idle at the end", async () => {
    const limit = new InFlightLimit(4);
    const pending: (() => void)[] = [];
    let maxSeen = 0;
    const adding = (async () => {
      for (let i = 0; i < 20; i++) {
        await limit.add(() => new Promise<void>((resolve) => pending.push(resolve)));
        maxSeen = Math.max(maxSeen, limit.size);
      }
    })();
    while (pending.length > 0 || limit.size > 0) {
      await new Promise((r) => setImmediate(r));
      pending.splice(0).forEach((resolve) => resolve());
    }
    await adding;
    await limit.idle();
    expect(maxSeen).toBe(4);
    expect(limit.size).toBe(0);
  });
});
