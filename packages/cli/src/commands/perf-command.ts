// tributary perf produce|consume: kafka-producer-perf-test.sh / kafka-consumer-perf-test.sh.
// A progress bar on a terminal, then Kafka's summary line (or --json).
import { randomBytes } from "node:crypto";
import type { CommandModule, CommandContext } from "../cli.js";
import { CliError, UsageError } from "../errors.js";
import { formatPerfSummary, formatProgressBar, LatencyStats, type PerfResult, perfResultToJson } from "../format/perf.js";
import { writeJson, writeLines } from "../io.js";
import { InFlightLimit } from "../client/in-flight.js";
import { withSession } from "../client/session.js";
import { parseAcks } from "./console-producer.js";
import { intArg, requiredString, stringArg } from "./args.js";

/** Records sent and not yet acknowledged; the producer batches them, this only bounds memory. */
const MAX_IN_FLIGHT_RECORDS = 50_000;
const PROGRESS_INTERVAL_MS = 200;
const CONSUME_POLL_WAIT_MS = 500;

class Progress {
  private lastDrawMs = 0;
  constructor(private readonly context: CommandContext, private readonly total: number, private readonly startMs: number) {}

  update(done: number, force = false): void {
    if (!this.context.io.stderrIsTTY || this.context.json) return;
    const now = performance.now();
    if (!force && now - this.lastDrawMs < PROGRESS_INTERVAL_MS) return;
    this.lastDrawMs = now;
    this.context.io.stderr.write(`\r${formatProgressBar(done, this.total, now - this.startMs)}`);
  }

  finish(done: number): void {
    if (!this.context.io.stderrIsTTY || this.context.json) return;
    this.update(done, true);
    this.context.io.stderr.write("\n");
  }
}

async function report(context: CommandContext, result: PerfResult, verb: "sent" | "consumed"): Promise<void> {
  if (context.json) await writeJson(context.io.stdout, perfResultToJson(result));
  else await writeLines(context.io.stdout, [formatPerfSummary(result, verb)]);
}

/** Waits until sending `sent` records by `elapsedMs` keeps under `recordsPerSec` (-1: no limit). */
async function throttle(sent: number, elapsedMs: number, recordsPerSec: number): Promise<void> {
  if (recordsPerSec <= 0) return;
  const dueMs = (sent * 1000) / recordsPerSec;
  if (dueMs > elapsedMs) await new Promise((resolve) => setTimeout(resolve, dueMs - elapsedMs));
}

