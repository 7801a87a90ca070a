// How a Tributary server process (broker or controller) is started: one Node flag and one glibc
// setting, added by whatever starts it. deploy/local/launcher.mjs (and so `tributary dev`) and
// test/support/cluster.ts (tests and benchmarks) use this module; deploy/docker/Dockerfile says
// the same through ENV, and test/cli/server-runtime.test.ts checks that it does. Like the JVM
// flags in Kafka's start scripts, these are how the process runs, not broker configuration.
//
// Why: a broker moves every record's bytes through short-lived buffers (requests read off the
// socket, reads of the log for followers and consumers), so it allocates and frees memory at the
// rate it moves bytes. Memory handed back to the kernel and taken again is faulted in and zeroed
// anew each time; on a VM with free page reporting (this project's machine) memory free for a
// couple of seconds goes back to the host, and filling 1 GiB of it again took 0.55 s of CPU.
//   --max-semi-space-size=32   V8's young generation may grow to 3 x 32 MiB (Node 20: 16 MiB
//                              semi-spaces): fewer scavenges, fewer buffers' wrappers promoted.
//   glibc.malloc.mmap_threshold=32 MiB   a buffer of up to 32 MiB (Fetch answers, Produce
//                              requests) comes from malloc's heap, reused, instead of from an
//                              mmap of its own that is unmapped when freed. 32 MiB is glibc's
//                              maximum on 64-bit: a larger value is ignored without a word.
//   glibc.malloc.trim_threshold=512 MiB  freed heap is kept for reuse up to 512 MiB instead of
//                              being returned to the kernel past 128 KiB.
// Measured (bench:compare --only tributary --phases produce, three runs of each, alternated):
// brokers spent ~6% fewer CPU-seconds per million 1 KiB records, and wrote them ~5% faster.
// On a machine without glibc (Alpine's musl) GLIBC_TUNABLES is simply not read.

export const SERVER_NODE_FLAGS = Object.freeze(["--max-semi-space-size=32"]);

export const SERVER_ENV = Object.freeze({
  GLIBC_TUNABLES: "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=536870912",
});

/** The Node flags to put before a server's script: SERVER_NODE_FLAGS, less any that env's NODE_OPTIONS already sets (the operator's choice wins). */
export function serverNodeFlags(env = process.env) {
  const nodeOptions = env.NODE_OPTIONS ?? "";
  return SERVER_NODE_FLAGS.filter((flag) => !nodeOptions.includes(flag.split("=")[0]));
}

/** The environment for a server process: env, with SERVER_ENV's variables where env does not set them. */
export function serverEnv(env = process.env) {
  return { ...SERVER_ENV, ...env };
}
