// The SDK's per-record and per-request objects must be born in V8's young generation even after
// a burst kept many of them alive (see young.ts in @tributary/records for why that matters: in
// `pnpm bench:client` it was the difference between a full GC every 1-3 s and none). The probe
// runs in its own process because it needs V8 flags (--allow-natives-syntax), and because what it measures
// depends on the whole history of the heap it runs in.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const PROBE = new URL("./young-generation-probe.mjs", import.meta.url).pathname;

describe("hot-path objects and the young generation", () => {
  it("are born young after a burst kept hundreds of thousands alive, where an object literal is not", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["--allow-natives-syntax", "--expose-gc", PROBE], { timeout: 60_000 });
    const bornOld = JSON.parse(stdout.trim()) as Record<string, number | { controlNotPretenured: number }>;
    expect(Object.keys(bornOld).sort()).toEqual(["decodeBatch", "decodeFetchResponse", "decodeProduceResponse", "fetchBuffer", "producerBatch", "sendBatchResult"]);
    // 0 for every path; { controlNotPretenured } would mean the training no longer teaches V8
    // to pretenure a literal, and this test no longer shows anything.
    for (const [path, share] of Object.entries(bornOld)) expect({ path, share }).toEqual({ path, share: 0 });
  });
});
