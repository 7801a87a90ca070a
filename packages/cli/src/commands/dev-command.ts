// tributary dev: a working local cluster in the foreground. --nodes 1: a controller and a broker
// in this process; --nodes 3: a controller and 3 brokers as child processes (deploy/local/).
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { CommandContext, CommandModule } from "../cli.js";
import { tributaryEnvironment } from "../config/overrides.js";
import { CliError, UsageError } from "../errors.js";
import { formatLogLine } from "../format/log-line.js";
import { writeLines } from "../io.js";
import { formatDevBanner, formatProcessList } from "../dev/banner.js";
import { prettyLogStream } from "../dev/pretty-log-stream.js";
import { waitForLiveBrokers } from "../dev/ready.js";
import { type RunningServer, startServer } from "../dev/servers.js";
import { booleanArg, intArg, stringArg } from "./args.js";

const INFO_LEVEL = 30;
const DEBUG_LEVEL = 20;

function untilStopped(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolvePromise) => signal.addEventListener("abort", () => resolvePromise(), { once: true }));
}

interface DevOptions {
  dataDir: string;
  brokerPort: number;
  controllerPort: number;
  minLevel: number;
}

async function runSingleNode(options: DevOptions, context: CommandContext): Promise<void> {
  const { dataDir, brokerPort, controllerPort } = options;
  const voters = `1@127.0.0.1:${controllerPort}`;
  const env = tributaryEnvironment(context.io.env);
  const servers: RunningServer[] = [];
  try {
    servers.push(await startServer("controller", {
      env,
      overrides: {
        "node.id": "1", listeners: `CONTROLLER://127.0.0.1:${controllerPort}`, "controller.quorum.voters": voters,
        "metadata.log.dir": join(dataDir, "controller-1"),
      },
      logDestination: prettyLogStream("controller 1", context.io.stdout, options.minLevel),
      logLevel: options.minLevel <= DEBUG_LEVEL ? "debug" : "info",
    }));
    servers.push(await startServer("broker", {
      env,
      overrides: {
        "node.id": "0", listeners: `PLAINTEXT://:${brokerPort}`, "advertised.listeners": `PLAINTEXT://localhost:${brokerPort}`,
        "controller.quorum.voters": voters, "log.dirs": join(dataDir, "broker-0"), "offsets.topic.replication.factor": "1",
      },
      logDestination: prettyLogStream("broker 0", context.io.stdout, options.minLevel),
      logLevel: options.minLevel <= DEBUG_LEVEL ? "debug" : "info",
    }));
    await waitForLiveBrokers([`127.0.0.1:${brokerPort}`], 1, context.stopSignal);
    await writeLines(context.io.stdout, formatDevBanner({ brokerPorts: [brokerPort], controllerPort, dataDir }));
    await untilStopped(context.stopSignal);
    await writeLines(context.io.stdout, ["Stopping..."]);
  } finally {
    // Broker first: it leaves the cluster cleanly while the controller is still there.
    for (const server of servers.reverse()) await server.close();
  }
}

interface LauncherHandle {
  processes: { label: string; pid: number; port: number }[];
  stop(): Promise<void>;
  allExited: Promise<unknown>;
}

interface LauncherModule {
  clusterPlan(options: { dataDir: string; brokerCount: number; baseBrokerPort: number; controllerPort: number; cliBin: string }): unknown;
  startForeground(plan: unknown, options: {
    onLine: (label: string, line: string) => void;
    onExit: (label: string, code: number | null, signal: string | null) => void;
    env: NodeJS.ProcessEnv;
  }): Promise<LauncherHandle>;
}

/** deploy/local/launcher.mjs, found from this file in the repository (or the image's /app). */
function launcherPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidate = resolve(here, "..", "..", "..", "..", "deploy", "local", "launcher.mjs");
  if (!existsSync(candidate)) throw new CliError(`cannot find the local launcher at ${candidate}`, "run from a full checkout of the repository");
  return candidate;
}

async function runThreeNodes(options: DevOptions, context: CommandContext): Promise<void> {
  const launcher = (await import(pathToFileURL(launcherPath()).href)) as LauncherModule;
  const cliBin = resolve(dirname(fileURLToPath(import.meta.url)), "..", "bin.js");
  const plan = launcher.clusterPlan({
    dataDir: options.dataDir, brokerCount: 3, baseBrokerPort: options.brokerPort, controllerPort: options.controllerPort, cliBin,
  });
  const out = context.io.stdout;
  let stopping = false;
  const handle = await launcher.startForeground(plan, {
    env: context.io.env,
    onLine: (label, line) => {
      const pretty = formatLogLine(line, label, options.minLevel);
      if (pretty !== null) out.write(`${pretty}\n`);
    },
    // A process killed by hand (the seed's Lab 2 kills the leader) is reported; the rest run on.
    onExit: (label, code, signal) => {
      if (!stopping) out.write(`${label} exited (${signal ?? `code ${code}`}); the other processes keep running\n`);
    },
  });
  try {
    await waitForLiveBrokers([0, 1, 2].map((i) => `127.0.0.1:${options.brokerPort + i}`), 3, context.stopSignal);
    await writeLines(out, [
      ...formatDevBanner({ brokerPorts: [0, 1, 2].map((i) => options.brokerPort + i), controllerPort: options.controllerPort, dataDir: options.dataDir }),
      ...formatProcessList(handle.processes),
    ]);
    const allExited = await Promise.race([untilStopped(context.stopSignal).then(() => false), handle.allExited.then(() => true)]);
    if (allExited) throw new CliError("every process of the cluster has exited", "see the log lines above");
    await writeLines(out, ["Stopping..."]);
  } finally {
    stopping = true;
    await handle.stop();
  }
}

export const devCommand: CommandModule = (parser, run) =>
  parser.command("dev", "Start a local cluster in the foreground (Ctrl-C stops it)", (y) => y
    .option("nodes", { type: "number", default: 1, choices: [1, 3], describe: "1: controller and broker in one process; 3: 1 controller + 3 brokers" })
    .option("data-dir", { type: "string", default: "./data", describe: "Folder for all logs and metadata" })
    .option("port", { type: "number", default: 9092, describe: "First broker port (3 nodes: this and the next two)" })
    .option("controller-port", { type: "number", default: 9191, describe: "Controller port" })
    .example("$0 dev", "a broker on localhost:9092")
    .example("$0 dev --nodes 3", "brokers on 9092, 9093, 9094 (the seed's Lab 2)"),
  run(async (argv, context) => {
    const nodes = intArg(argv, "nodes") ?? 1;
    const brokerPort = intArg(argv, "port") ?? 9092;
    const controllerPort = intArg(argv, "controllerPort", "--controller-port") ?? 9191;
    for (const [flag, port] of [["--port", brokerPort], ["--controller-port", controllerPort]] as const) {
      if (port < 1 || port > 65_535) throw new UsageError(`${flag} ${port} is not a port number`);
    }
    const dataDir = resolve(stringArg(argv, "dataDir") ?? "./data");
    await mkdir(dataDir, { recursive: true });
    const options = { dataDir, brokerPort, controllerPort, minLevel: booleanArg(argv, "verbose") ? DEBUG_LEVEL : INFO_LEVEL };
    if (nodes === 1) await runSingleNode(options, context);
    else await runThreeNodes(options, context);
  }));
