// Typed reads of yargs' parsed flags (yargs hands back an untyped record).
import { UsageError } from "../errors.js";

type Parsed = Record<string, unknown>;

export function stringArg(argv: Parsed, name: string): string | undefined {
  const value = argv[name];
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value.length === 0 ? undefined : String(value[value.length - 1]);
  return String(value);
}

export function requiredString(argv: Parsed, name: string, flag = `--${name}`): string {
  const value = stringArg(argv, name);
  if (value === undefined || value === "") throw new UsageError(`${flag} is required`);
  return value;
}

export function stringList(argv: Parsed, name: string): string[] {
  const value = argv[name];
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

export function intArg(argv: Parsed, name: string, flag = `--${name}`): number | undefined {
  const value = argv[name];
  if (value === undefined || value === null) return undefined;
  const number = typeof value === "number" ? value : Number(value);
  if (!Number.isSafeInteger(number)) throw new UsageError(`${flag} must be a whole number, got ${String(value)}`);
  return number;
}

export function booleanArg(argv: Parsed, name: string): boolean {
  return argv[name] === true;
}

/** A topic named either positionally (`topics create my-topic`) or as Kafka does (`--topic my-topic`). */
export function topicName(argv: Parsed): string | undefined {
  return stringArg(argv, "name") ?? stringArg(argv, "topic");
}

export function requiredTopic(argv: Parsed): string {
  const name = topicName(argv);
  if (name === undefined || name === "") throw new UsageError("a topic name is required", "give it as NAME or --topic NAME");
  return name;
}
