import { describe, expect, it } from "vitest";
import { UsageError } from "../errors.js";
import { consumerPrintOptions, formatConsumedRecord, parseProducerLine, producerLineOptions } from "./line-codec.js";

describe("console-producer lines", () => {
  it("sends the whole line as the value by default", () => {
    expect(parseProducerLine("Hello mom!", producerLineOptions({}), 1)).toEqual({ key: null, value: "Hello mom!" });
  });

  it("splits key and value at the first separator with parse.key=true", () => {
    const options = producerLineOptions({ "parse.key": "true", "key.separator": ":" });
    expect(parseProducerLine("user-1:a:b", options, 1)).toEqual({ key: "user-1", value: "a:b" });
    expect(() => parseProducerLine("no separator", options, 7)).toThrow(/line 7 has no key separator ":"/);
  });

  it("refuses unknown properties and non-boolean flags as usage errors", () => {
    expect(() => producerLineOptions({ "parse.keys": "true" })).toThrow(UsageError);
    expect(() => producerLineOptions({ "parse.key": "yes" })).toThrow(/expected true or false/);
  });
});

describe("console-consumer lines", () => {
  const record = { partition: 2, offset: 41n, timestampMs: 1700, key: "k", value: "v" };

  it("prints only the value by default", () => {
    expect(formatConsumedRecord(record, consumerPrintOptions({}, { printKey: false, printOffset: false }))).toBe("v");
  });

  it("prints key and offset when asked, by flag or by property", () => {
    expect(formatConsumedRecord(record, consumerPrintOptions({ "key.separator": ":" }, { printKey: true, printOffset: true }))).toBe("Offset:41:k:v");
    expect(formatConsumedRecord({ ...record, key: null }, consumerPrintOptions({ "print.key": "true", "print.partition": "true" }, { printKey: false, printOffset: false })))
      .toBe("Partition:2\tnull\tv");
  });
});
