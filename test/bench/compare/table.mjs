// The printed table of bench:compare: one row per figure, one column per system, and Tributary's
// ratio to each other system. The ratio is always Tributary / other (so it never reads
// backwards); the last column says whether higher or lower is better for that row. Rates swing
// with whatever else the shared machine does; the CPU rows swing much less and show what each
// system spends per record.
const ROWS = [
  { label: "produce 100 B (records/s)", better: "higher", get: (r) => r.produce?.small?.recordsPerSec },
  { label: "produce 1 KiB (records/s)", better: "higher", get: (r) => r.produce?.large?.recordsPerSec },
  { label: "produce 1 KiB (MB/s)", better: "higher", get: (r) => r.produce?.large?.mbPerSec },
  { label: "consume 100 B (records/s)", better: "higher", get: (r) => r.consume?.small?.recordsPerSec },
  { label: "consume 1 KiB (records/s)", better: "higher", get: (r) => r.consume?.large?.recordsPerSec },
  { label: "produce 100 B (CPU-s/M records)", better: "lower", get: (r) => r.produce?.small?.cpuSecondsPerMillion?.total },
  { label: "produce 1 KiB (CPU-s/M records)", better: "lower", get: (r) => r.produce?.large?.cpuSecondsPerMillion?.total },
  { label: "consume 100 B (CPU-s/M records)", better: "lower", get: (r) => r.consume?.small?.cpuSecondsPerMillion?.total },
  { label: "consume 1 KiB (CPU-s/M records)", better: "lower", get: (r) => r.consume?.large?.cpuSecondsPerMillion?.total },
  { label: "e2e latency p50 (ms)", better: "lower", get: (r) => r.latency?.p50Ms },
  { label: "e2e latency p99 (ms)", better: "lower", get: (r) => r.latency?.p99Ms },
  { label: "e2e latency p99.9 (ms)", better: "lower", get: (r) => r.latency?.p999Ms },
  { label: "write stall, leader kill -9 (ms)", better: "lower", get: (r) => (r.stall ? r.stall.stallMs ?? `none acked in ${r.stall.afterKillSeconds} s` : undefined) },
];

export function formatTable(report) {
  const systems = ["tributary", "jetstream", "redis"];
  const others = systems.filter((s) => s !== "tributary");
  const header = ["", "Tributary", "JetStream R3", "Redis Streams", "Trib/JetStream", "Trib/Redis", "better"];
  const cell = (value) => (value === undefined || value === null ? "—" : typeof value === "number" ? value.toLocaleString("en-US") : String(value));
  const ratio = (a, b) => (typeof a === "number" && typeof b === "number" && b > 0 ? `${(a / b).toFixed(2)}x` : "—");
  const lines = ROWS.map((row) => {
    const values = systems.map((s) => (report.results[s] ? row.get(report.results[s]) : undefined));
    return [row.label, ...values.map(cell), ...others.map((s) => ratio(values[0], values[systems.indexOf(s)])), row.better];
  });
  const all = [header, ...lines];
  const widths = header.map((_, i) => Math.max(...all.map((line) => line[i].length)));
  const render = (line) => "| " + line.map((text, i) => (i === 0 ? text.padEnd(widths[i]) : text.padStart(widths[i]))).join(" | ") + " |";
  const rule = "|" + widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : "-".repeat(w + 1) + ":")).join("|") + "|";
  const notes = [
    `produce and consume: the median of ${report.repetitions ?? 1} repetition${(report.repetitions ?? 1) === 1 ? "" : "s"} (JSON: every one)`,
    "CPU-s/M records: CPU-seconds per million records over the whole phase, the servers' and the client's together (JSON: each apart)",
    `${report.quick ? "--quick (1/10 of the records, 10 s latency)" : "full size"}; ${report.machine.cpus} cores, load average ${report.machine.loadAverage1mAtEnd} at the end; ${report.at}`,
    ...Object.entries(report.unavailable).map(([name, why]) => `${name} not run: ${why}`),
  ];
  return [render(header), rule, ...lines.map(render), "", ...notes].join("\n");
}
