// The checker must be able to fail: break one Raft rule on purpose and show the simulator finds
// the resulting violation within a bounded number of seeds (the same seeds every run, so this
// is deterministic), and that it reports the property the broken rule exists to protect.
import { describe, expect, it } from "vitest";
import type { RaftUnsafeTestingOptions } from "../config.js";
import { describeFailure, runSimulation, type SimResult } from "./run.js";

const MAX_SEEDS = 150;

async function firstCaught(unsafeTesting: RaftUnsafeTestingOptions): Promise<SimResult | null> {
  for (let seed = 1; seed <= MAX_SEEDS; seed++) {
    const result = await runSimulation({ seed, nodeCount: seed % 2 === 0 ? 3 : 5, chaosMs: 20_000, progressWithinMs: 10_000, unsafeTesting });
    if (result.violations.length > 0) return result;
  }
  return null;
}

describe("the simulator catches deliberately broken rules", () => {
  const cases: Array<[string, RaftUnsafeTestingOptions, string[]]> = [
    ["committing old-term entries by counting replicas (Figure 8)", { commitOldTermEntries: true }, ["leader completeness", "state machine safety", "durability"]],
    ["not persisting the vote", { skipVotePersist: true }, ["election safety", "fatal"]],
    ["serving read-index without a heartbeat quorum", { readWithoutQuorum: true }, ["linearizable read"]],
  ];
  for (const [rule, unsafeTesting, properties] of cases) {
    it(`${rule} is caught`, { timeout: 300_000 }, async () => {
      const caught = await firstCaught(unsafeTesting);
      expect(caught, `no seed in 1..${MAX_SEEDS} caught it`).not.toBeNull();
      console.log(`${rule}:\n${describeFailure(caught!)}`);
      expect(properties).toContain(caught!.violations[0]!.property);
    });
  }
});
