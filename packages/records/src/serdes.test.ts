import { describe, expect, it } from "vitest";
import { SerializationError, jsonSerde, serializers } from "./serdes.js";

describe("serializers", () => {
  it("string is UTF-8 both ways", () => {
    const bytes = serializers.string.serialize("héllo ✓");
    expect(bytes!.toString("hex")).toBe(Buffer.from("héllo ✓", "utf8").toString("hex"));
    expect(serializers.string.deserialize(bytes)).toBe("héllo ✓");
  });

  it("bigint is Kafka's LongSerializer: 8 bytes, big-endian, two's complement", () => {
    expect(serializers.bigint.serialize(1n)!.toString("hex")).toBe("0000000000000001");
    expect(serializers.bigint.serialize(-2n)!.toString("hex")).toBe("fffffffffffffffe");
    expect(serializers.bigint.serialize(2n ** 63n - 1n)!.toString("hex")).toBe("7fffffffffffffff");
    expect(serializers.bigint.deserialize(Buffer.from("8000000000000000", "hex"))).toBe(-(2n ** 63n));
    expect(() => serializers.bigint.serialize(2n ** 63n)).toThrow(SerializationError);
    expect(() => serializers.bigint.deserialize(Buffer.alloc(4), "orders")).toThrow(/exactly 8 bytes, got 4 \(topic orders\)/);
  });

  it("int32 is Kafka's IntegerSerializer: 4 bytes, big-endian", () => {
    expect(serializers.int32.serialize(258)!.toString("hex")).toBe("00000102");
    expect(serializers.int32.serialize(-1)!.toString("hex")).toBe("ffffffff");
    expect(serializers.int32.deserialize(Buffer.from("80000000", "hex"))).toBe(-2147483648);
    expect(() => serializers.int32.serialize(2 ** 31)).toThrow(SerializationError);
    expect(() => serializers.int32.serialize(1.5)).toThrow(SerializationError);
    expect(() => serializers.int32.deserialize(Buffer.alloc(8))).toThrow(SerializationError);
  });

  it("json round-trips values and refuses bytes that are not JSON", () => {
    const value = { id: 7, tags: ["a", "b"], nested: { ok: true } };
    const bytes = serializers.json.serialize(value);
    expect(bytes!.toString()).toBe('{"id":7,"tags":["a","b"],"nested":{"ok":true}}');
    expect(serializers.json.deserialize(bytes)).toEqual(value);
    expect(() => serializers.json.deserialize(Buffer.from("{nope"))).toThrow(SerializationError);
    const typed = jsonSerde<{ id: number }>();
    expect(typed.deserialize(typed.serialize({ id: 1 }))?.id).toBe(1);
  });

  it("bytes passes buffers through untouched", () => {
    const buf = Buffer.from([1, 2, 3]);
    expect(serializers.bytes.serialize(buf)).toBe(buf);
    expect(serializers.bytes.deserialize(buf)).toBe(buf);
  });

  it("null is null both ways for every serde (tombstones)", () => {
    for (const serde of Object.values(serializers)) {
      expect(serde.serialize(null as never)).toBeNull();
      expect(serde.deserialize(null)).toBeNull();
    }
  });
});
