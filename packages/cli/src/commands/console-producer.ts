// tributary console-producer: one record per stdin line, as kafka-console-producer.sh does;
// everything sent is flushed on EOF, and the exit code says whether every record was acknowledged.
import { createInterface } from "node:readline";
import type { CommandModule } from "../cli.js";
import { parseKeyValuePairs } from "../config/overrides.js";
import { parseProducerLine, producerLineOptions } from "../console/line-codec.js";
import { CliError, UsageError } from "../errors.js";
import { InFlightLimit } from "../client/in-flight.js";
import { type Acks, withSession } from "../client/session.js";
import { intArg, requiredString, stringArg, stringList } from "./args.js";

/** Records sent but not yet acknowledged; bounds memory when stdin is a large file. */
const MAX_IN_FLIGHT_RECORDS = 10_000;

export function parseAcks(value: string | undefined): Acks {
  switch (value ?? "all") {
    case "all":
    case "-1":
      return "all";
    case "1":
      return "1";
    case "0":
      return "0";
    default:
      throw new UsageError(`--acks ${value} is not one of all, -1, 1, 0`);
  }
}

export const consoleProducerCommand: CommandModule = (parser, run) =>
  parser.command("console-producer", "Send each line of stdin as a record", (y) => y
    .option("topic", { type: "string", demandOption: true, describe: "Topic to write to" })
    .option("property", { type: "string", array: true, describe: "parse.key=true, key.separator=: (repeatable)" })
    .option("acks", { type: "string", default: "all", describe: "all (-1), 1 or 0" })
    .option("partition", { type: "number", describe: "Write every record to this partition" })
    .example("$0 console-producer --topic my-topic", "then type lines; Ctrl-D to finish")
    .example("$0 console-producer --topic t --property parse.key=true --property key.separator=:", "lines are key:value"),
  run(async (argv, context) => {
    const topic = requiredString(argv, "topic");
    const lineOptions = producerLineOptions(parseKeyValuePairs(stringList(argv, "property"), "--property"));
    const acks = parseAcks(stringArg(argv, "acks"));
    const partition = intArg(argv, "partition");
    await withSession(context, `produce to ${topic}`, async (session) => {
      // Fail before reading stdin if the topic does not exist (rather than after the user typed).
      await session.describeTopics([topic]);
      const producer = await session.producer({ acks });
      const inFlight = new InFlightLimit(MAX_IN_FLIGHT_RECORDS);
      let firstError: unknown;
      let lineNumber = 0;
      try {
        const lines = createInterface({ input: context.io.stdin, crlfDelay: Infinity });
        // Ctrl-C ends input like Ctrl-D does: what was typed so far is still sent and flushed.
        const endInput = (): void => lines.close();
        context.stopSignal.addEventListener("abort", endInput, { once: true });
        for await (const line of lines) {
          lineNumber++;
          if (firstError) break;
          const { key, value } = parseProducerLine(line, lineOptions, lineNumber);
          await inFlight.add(() => producer
            .send({ topic, key: key === null ? null : Buffer.from(key), value: Buffer.from(value), ...(partition !== undefined ? { partition } : {}) })
            .then(() => undefined, (error: unknown) => { firstError ??= error; }));
        }
        await producer.flush();
        await inFlight.idle();
      } finally {
        await producer.close();
      }
      if (firstError) throw firstError instanceof Error ? firstError : new CliError(String(firstError));
    }, { clientId: "console-producer" });
  }));
