// What `tributary dev` prints once the cluster is up: where it listens and what to type next.
export interface DevBannerInput {
  brokerPorts: readonly number[];
  controllerPort: number;
  dataDir: string;
}

export function formatDevBanner({ brokerPorts, controllerPort, dataDir }: DevBannerInput): string[] {
  const bootstrap = brokerPorts.map((port) => `localhost:${port}`).join(",");
  const flag = brokerPorts.length === 1 && brokerPorts[0] === 9092 ? "" : ` --bootstrap-server ${bootstrap}`;
  const rf = brokerPorts.length >= 3 ? 3 : 1;
  return [
    "",
    `Tributary is running: ${brokerPorts.length === 1 ? "broker" : "brokers"} on ${bootstrap}, controller on localhost:${controllerPort}`,
    `Data: ${dataDir}`,
    "",
    "In another terminal:",
    `  pnpm tributary topics create my-topic --partitions 1 --replication-factor ${rf}${flag}`,
    `  pnpm tributary console-producer --topic my-topic${flag}          # type lines, Ctrl-D to finish`,
    `  pnpm tributary console-consumer --topic my-topic --from-beginning${flag}`,
    "",
    "Ctrl-C stops everything.",
    "",
  ];
}

/** The processes of `dev --nodes 3`, so a reader can `kill -9` one (the seed's Lab 2). */
export function formatProcessList(processes: readonly { label: string; pid: number; port: number }[]): string[] {
  return ["Processes:", ...processes.map((p) => `  ${p.label.padEnd(13)} pid ${String(p.pid).padEnd(8)} port ${p.port}`), ""];
}
