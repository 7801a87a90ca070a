// int64 fields arrive as decimal strings (so nothing is rounded in transit). Servers keep
// offsets as safe-integer numbers; the SDK's public API uses bigint.

export type Int64Input = number | string | bigint | { toString(): string };

/** A safe-integer number from an int64 field; throws RangeError rather than rounding. */
export function int64ToNumber(value: Int64Input | null | undefined): number {
  if (value === null || value === undefined || value === "") return 0;
  const asNumber = typeof value === "number" ? value : Number(typeof value === "bigint" ? value : value.toString());
  if (!Number.isSafeInteger(asNumber)) throw new RangeError(`int64 value ${String(value)} is outside the safe integer range`);
  return asNumber;
}

export function int64ToBigInt(value: Int64Input | null | undefined): bigint {
  if (value === null || value === undefined || value === "") return 0n;
  if (typeof value === "bigint") return value;
  if (typeof value === "number") return BigInt(value);
  return BigInt(value.toString());
}

/** The wire form of an int64: a decimal string, exact for any bigint or safe integer. */
export function int64(value: number | bigint): string {
  if (typeof value === "number" && !Number.isSafeInteger(value)) throw new RangeError(`not a safe integer: ${value}`);
  return value.toString();
}
