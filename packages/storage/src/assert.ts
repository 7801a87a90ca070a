// Invariant checks. A failure here is a bug in the engine (or a file changed under it), never
// bad input: bad input gets a StorageError. Kept cheap so they can stay on in production.

export class AssertionError extends Error {
  override readonly name = "AssertionError";
}

export function assert(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) throw new AssertionError(typeof message === "string" ? message : message());
}

/** Offsets and timestamps are JS numbers inside storage; beyond 2^53 they would silently round. */
export function assertSafeOffset(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new AssertionError(`${name} must be a safe integer >= 0, got ${value}`);
}
