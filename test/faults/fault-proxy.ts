// A fault-injecting TCP proxy in front of every node's listener. Nodes advertise the proxy's
// address (its own loopback IP, 127.0.0.11.., and port), so every connection between nodes,
// and from clients, passes through one of these. The proxy learns each connection's source
// node from /proc (socket-owner.ts), so a cut is per ordered (source, destination) pair:
//   - "blackhole": connections of the pair stop moving bytes (reads are paused, so the kernel
//     buffers fill and the sender stalls, as on a dead link); new connections are accepted but
//     not forwarded. On heal, paused connections resume where they were (TCP after a partition).
//   - "reset": connections of the pair are destroyed, and new ones are closed at once.
import net from "node:net";
import { socketOwner } from "./socket-owner.js";

export type CutMode = "blackhole" | "reset";

export interface Endpoint {
  name: string;
  pid(): number | undefined;
}

interface Link {
  source: string;
  destination: string;
  downstream: net.Socket;
  upstream: net.Socket | undefined;
  connectUpstream(): void;
}

export class Network {
  private readonly cuts = new Map<string, CutMode>();
  /** How many faults hold each pair cut now: two overlapping faults may cut the same pair. */
  private readonly cutHolds = new Map<string, number>();
  private readonly links = new Set<Link>();
  private readonly proxies: FaultProxy[] = [];
  connectionsBySource = new Map<string, number>();

  constructor(private readonly endpoints: () => Endpoint[], private readonly clientName = "client") {}

  /** Cuts source → destination (one direction; call twice for both). */
  cut(source: string, destination: string, mode: CutMode): void {
    const pair = `${source}>${destination}`;
    this.cuts.set(pair, mode);
    this.cutHolds.set(pair, (this.cutHolds.get(pair) ?? 0) + 1);
    for (const link of this.links) if (link.source === source && link.destination === destination) this.apply(link);
  }

  heal(source: string, destination: string): void {
    const pair = `${source}>${destination}`;
    const holds = (this.cutHolds.get(pair) ?? 0) - 1;
    if (holds > 0) {
      this.cutHolds.set(pair, holds);
      return;
    }
    this.cutHolds.delete(pair);
    this.cuts.delete(pair);
    for (const link of this.links) if (link.source === source && link.destination === destination) this.apply(link);
  }

  healAll(): void {
    this.cuts.clear();
    this.cutHolds.clear();
    for (const link of this.links) this.apply(link);
  }

  activeCuts(): string[] {
    return [...this.cuts.entries()].map(([pair, mode]) => `${pair}:${mode}`);
  }

  async listen(destination: string, host: string, port: number, target: () => number | undefined): Promise<FaultProxy> {
    const proxy = new FaultProxy(this, destination, host, port, target);
    await proxy.listen();
    this.proxies.push(proxy);
    return proxy;
  }

  async close(): Promise<void> {
    for (const link of this.links) {
      link.downstream.destroy();
      link.upstream?.destroy();
    }
    this.links.clear();
    await Promise.all(this.proxies.map((p) => p.close()));
  }

  /** @internal */
  accept(destination: string, downstream: net.Socket, target: () => number | undefined): void {
    const candidates = [
      ...this.endpoints().map((e) => ({ pid: e.pid(), owner: e.name })),
      { pid: process.pid, owner: this.clientName },
    ];
    let source = this.clientName;
    try {
      source = socketOwner(downstream.remoteAddress ?? "", downstream.remotePort ?? 0, candidates) ?? this.clientName;
    } catch {
      // /proc unreadable for a moment: count it as a client connection.
    }
    this.connectionsBySource.set(source, (this.connectionsBySource.get(source) ?? 0) + 1);
    const link: Link = {
      source, destination, downstream, upstream: undefined,
      connectUpstream: () => {
        if (link.upstream || downstream.destroyed) return;
        const port = target();
        if (port === undefined) {
          downstream.destroy();
          return;
        }
        const upstream = net.connect(port, "127.0.0.1");
        link.upstream = upstream;
        upstream.setNoDelay(true);
        downstream.pipe(upstream);
        upstream.pipe(downstream);
        upstream.on("error", () => downstream.destroy());
        upstream.on("close", () => downstream.destroy());
      },
    };
    downstream.setNoDelay(true);
    downstream.on("error", () => link.upstream?.destroy());
    downstream.on("close", () => {
      link.upstream?.destroy();
      this.links.delete(link);
    });
    this.links.add(link);
    this.apply(link);
  }

  private apply(link: Link): void {
    const mode = this.cuts.get(`${link.source}>${link.destination}`);
    if (mode === "reset") {
      link.downstream.destroy();
      link.upstream?.destroy();
      return;
    }
    if (mode === "blackhole") {
      link.downstream.pause();
      link.upstream?.pause();
      return;
    }
    if (!link.upstream) {
      link.connectUpstream();
    } else {
      link.downstream.resume();
      link.upstream.resume();
    }
  }
}

export class FaultProxy {
  private readonly server: net.Server;

  constructor(network: Network, readonly destination: string, readonly host: string, readonly port: number, target: () => number | undefined) {
    this.server = net.createServer((socket) => network.accept(destination, socket, target));
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.port, this.host, () => resolve());
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
