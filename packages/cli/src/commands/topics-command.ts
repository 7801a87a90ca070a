// tributary topics create|list|describe|delete|alter: kafka-topics.sh's jobs, over the SDK's admin.
import type { CommandModule } from "../cli.js";
import { parseKeyValuePairs } from "../config/overrides.js";
import { CliError, UsageError } from "../errors.js";
import { formatTopicDescriptions, formatTopicList, topicToJson } from "../format/topics.js";
import { writeJson, writeLines } from "../io.js";
import { withSession } from "../client/session.js";
import { booleanArg, intArg, requiredTopic, stringList, topicName } from "./args.js";

const topicPositional = { type: "string", describe: "Topic name (or --topic NAME)" } as const;
const topicFlag = { type: "string", describe: "Topic name, as kafka-topics.sh takes it" } as const;

export const topicsCommands: CommandModule = (parser, run) =>
  parser.command("topics", "Create, list, describe, delete and alter topics", (topics) =>
    topics
      .command("create [name]", "Create a topic", (y) => y
        .positional("name", topicPositional)
        .option("topic", topicFlag)
        .option("partitions", { type: "number", describe: "Partition count (default: the broker's num.partitions)" })
        .option("replication-factor", { type: "number", describe: "Replicas per partition (default: default.replication.factor)" })
        .option("config", { type: "string", array: true, describe: "Topic config key=value (repeatable), e.g. retention.ms=60000" })
        .option("if-not-exists", { type: "boolean", default: false, describe: "Succeed if the topic already exists" })
        .example("$0 topics create my-topic --partitions 1 --replication-factor 1", ""),
      run(async (argv, context) => {
        const name = requiredTopic(argv);
        const partitions = intArg(argv, "partitions");
        const replicationFactor = intArg(argv, "replicationFactor", "--replication-factor");
        if (partitions !== undefined && partitions < 1) throw new UsageError("--partitions must be at least 1");
        if (replicationFactor !== undefined && replicationFactor < 1) throw new UsageError("--replication-factor must be at least 1");
        const configs = parseKeyValuePairs(stringList(argv, "config"), "--config");
        await withSession(context, `create topic ${name}`, async (session) => {
          const created = await session.createTopic({ name, partitions, replicationFactor, configs, ifNotExists: booleanArg(argv, "ifNotExists") });
          if (context.json) await writeJson(context.io.stdout, { name, created });
          else await writeLines(context.io.stdout, [created ? `Created topic ${name}.` : `Topic ${name} already exists.`]);
        });
      }))
      .command("list", "List topics", (y) => y
        .option("exclude-internal", { type: "boolean", default: false, describe: "Hide internal topics such as __consumer_offsets" }),
      run(async (argv, context) => {
        await withSession(context, "list topics", async (session) => {
          const names = await session.listTopics({ includeInternal: !booleanArg(argv, "excludeInternal") });
          if (context.json) await writeJson(context.io.stdout, formatTopicList(names));
          else await writeLines(context.io.stdout, formatTopicList(names));
        });
      }))
      .command("describe [name]", "Describe one topic, or all", (y) => y
        .positional("name", topicPositional)
        .option("topic", topicFlag),
      run(async (argv, context) => {
        const name = topicName(argv);
        await withSession(context, name ? `describe topic ${name}` : "describe topics", async (session) => {
          const topics = await session.describeTopics(name ? [name] : undefined);
          if (context.json) await writeJson(context.io.stdout, name ? topicToJson(topics[0]!) : topics.map(topicToJson));
          else await writeLines(context.io.stdout, formatTopicDescriptions(topics));
        });
      }))
      .command("delete [name]", "Delete a topic and its data", (y) => y
        .positional("name", topicPositional)
        .option("topic", topicFlag),
      run(async (argv, context) => {
        const name = requiredTopic(argv);
        await withSession(context, `delete topic ${name}`, async (session) => {
          await session.deleteTopic(name);
          if (context.json) await writeJson(context.io.stdout, { name, deleted: true });
          else await writeLines(context.io.stdout, [`Deleted topic ${name}.`]);
        });
      }))
      .command("alter [name]", "Add partitions or change topic configs", (y) => y
        .positional("name", topicPositional)
        .option("topic", topicFlag)
        .option("partitions", { type: "number", describe: "New total partition count (can only grow)" })
        .option("config", { type: "string", array: true, describe: "Set a topic config key=value (repeatable)" })
        .option("delete-config", { type: "string", array: true, describe: "Return a config to its default (repeatable)" }),
      run(async (argv, context) => {
        const name = requiredTopic(argv);
        const partitions = intArg(argv, "partitions");
        const configs = parseKeyValuePairs(stringList(argv, "config"), "--config");
        const deleted = stringList(argv, "deleteConfig");
        if (partitions === undefined && Object.keys(configs).length === 0 && deleted.length === 0) {
          throw new UsageError("nothing to alter", "give --partitions N, --config key=value or --delete-config key");
        }
        await withSession(context, `alter topic ${name}`, async (session) => {
          const done: string[] = [];
          if (partitions !== undefined) {
            await session.createPartitions(name, partitions);
            done.push(`Topic ${name} now has ${partitions} partitions.`);
          }
          if (Object.keys(configs).length > 0 || deleted.length > 0) {
            await session.alterTopicConfigs(name, configs, deleted);
            done.push(`Updated configs of topic ${name}.`);
          }
          if (done.length === 0) throw new CliError("nothing was changed");
          if (context.json) await writeJson(context.io.stdout, { name, partitions: partitions ?? null, configs, deletedConfigs: deleted });
          else await writeLines(context.io.stdout, done);
        });
      }))
      .demandCommand(1, "name a topics command: create, list, describe, delete or alter"),
  );
