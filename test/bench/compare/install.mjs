// The other systems' servers for bench:compare are Debian's packages (nats-server, redis-server).
// A machine that lacks one gets it from apt-get before the run, as root or through sudo; where that
// cannot be done (no apt-get, no root, no registry), the system is reported as not run, with why,
// instead of failing the whole benchmark.
import { execFileSync, spawnSync } from "node:child_process";

/** The Debian package that provides each system's server binary. */
export const SERVER_PACKAGES = {
  jetstream: { binary: "nats-server", debianPackage: "nats-server" },
  redis: { binary: "redis-server", debianPackage: "redis-server" },
};

function onPath(binary) {
  return spawnSync("sh", ["-c", `command -v ${binary}`], { stdio: "ignore" }).status === 0;
}

/** How to run apt-get here: directly as root, through sudo, or not at all (null). */
function aptGetCommand() {
  if (!onPath("apt-get")) return null;
  if (process.getuid?.() === 0) return ["apt-get"];
  if (onPath("sudo") && spawnSync("sudo", ["-n", "true"], { stdio: "ignore" }).status === 0) return ["sudo", "-n", "apt-get"];
  return null;
}

/**
 * Makes sure each named system's server binary is on PATH, installing its Debian package where
 * missing. Returns { [system]: reason } for every system that still cannot run. `log` reports
 * what it does (an install takes a while).
 */
export function ensureServerBinaries(systems, { install = true, log = () => {}, packagesBySystem = SERVER_PACKAGES } = {}) {
  const missing = systems.filter((system) => packagesBySystem[system] && !onPath(packagesBySystem[system].binary));
  const unavailable = {};
  if (missing.length === 0) return unavailable;
  const packages = missing.map((system) => packagesBySystem[system].debianPackage);
  const apt = install ? aptGetCommand() : null;
  if (apt) {
    log(`installing ${packages.join(", ")} with apt-get`);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const run = (args) => execFileSync(apt[0], [...apt.slice(1), ...args], { env, stdio: ["ignore", "ignore", "pipe"] });
    try {
      run(["install", "-y", "--no-install-recommends", ...packages]);
    } catch {
      // A fresh machine's package lists may be empty or stale: refresh them once and retry.
      try {
        run(["update"]);
        run(["install", "-y", "--no-install-recommends", ...packages]);
      } catch (error) {
        log(`apt-get could not install ${packages.join(", ")}: ${String(error.stderr ?? error.message).trim().split("\n").at(-1)}`);
      }
    }
  }
  for (const system of missing) {
    const { binary, debianPackage } = packagesBySystem[system];
    if (onPath(binary)) continue;
    unavailable[system] = `${binary} is not installed and ${install ? (apt ? "apt-get could not install it" : "apt-get cannot be run here (needs root or sudo)") : "--no-install was given"} (apt-get install -y ${debianPackage})`;
  }
  return unavailable;
}
