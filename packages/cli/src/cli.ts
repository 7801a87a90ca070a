// The `tributary` command tree (yargs). This file only declares commands and flags and maps
// outcomes to exit codes (0 ok, 1 failure, 2 usage); each command's work is in commands/.
import { createRequire } from "node:module";
import yargs, { type Argv, type ArgumentsCamelCase } from "yargs";
import { DEFAULT_BOOTSTRAP_SERVER, parseBootstrapServers } from "./bootstrap.js";
import { clusterCommands } from "./commands/cluster-command.js";
import { consoleConsumerCommand } from "./commands/console-consumer.js";
import { consoleProducerCommand } from "./commands/console-producer.js";
import { devCommand } from "./commands/dev-command.js";
import { healthCommand } from "./commands/health-command.js";
import { groupsCommands } from "./commands/groups-command.js";
import { perfCommands } from "./commands/perf-command.js";
import { serverCommands } from "./commands/server-command.js";
import { topicsCommands } from "./commands/topics-command.js";
import { ActionError, describeFailure, EXIT_FAILURE, EXIT_OK, exitCodeOf, UsageError } from "./errors.js";
import { type CliIo, processIo } from "./io.js";

/** What every command handler gets: the parsed flags common to all, and the io. */
export interface CommandContext {
  io: CliIo;
  bootstrapServers: string[];
  bootstrapServersText: string;
  verbose: boolean;
  json: boolean;
  /** Resolves when the user asks to stop (Ctrl-C / SIGTERM); long-running commands race it. */
  stopSignal: AbortSignal;
}

export type Handler = (argv: ArgumentsCamelCase<Record<string, unknown>>, context: CommandContext) => Promise<void>;

/** A command module: adds itself to the tree; `run` wraps handlers with the context. */
export type CommandModule = (parser: Argv, run: (handler: Handler) => (argv: ArgumentsCamelCase<Record<string, unknown>>) => Promise<void>) => Argv;

/** The version in packages/cli/package.json (one folder above dist/ and src/). */
function cliVersion(): string {
  const manifest = createRequire(import.meta.url)("../package.json") as { version?: string };
  return manifest.version ?? "unknown";
}

export interface RunOptions {
  io?: CliIo;
  stopSignal?: AbortSignal;
}

export async function runCli(args: readonly string[], options: RunOptions = {}): Promise<number> {
  const io = options.io ?? processIo();
  const stopSignal = options.stopSignal ?? new AbortController().signal;
  let exitCode = EXIT_OK;
  let verbose = args.includes("--verbose");
  let bootstrapText = DEFAULT_BOOTSTRAP_SERVER;

  const run = (handler: Handler) => async (argv: ArgumentsCamelCase<Record<string, unknown>>): Promise<void> => {
    verbose = argv.verbose === true;
    bootstrapText = String(argv.bootstrapServer ?? DEFAULT_BOOTSTRAP_SERVER);
    const context: CommandContext = {
      io,
      bootstrapServers: parseBootstrapServers(bootstrapText),
      bootstrapServersText: bootstrapText,
      verbose,
      json: argv.json === true,
      stopSignal,
    };
    await handler(argv, context);
  };

  let parser: Argv = yargs()
    .scriptName("tributary")
    .usage("$0 <command> [options]\n\nTributary: a distributed streaming platform in the family of Apache Kafka.")
    .option("bootstrap-server", {
      type: "string",
      alias: "broker-list",
      default: DEFAULT_BOOTSTRAP_SERVER,
      describe: "Brokers to connect to first: host:port[,host:port]",
      global: true,
    })
    .option("verbose", { type: "boolean", default: false, describe: "Show stack traces and debug logs", global: true })
    .option("json", { type: "boolean", default: false, describe: "Print machine-readable JSON", global: true })
    .strict()
    .demandCommand(1, "no command given")
    .recommendCommands()
    .help()
    .alias("help", "h")
    .version(cliVersion())
    .wrap(Math.min(120, process.stdout.columns ?? 100))
    .exitProcess(false)
    .fail((message: string | undefined, error: Error | undefined) => {
      if (error) throw error;
      throw new UsageError(message ?? "invalid command line", "see `tributary --help` (or `tributary <command> --help`)");
    });

  for (const add of [devCommand, serverCommands, topicsCommands, consoleProducerCommand, consoleConsumerCommand,
    groupsCommands, clusterCommands, perfCommands, healthCommand]) {
    parser = add(parser, run);
  }

  try {
    // A parse callback keeps yargs from printing help itself, so it goes to io.stdout.
    let helpText = "";
    await parser.parseAsync([...args], {}, (_error, _argv, output) => {
      helpText = output;
    });
    if (helpText !== "") io.stdout.write(`${helpText}\n`);
  } catch (error) {
    exitCode = exitCodeOf(error);
    const line = describeFailure(error, { bootstrapServers: bootstrapText });
    io.stderr.write(`error: ${line}\n`);
    const shown = error instanceof ActionError ? error.cause : error;
    if (verbose && shown instanceof Error && shown.stack) io.stderr.write(`${shown.stack}\n`);
    if (exitCode === EXIT_OK) exitCode = EXIT_FAILURE;
  }
  return exitCode;
}
