// The numbers `perf produce|consume` report, and the words Kafka's perf tools use for them, so
// results compare line for line with kafka-producer-perf-test.sh. Pure: the caller feeds
// latencies and elapsed time; nothing here reads a clock.

/** Latencies kept for percentiles; past this many records, every n-th is kept (Kafka samples the same way). */
export const MAX_LATENCY_SAMPLES = 500_000;

export class LatencyStats {
  private readonly samplesMs: Float64Array;
  private readonly samplingStep: number;
  private sampleCount = 0;
  private recorded = 0;
  private sumMs = 0;
  private maxMs = 0;

  constructor(expectedRecords: number) {
    if (!(expectedRecords > 0)) throw new RangeError(`expectedRecords must be positive, got ${expectedRecords}`);
    this.samplingStep = Math.max(1, Math.ceil(expectedRecords / MAX_LATENCY_SAMPLES));
    this.samplesMs = new Float64Array(Math.ceil(expectedRecords / this.samplingStep));
  }

  record(latencyMs: number): void {
    if (this.recorded % this.samplingStep === 0 && this.sampleCount < this.samplesMs.length) {
      this.samplesMs[this.sampleCount++] = latencyMs;
    }
    this.recorded++;
    this.sumMs += latencyMs;
    if (latencyMs > this.maxMs) this.maxMs = latencyMs;
  }

  get count(): number {
    return this.recorded;
  }

  summary(): LatencySummary {
    const sorted = this.samplesMs.slice(0, this.sampleCount).sort();
    const at = (fraction: number): number => {
      if (sorted.length === 0) return 0;
      return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
    };
    return {
      avgMs: this.recorded === 0 ? 0 : this.sumMs / this.recorded,
      maxMs: this.maxMs,
      p50Ms: at(0.5),
      p95Ms: at(0.95),
      p99Ms: at(0.99),
      p999Ms: at(0.999),
    };
  }
}

export interface LatencySummary {
  avgMs: number;
  maxMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  p999Ms: number;
}

export interface PerfResult {
  records: number;
  bytes: number;
  elapsedMs: number;
  latency: LatencySummary;
}

export const BYTES_PER_MB = 1024 * 1024;

export function recordsPerSecond(result: Pick<PerfResult, "records" | "elapsedMs">): number {
  return result.elapsedMs <= 0 ? 0 : (result.records * 1000) / result.elapsedMs;
}

export function megabytesPerSecond(result: Pick<PerfResult, "bytes" | "elapsedMs">): number {
  return result.elapsedMs <= 0 ? 0 : (result.bytes * 1000) / result.elapsedMs / BYTES_PER_MB;
}

/**
 * Kafka's summary line: `100000 records sent, 45351.5 records/sec (4.33 MB/sec), 546.67 ms avg
 * latency, 1005.00 ms max latency, 534 ms 50th, 978 ms 95th, 1003 ms 99th, 1005 ms 99.9th.`
 */
export function formatPerfSummary(result: PerfResult, verb: "sent" | "consumed"): string {
  const l = result.latency;
  return `${result.records} records ${verb}, ${recordsPerSecond(result).toFixed(1)} records/sec ` +
    `(${megabytesPerSecond(result).toFixed(2)} MB/sec), ${l.avgMs.toFixed(2)} ms avg latency, ` +
    `${l.maxMs.toFixed(2)} ms max latency, ${Math.round(l.p50Ms)} ms 50th, ${Math.round(l.p95Ms)} ms 95th, ` +
    `${Math.round(l.p99Ms)} ms 99th, ${Math.round(l.p999Ms)} ms 99.9th.`;
}

export function perfResultToJson(result: PerfResult): Record<string, number> {
  return {
    records: result.records,
    bytes: result.bytes,
    elapsedMs: result.elapsedMs,
    recordsPerSec: recordsPerSecond(result),
    mbPerSec: megabytesPerSecond(result),
    ...Object.fromEntries(Object.entries(result.latency)),
  };
}

/** `[##########----------]  50% 50000/100000 records, 41234 records/sec` for a terminal. */
export function formatProgressBar(done: number, total: number, elapsedMs: number, widthChars = 30): string {
  const fraction = total <= 0 ? 1 : Math.min(1, done / total);
  const filled = Math.round(fraction * widthChars);
  const rate = recordsPerSecond({ records: done, elapsedMs });
  return `[${"#".repeat(filled)}${"-".repeat(widthChars - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}% ` +
    `${done}/${total} records, ${rate.toFixed(0)} records/sec`;
}