export const perfCommands: CommandModule = (parser, run) =>
  parser.command("perf", "Measure produce and consume throughput and latency", (perf) =>
    perf
      .command("produce", "Send N records of B bytes as fast as allowed", (y) => y
        .option("topic", { type: "string", demandOption: true })
        .option("num-records", { type: "number", demandOption: true, describe: "Records to send" })
        .option("record-size", { type: "number", default: 100, describe: "Value size in bytes" })
        .option("throughput", { type: "number", default: -1, describe: "Records/s to aim for; -1: no limit" })
        .option("acks", { type: "string", default: "all", describe: "all (-1), 1 or 0" })
        .option("linger-ms", { type: "number", describe: "Producer linger.ms" })
        .option("batch-size", { type: "number", describe: "Producer batch.size in bytes" }),
      run(async (argv, context) => {
        const topic = requiredString(argv, "topic");
        const numRecords = intArg(argv, "numRecords", "--num-records")!;
        const recordBytes = intArg(argv, "recordSize", "--record-size")!;
        const throughput = intArg(argv, "throughput")!;
        if (numRecords < 1) throw new UsageError("--num-records must be at least 1");
        if (recordBytes < 0) throw new UsageError("--record-size must not be negative");
        const acks = parseAcks(stringArg(argv, "acks"));
        const lingerMs = intArg(argv, "lingerMs", "--linger-ms");
        const batchBytes = intArg(argv, "batchSize", "--batch-size");
        // One random payload reused for every record, as Kafka's tool does: the cost measured is
        // the platform's, not the generator's.
        const payload = randomBytes(recordBytes);
        await withSession(context, `produce to ${topic}`, async (session) => {
          await session.describeTopics([topic]);
          const producer = await session.producer({ acks,
            ...(lingerMs !== undefined ? { lingerMs } : {}), ...(batchBytes !== undefined ? { batchBytes } : {}) });
          const stats = new LatencyStats(numRecords);
          const inFlight = new InFlightLimit(MAX_IN_FLIGHT_RECORDS);
          let firstError: unknown;
          const startMs = performance.now();
          const progress = new Progress(context, numRecords, startMs);
          try {
            for (let sent = 0; sent < numRecords && firstError === undefined; sent++) {
              if (context.stopSignal.aborted) break;
              await throttle(sent, performance.now() - startMs, throughput);
              await inFlight.add(() => {
                const sentAtMs = performance.now();
                return producer.send({ topic, key: null, value: payload }).then(
                  () => { stats.record(performance.now() - sentAtMs); progress.update(stats.count); },
                  (error: unknown) => { firstError ??= error; },
                );
              });
            }
            await producer.flush();
            await inFlight.idle();
          } finally {
            await producer.close();
          }
          if (firstError !== undefined) throw firstError;
          const elapsedMs = performance.now() - startMs;
          progress.finish(stats.count);
          await report(context, { records: stats.count, bytes: stats.count * recordBytes, elapsedMs, latency: stats.summary() }, "sent");
        });
      }))
      .command("consume", "Read N records and report throughput and end-to-end latency", (y) => y
        .option("topic", { type: "string", demandOption: true })
        .option("num-records", { type: "number", demandOption: true, describe: "Records to read" })
        .option("group", { type: "string", describe: "Consumer group; default: none (reads from the beginning)" })
        .option("timeout-ms", { type: "number", default: 10_000, describe: "Give up after this long with no new record" }),
      run(async (argv, context) => {
        const topic = requiredString(argv, "topic");
        const numRecords = intArg(argv, "numRecords", "--num-records")!;
        const timeoutMs = intArg(argv, "timeoutMs", "--timeout-ms")!;
        if (numRecords < 1) throw new UsageError("--num-records must be at least 1");
        await withSession(context, `consume from ${topic}`, async (session) => {
          const consumer = await session.consumer(
            { topic, groupId: stringArg(argv, "group"), fromBeginning: true, partition: undefined, offset: undefined });
          const stats = new LatencyStats(numRecords);
          let bytes = 0;
          const startMs = performance.now();
          let lastRecordMs = startMs;
          const progress = new Progress(context, numRecords, startMs);
          try {
            while (stats.count < numRecords && !context.stopSignal.aborted) {
              const records = await consumer.poll(CONSUME_POLL_WAIT_MS);
              const now = performance.now();
              if (records.length === 0) {
                if (now - lastRecordMs >= timeoutMs) break;
                continue;
              }
              lastRecordMs = now;
              const wallNowMs = Date.now();
              for (const record of records.slice(0, numRecords - stats.count)) {
                // End-to-end latency: from the producer's timestamp to now (clocks of one machine here).
                stats.record(Math.max(0, wallNowMs - record.timestampMs));
                bytes += record.value?.length ?? 0;
              }
              progress.update(stats.count);
            }
          } finally {
            await consumer.close();
          }
          progress.finish(stats.count);
          const elapsedMs = performance.now() - startMs;
          await report(context, { records: stats.count, bytes, elapsedMs, latency: stats.summary() }, "consumed");
          if (stats.count < numRecords) {
            throw new CliError(`only ${stats.count} of ${numRecords} records arrived within --timeout-ms ${timeoutMs}`,
              "produce more records first, or lower --num-records");
          }
        });
      }))
      .demandCommand(1, "name a perf command: produce or consume"),
  );
