import { describe, expect, it } from "vitest";
import { murmur2, partitionForKey, toPositive } from "./murmur2.js";

// Apache Kafka's UtilsTest.testMurmur2 vectors (signed Java ints), as reproduced by many
// Kafka-compatible clients, plus the single-digit-string vectors the Akka project took from
// Kafka's implementation: together they cover every tail length (0 to 3 bytes after the blocks).
const KAFKA_VECTORS: Array<[string, number]> = [
  ["21", -973932308],
  ["foobar", -790332482],
  ["a-little-bit-long-string", -985981536],
  ["a-little-bit-longer-string", -1486304829],
  ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
  ["abc", 479470107],
  ["1", -1993445489],
  ["12", 126087238],
  ["123", -267702483],
  ["1234", -1614185708],
  ["12345", -1188365604],
];

describe("murmur2", () => {
  it.each(KAFKA_VECTORS)("hashes %j as Kafka's Utils.murmur2 does", (text, expected) => {
    expect(murmur2(Buffer.from(text, "latin1"))).toBe(expected);
  });

  it("toPositive clears the sign bit, also for the smallest int", () => {
    expect(toPositive(-1)).toBe(0x7fffffff);
    expect(toPositive(-2147483648)).toBe(0);
    expect(toPositive(123)).toBe(123);
  });

  it("picks the partition Kafka's producer picks for a key", () => {
    // toPositive(-790332482) = 1357151166; 1357151166 % 12 = 6
    expect(partitionForKey(Buffer.from("foobar"), 12)).toBe(1357151166 % 12);
    expect(partitionForKey(Buffer.from("abc"), 3)).toBe(479470107 % 3);
  });
});
