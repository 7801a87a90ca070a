// Invariant checks: a failing assertion is a bug in the broker, never a response to bad input
// (bad input gets a TributaryError with a protocol code instead).
export class AssertionError extends Error {
  override readonly name = "AssertionError";
}

export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new AssertionError(typeof message === "string" ? message : message());
}

export function assertOffset(value: number, what: string): void {
  assert(Number.isSafeInteger(value) && value >= -1, () => `${what} must be a safe integer >= -1, got ${value}`);
}
