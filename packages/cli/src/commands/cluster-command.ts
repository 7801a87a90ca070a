// tributary cluster describe: the controller quorum and the brokers, as the cluster sees them.
import type { CommandModule } from "../cli.js";
import { formatClusterDescription } from "../format/cluster.js";
import { writeJson, writeLines } from "../io.js";
import { withSession } from "../client/session.js";

export const clusterCommands: CommandModule = (parser, run) =>
  parser.command("cluster", "Inspect the cluster", (cluster) =>
    cluster
      .command("describe", "Controllers (leader, term) and brokers (address, rack, live or fenced)", (y) => y,
        run(async (_argv, context) => {
          await withSession(context, "describe the cluster", async (session) => {
            const view = await session.describeCluster();
            if (context.json) await writeJson(context.io.stdout, view);
            else await writeLines(context.io.stdout, formatClusterDescription(view));
          });
        }))
      .demandCommand(1, "name a cluster command: describe"),
  );
