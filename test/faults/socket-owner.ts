// Which process opened a loopback TCP connection: the proxy sees only the peer's
// "127.0.0.1:<ephemeral port>", and every node dials from 127.0.0.1, so the peer address alone
// cannot tell a broker from a controller. Linux can: /proc/net/tcp maps the peer's local
// address to a socket inode, and /proc/<pid>/fd of exactly one process links to that inode.
// This is how the fault proxy knows the source of each connection without any cooperation
// from the node (no per-source ports, no source binding in the node's gRPC client).
import fs from "node:fs";

function hexAddress(ip: string, port: number): string {
  const octets = ip.split(".").map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o))) return "";
  // /proc/net/tcp prints the IPv4 address as a little-endian 32-bit word.
  const word = octets.reverse().map((o) => o.toString(16).padStart(2, "0")).join("").toUpperCase();
  return `${word}:${port.toString(16).toUpperCase().padStart(4, "0")}`;
}

function socketInode(ip: string, port: number): string | undefined {
  const wanted = hexAddress(ip.replace(/^::ffff:/, ""), port);
  if (!wanted) return undefined;
  const table = fs.readFileSync("/proc/net/tcp", "utf8").split("\n");
  for (const line of table) {
    const fields = line.trim().split(/\s+/);
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
    if (fields[1] === wanted && fields[9] && fields[9] !== "0") return fields[9];
  }
  return undefined;
}

function ownsInode(pid: number, link: string): boolean {
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    try {
      if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === link) return true;
    } catch {
      // The fd closed while we looked.
    }
  }
  return false;
}

/** The candidate whose process owns the socket bound to ip:port, or undefined. */
export function socketOwner<T>(ip: string, port: number, candidates: ReadonlyArray<{ pid: number | undefined; owner: T }>): T | undefined {
  const inode = socketInode(ip, port);
  if (inode === undefined) return undefined;
  const link = `socket:[${inode}]`;
  for (const { pid, owner } of candidates) {
    if (pid !== undefined && ownsInode(pid, link)) return owner;
  }
  return undefined;
}
