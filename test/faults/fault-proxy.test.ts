// The fault proxy: it names the source process of a connection, a "reset" cut closes the
// pair's connections, and a "blackhole" cut holds bytes until the heal (then delivers them).
import net from "node:net";
import { spawn } from "node:child_process";
import { afterAll, beforeAll, expect, it } from "vitest";
import { freePort, waitFor } from "../support/cluster.js";
import { Network } from "./fault-proxy.js";

let echo: net.Server;
let echoPort: number;
let network: Network;
let proxyPort: number;
const child = { pid: undefined as number | undefined };

beforeAll(async () => {
  echo = net.createServer((s) => s.pipe(s));
  await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
  echoPort = (echo.address() as net.AddressInfo).port;
  network = new Network(() => [{ name: "other", pid: () => child.pid }]);
  proxyPort = await freePort();
  await network.listen("echo", "127.0.0.11", proxyPort, () => echoPort);
});

afterAll(async () => {
  await network.close();
  echo.close();
});

function connect(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(proxyPort, "127.0.0.11", () => resolve(socket));
    socket.once("error", reject);
  });
}

function roundTrip(socket: net.Socket, text: string): Promise<string> {
  return new Promise((resolve) => {
    let got = "";
    const onData = (chunk: Buffer) => {
      got += chunk.toString();
      if (got.length >= text.length) {
        socket.off("data", onData);
        resolve(got);
      }
    };
    socket.on("data", onData);
    socket.write(text);
  });
}

it("forwards, and a reset cut closes the pair's connections until healed", async () => {
  const socket = await connect();
  expect(await roundTrip(socket, "hello")).toBe("hello");
  const closed = new Promise((resolve) => socket.once("close", resolve));
  network.cut("client", "echo", "reset");
  await closed;
  network.heal("client", "echo");
  const again = await connect();
  expect(await roundTrip(again, "again")).toBe("again");
  again.destroy();
});

it("a blackhole cut holds bytes and delivers them after the heal", async () => {
  const socket = await connect();
  expect(await roundTrip(socket, "before")).toBe("before");
  network.cut("client", "echo", "blackhole");
  const answer = roundTrip(socket, "during");
  let answered = false;
  void answer.then(() => { answered = true; });
  // The proxy has paused the link: nothing came back while cut (checked once the write is out).
  await new Promise((resolve) => socket.write("", resolve));
  expect(answered).toBe(false);
  network.heal("client", "echo");
  expect(await answer).toBe("during");
  socket.destroy();
});

it("names the process that opened a connection, and cuts only that source", { timeout: 90_000 }, async () => {
  // The child keeps writing, so a reset can reach it as a write error (EPIPE) before the close:
  // without an error listener that error would kill it before it says "closed".
  const script = `const s=require("net").connect(${proxyPort},"127.0.0.11",()=>{s.write("x")});s.on("data",()=>process.stdout.write("echoed\\n"));s.on("error",()=>{});s.on("close",()=>{process.stdout.write("closed\\n");process.exit(0)});setInterval(()=>s.write("x"),50)`;
  const proc = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  child.pid = proc.pid;
  let out = "";
  proc.stdout.on("data", (c) => { out += c; });
  try {
    // Generous deadlines: on a loaded 2-core CI a fresh node process can take seconds to start.
    const state = () => `child output ${JSON.stringify(out)}, sources seen ${JSON.stringify([...network.connectionsBySource])}`;
    await waitFor(() => out.includes("echoed"), { timeoutMs: 30_000, message: "the child's echo" }).catch((e: Error) => { throw new Error(`${e.message}; ${state()}`); });
    expect(network.connectionsBySource.get("other")).toBe(1);
    const mine = await connect();
    network.cut("other", "echo", "reset");
    await waitFor(() => out.includes("closed"), { timeoutMs: 30_000, message: "the child's connection closed by the cut" }).catch((e: Error) => { throw new Error(`${e.message}; ${state()}`); });
    // The test process's own connection is another source and stays up.
    expect(await roundTrip(mine, "still")).toBe("still");
    mine.destroy();
  } finally {
    network.healAll();
    proc.kill("SIGKILL");
  }
});

it("a pair cut twice by overlapping faults stays cut until both heal", async () => {
  network.cut("client", "echo", "reset");
  network.cut("client", "echo", "reset");
  network.heal("client", "echo");
  const socket = await connect().catch(() => undefined);
  if (socket) await new Promise((resolve) => socket.once("close", resolve));
  expect(network.activeCuts()).toEqual(["client>echo:reset"]);
  network.heal("client", "echo");
  expect(network.activeCuts()).toEqual([]);
  const again = await connect();
  expect(await roundTrip(again, "healed")).toBe("healed");
  again.destroy();
});
