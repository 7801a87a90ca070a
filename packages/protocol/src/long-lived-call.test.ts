// An Error made while opening a long-lived call must not keep its caller's variables alive.
import { setImmediate as nextTurn } from "node:timers/promises";
import v8 from "node:v8";
import vm from "node:vm";
import { describe, expect, it } from "vitest";
import { withoutCallerStack } from "./long-lived-call.js";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

/** Opens a "call" (makes an Error, as grpc-js does) from a closure that holds a large object; returns a WeakRef to it. */
function openFrom(guarded: boolean, keep: Error[]): WeakRef<object> {
  const requestBatches = { records: new Array(10_000).fill("record") };
  const startCall = (): Error => {
    if (requestBatches.records.length === 0) throw new Error("unreachable");
    return new Error("call started");
  };
  keep.push(guarded ? withoutCallerStack(startCall) : startCall());
  return new WeakRef(requestBatches);
}

async function collected(ref: WeakRef<object>): Promise<boolean> {
  await nextTurn(); // a WeakRef target lives at least until the end of the job that made it
  gc();
  return ref.deref() === undefined;
}

describe("withoutCallerStack", () => {
  it("lets the caller's objects be collected while the call's Error lives on", async () => {
    const keep: Error[] = [];
    // Control: an Error whose stack is not yet formatted holds the frames' closures, and so the
    // object (this is what the session leaked).
    expect(await collected(openFrom(false, keep))).toBe(false);
    expect(await collected(openFrom(true, keep))).toBe(true);
    expect(keep).toHaveLength(2);
  });

  it("puts the stack trace limit back, even when opening throws", () => {
    const before = Error.stackTraceLimit;
    expect(() => withoutCallerStack(() => { throw new Error("refused"); })).toThrow("refused");
    expect(Error.stackTraceLimit).toBe(before);
    expect(withoutCallerStack(() => 42)).toBe(42);
  });
});
