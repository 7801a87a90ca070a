// The SDK's per-record and per-request objects must be born in V8's young generation even after
// a burst kept many of them alive (see young.ts in @tributary/records for why that matters: in
// `pnpm bench:client` it was the difference between a full GC every 1-3 s and none). The probe
// runs in its own process because it needs V8 flags (--allow-natives-syntax), and because what it measures
// depends on the whole history of the heap it runs in.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const PROBE = new URL("./young-generation-probe.mjs", import.meta.url).pathname;

// What V8 decides must not depend on how busy the machine is (CI runs this beside the fault suite).
// Pretenuring shows in optimized code (the unoptimized literal builtins allocate young), and a site
// is only tenured at a scavenge of a full-size new space; by default both depend on the clock:
// optimized code is compiled on a background thread and installed whenever it is ready, and the new
// space grows or shrinks with the allocation rate per millisecond. On a loaded machine the check
// could run before the optimized code was in, and the control came out born young. So compile on
// the main thread, collect on the main thread, and fix the new space at its largest size.
const DETERMINISTIC_V8 = ["--no-concurrent-recompilation", "--no-concurrent-osr", "--single-threaded-gc", "--min-semi-space-size=16", "--max-semi-space-size=16"];

describe("hot-path objects and the young generation", () => {
  it("are born young after a burst kept hundreds of thousands alive, where an object literal is not", { timeout: 180_000 }, async () => {
    const flags = ["--allow-natives-syntax", "--expose-gc", ...DETERMINISTIC_V8];
    const { stdout } = await promisify(execFile)(process.execPath, [...flags, PROBE], { timeout: 170_000 });
    const bornOld = JSON.parse(stdout.trim()) as Record<string, number | { controlNotPretenured: number }>;
    expect(Object.keys(bornOld).sort()).toEqual(["decodeBatch", "decodeFetchResponse", "decodeProduceResponse", "fetchBuffer", "grpcDecoderRelease", "producerBatch", "sendBatchResult"]);
    // 0 for every path; { controlNotPretenured } would mean the training no longer teaches V8
    // to pretenure a literal, and this test no longer shows anything.
    for (const [path, share] of Object.entries(bornOld)) expect({ path, share }).toEqual({ path, share: 0 });
  });
});
