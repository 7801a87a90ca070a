// Imported first by main.ts. V8 flags for a process that moves tens of megabytes of Buffers a
// second through gRPC. Setting them here (before the heap grows) keeps `node main.js` the whole
// command line, so PIDs stay the broker's own. A flag given on the command line or in
// NODE_OPTIONS wins.
//
// --max-semi-space-size=64: with V8's default 16 MiB young generation, the Buffers' wrappers and
// the protobuf objects around them trigger scavenges so often that GC took ~16% of a broker's
// CPU in pnpm bench:broker; 64 MiB cut broker CPU per record by ~20% there.
//
// --heap-growing-percent=300: V8 counts external memory (every Buffer over 4 KiB) allocated
// since the last mark-compact against the old generation's limit, and starts a full marking
// when what is left of that limit drops below the young generation's size. The old generation
// holds ~15 MB here, and V8's usual factor (~2x live) left ~20 MB of room: a broker replicating
// 1 KiB records crossed that between two scavenges and ran a mark-compact every ~100 ms,
// marking on helper threads a third of the time. A factor of 4 (the largest V8 picks by itself,
// when GC is cheap against the program) left the records themselves unchanged and cut broker
// CPU per record by ~35% (pnpm bench:broker, 1 KiB records: 18.3 -> 11.5 CPU-s per million).
import v8 from "node:v8";

function givenByUser(flag: string): boolean {
  return process.execArgv.some((arg) => arg.startsWith(flag)) || (process.env.NODE_OPTIONS ?? "").includes(flag);
}

if (!givenByUser("--max-semi-space-size")) v8.setFlagsFromString("--max-semi-space-size=64");
if (!givenByUser("--heap-growing-percent")) v8.setFlagsFromString("--heap-growing-percent=300");
