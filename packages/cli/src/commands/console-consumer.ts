// tributary console-consumer: prints one value per line, as kafka-console-consumer.sh does; stops
// after --max-messages, after --timeout-ms without a new record, or on Ctrl-C.
import type { CommandModule } from "../cli.js";
import { parseKeyValuePairs } from "../config/overrides.js";
import { consumerPrintOptions, formatConsumedRecord } from "../console/line-codec.js";
import { UsageError } from "../errors.js";
import { writeLines } from "../io.js";
import { type ConsumeSpec, withSession } from "../client/session.js";
import { booleanArg, intArg, requiredString, stringArg, stringList } from "./args.js";

/** How long one poll waits; bounds how late Ctrl-C and --timeout-ms are noticed. */
const POLL_WAIT_MS = 500;

function startOffsetOf(argv: Record<string, unknown>): ConsumeSpec["offset"] {
  const offset = stringArg(argv, "offset");
  if (offset === undefined) return undefined;
  if (offset === "earliest" || offset === "latest") return offset;
  if (!/^\d+$/.test(offset)) throw new UsageError(`--offset ${offset} is not a whole number, earliest or latest`);
  return BigInt(offset);
}

export const consoleConsumerCommand: CommandModule = (parser, run) =>
  parser.command("console-consumer", "Print records of a topic, one value per line", (y) => y
    .option("topic", { type: "string", demandOption: true, describe: "Topic to read" })
    .option("from-beginning", { type: "boolean", default: false, describe: "Start at the earliest record (else only new ones)" })
    .option("group", { type: "string", describe: "Consumer group (commits offsets); default: no group" })
    .option("partition", { type: "number", describe: "Read only this partition" })
    .option("offset", { type: "string", describe: "With --partition: earliest, latest or an offset" })
    .option("max-messages", { type: "number", describe: "Exit after this many records" })
    .option("timeout-ms", { type: "number", describe: "Exit after this long with no new record" })
    .option("print-key", { type: "boolean", default: false, describe: "Print the key before the value" })
    .option("print-offset", { type: "boolean", default: false, describe: "Print the offset before the value" })
    .option("property", { type: "string", array: true, describe: "print.key=true, print.offset=true, key.separator=: ..." })
    .example("$0 console-consumer --topic my-topic --from-beginning", ""),
  run(async (argv, context) => {
    const topic = requiredString(argv, "topic");
    const printOptions = consumerPrintOptions(parseKeyValuePairs(stringList(argv, "property"), "--property"), {
      printKey: booleanArg(argv, "printKey"),
      printOffset: booleanArg(argv, "printOffset"),
    });
    const partition = intArg(argv, "partition");
    const offset = startOffsetOf(argv);
    if (offset !== undefined && partition === undefined) throw new UsageError("--offset needs --partition");
    const maxMessages = intArg(argv, "maxMessages", "--max-messages");
    const timeoutMs = intArg(argv, "timeoutMs", "--timeout-ms");
    if (maxMessages !== undefined && maxMessages < 1) throw new UsageError("--max-messages must be at least 1");
    if (timeoutMs !== undefined && timeoutMs < 0) throw new UsageError("--timeout-ms must not be negative");
    const spec: ConsumeSpec = { topic, groupId: stringArg(argv, "group"), fromBeginning: booleanArg(argv, "fromBeginning"), partition, offset };

    await withSession(context, `consume from ${topic}`, async (session) => {
      const consumer = await session.consumer(spec);
      let printed = 0;
      let lastRecordAtMs = Date.now();
      try {
        while (!context.stopSignal.aborted) {
          const records = await consumer.poll(POLL_WAIT_MS);
          const now = Date.now();
          if (records.length === 0) {
            if (timeoutMs !== undefined && now - lastRecordAtMs >= timeoutMs) break;
            continue;
          }
          lastRecordAtMs = now;
          const take = maxMessages === undefined ? records : records.slice(0, maxMessages - printed);
          await writeLines(context.io.stdout, take.map((r) => formatConsumedRecord({
            partition: r.partition, offset: r.offset, timestampMs: r.timestampMs,
            key: r.key === null ? null : r.key.toString("utf8"),
            value: r.value === null ? null : r.value.toString("utf8"),
          }, printOptions)));
          printed += take.length;
          // Only what was printed: records polled past --max-messages stay for the group's next reader.
          if (spec.groupId !== undefined) await consumer.commit(take);
          if (maxMessages !== undefined && printed >= maxMessages) break;
        }
      } finally {
        await consumer.close();
      }
      context.io.stderr.write(`Processed a total of ${printed} messages\n`);
    }, { clientId: "console-consumer" });
  }));
