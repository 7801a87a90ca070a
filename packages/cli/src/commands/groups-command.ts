// tributary groups list|describe|reset-offsets: kafka-consumer-groups.sh's jobs.
import type { CommandModule } from "../cli.js";
import { UsageError } from "../errors.js";
import { formatGroupDescription, formatGroupList, groupToJson } from "../format/groups.js";
import { writeJson, writeLines } from "../io.js";
import { type ResetTarget, withSession } from "../client/session.js";
import { booleanArg, intArg, requiredString, stringArg } from "./args.js";

function resetTargetOf(argv: Record<string, unknown>): ResetTarget {
  const chosen: ResetTarget[] = [];
  if (booleanArg(argv, "toEarliest")) chosen.push({ kind: "earliest" });
  if (booleanArg(argv, "toLatest")) chosen.push({ kind: "latest" });
  const offset = stringArg(argv, "toOffset");
  if (offset !== undefined) {
    if (!/^\d+$/.test(offset)) throw new UsageError(`--to-offset must be a whole number, got ${offset}`);
    chosen.push({ kind: "offset", offset: BigInt(offset) });
  }
  if (chosen.length !== 1) throw new UsageError("give exactly one of --to-earliest, --to-latest or --to-offset N");
  return chosen[0]!;
}

export const groupsCommands: CommandModule = (parser, run) =>
  parser.command("groups", "List, describe and reset consumer groups", (groups) =>
    groups
      .command("list", "List consumer groups", (y) => y,
        run(async (_argv, context) => {
          await withSession(context, "list groups", async (session) => {
            const list = await session.listGroups();
            if (context.json) await writeJson(context.io.stdout, list);
            else await writeLines(context.io.stdout, formatGroupList(list));
          });
        }))
      .command("describe <group>", "Members, assignments, committed offsets and lag of a group", (y) => y
        .positional("group", { type: "string", describe: "Group id" }),
      run(async (argv, context) => {
        const groupId = requiredString(argv, "group", "GROUP");
        await withSession(context, `describe group ${groupId}`, async (session) => {
          const group = await session.describeGroup(groupId);
          if (context.json) await writeJson(context.io.stdout, groupToJson(group));
          else await writeLines(context.io.stdout, formatGroupDescription(group));
        });
      }))
      .command("reset-offsets <group>", "Move a group's committed offsets (the group must have no members)", (y) => y
        .positional("group", { type: "string", describe: "Group id" })
        .option("topic", { type: "string", demandOption: true, describe: "Topic whose offsets to reset" })
        .option("partition", { type: "number", describe: "Only this partition (default: all)" })
        .option("to-earliest", { type: "boolean", describe: "Reset to the log start" })
        .option("to-latest", { type: "boolean", describe: "Reset to the log end" })
        .option("to-offset", { type: "string", describe: "Reset to this offset" })
        .option("dry-run", { type: "boolean", default: false, describe: "Show the new offsets without committing them" }),
      run(async (argv, context) => {
        const groupId = requiredString(argv, "group", "GROUP");
        const topic = requiredString(argv, "topic");
        const target = resetTargetOf(argv);
        const partition = intArg(argv, "partition");
        await withSession(context, `reset offsets of group ${groupId}`, async (session) => {
          const result = await session.resetOffsets({ groupId, topic, partition, target, dryRun: booleanArg(argv, "dryRun") });
          if (context.json) {
            await writeJson(context.io.stdout, result.map((r) => ({ ...r, newOffset: r.newOffset.toString() })));
            return;
          }
          await writeLines(context.io.stdout, [
            ...result.map((r) => `Group: ${groupId} Topic: ${r.topic} Partition: ${r.partition} NewOffset: ${r.newOffset}`),
            booleanArg(argv, "dryRun") ? "(dry run: nothing committed)" : `Reset ${result.length} partition(s).`,
          ]);
        });
      }))
      .demandCommand(1, "name a groups command: list, describe or reset-offsets"),
  );
