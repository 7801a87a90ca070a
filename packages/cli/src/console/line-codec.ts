// How console-producer turns a stdin line into a record, and how console-consumer prints one:
// Kafka's --property parse.key / key.separator / print.key / print.offset, as pure functions.
import { UsageError } from "../errors.js";

export interface ProducerLineOptions {
  parseKey: boolean;
  keySeparator: string;
}

export interface ParsedLine {
  key: string | null;
  value: string;
}

const KNOWN_PRODUCER_PROPERTIES = new Set(["parse.key", "key.separator", "ignore.error"]);
const KNOWN_CONSUMER_PROPERTIES = new Set(["print.key", "print.offset", "print.partition", "print.timestamp", "key.separator"]);

function parseBoolean(key: string, value: string): boolean {
  if (!/^(true|false)$/i.test(value)) throw new UsageError(`--property ${key}=${value}: expected true or false`);
  return value.toLowerCase() === "true";
}

function checkKnown(properties: Record<string, string>, known: Set<string>): void {
  for (const key of Object.keys(properties)) {
    if (!known.has(key)) throw new UsageError(`unknown --property ${key}`, `known: ${[...known].join(", ")}`);
  }
}

export function producerLineOptions(properties: Record<string, string>): ProducerLineOptions {
  checkKnown(properties, KNOWN_PRODUCER_PROPERTIES);
  const keySeparator = properties["key.separator"] ?? "\t";
  if (keySeparator === "") throw new UsageError("--property key.separator= must not be empty");
  return { parseKey: parseBoolean("parse.key", properties["parse.key"] ?? "false"), keySeparator };
}

/** Kafka refuses a line without the separator when parse.key=true; so do we, naming the line. */
export function parseProducerLine(line: string, options: ProducerLineOptions, lineNumber: number): ParsedLine {
  if (!options.parseKey) return { key: null, value: line };
  const at = line.indexOf(options.keySeparator);
  if (at < 0) {
    throw new UsageError(`line ${lineNumber} has no key separator ${JSON.stringify(options.keySeparator)}`,
      "write key<separator>value, or drop --property parse.key=true");
  }
  return { key: line.slice(0, at), value: line.slice(at + options.keySeparator.length) };
}

export interface ConsumerPrintOptions {
  printKey: boolean;
  printOffset: boolean;
  printPartition: boolean;
  printTimestamp: boolean;
  keySeparator: string;
}

export function consumerPrintOptions(properties: Record<string, string>, flags: { printKey: boolean; printOffset: boolean }): ConsumerPrintOptions {
  checkKnown(properties, KNOWN_CONSUMER_PROPERTIES);
  const flag = (key: string): boolean => (properties[key] === undefined ? false : parseBoolean(key, properties[key]!));
  return {
    printKey: flags.printKey || flag("print.key"),
    printOffset: flags.printOffset || flag("print.offset"),
    printPartition: flag("print.partition"),
    printTimestamp: flag("print.timestamp"),
    keySeparator: properties["key.separator"] ?? "\t",
  };
}

export interface PrintableRecord {
  partition: number;
  offset: bigint;
  timestampMs: number;
  key: string | null;
  value: string | null;
}

/** One output line per record: [CreateTime:ts<sep>][Partition:p<sep>][Offset:o<sep>][key<sep>]value. */
export function formatConsumedRecord(record: PrintableRecord, options: ConsumerPrintOptions): string {
  const parts: string[] = [];
  if (options.printTimestamp) parts.push(`CreateTime:${record.timestampMs}`);
  if (options.printPartition) parts.push(`Partition:${record.partition}`);
  if (options.printOffset) parts.push(`Offset:${record.offset}`);
  if (options.printKey) parts.push(record.key ?? "null");
  parts.push(record.value ?? "null");
  return parts.join(options.keySeparator);
}
