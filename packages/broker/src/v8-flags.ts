// Imported first by main.ts. The broker moves megabytes of Buffers a second through gRPC; with
// V8's default 16 MiB young generation their wrappers and the protobuf objects around them
// trigger scavenges so often that GC took ~16% of a broker's CPU in pnpm bench:broker. A 64 MiB
// semi-space cut broker CPU per record by ~20% there. Setting it here (before the heap grows)
// keeps `node main.js` the whole command line, so PIDs stay the broker's own.
import v8 from "node:v8";

if (!process.execArgv.some((arg) => arg.startsWith("--max-semi-space-size")) && !(process.env.NODE_OPTIONS ?? "").includes("--max-semi-space-size")) {
  v8.setFlagsFromString("--max-semi-space-size=64");
}
