// Which old segments retention deletes: a pure decision over the segments' sizes, ages and
// offsets. Only whole segments go, always the oldest first, never the active one, and never a
// segment holding offsets at or past the high watermark (consumers have not been allowed to
// read it yet, so it is not "old"). Three reasons, as in Kafka:
//   - log start:  the segment lies wholly below the log start offset (DeleteRecords moved it);
//   - time:       its newest batch is older than retention.ms (policy includes delete);
//   - size:       the log is over retention.bytes by at least this segment (policy includes delete).

export interface RetainedSegment {
  readonly baseOffset: number;
  readonly sizeBytes: number;
  /** Newest batch timestamp, or -1 when no batch carries one (then `lastModifiedMs` stands in). */
  largestTimestampMs(): number;
  lastModifiedMs(): number;
}

export interface RetentionInputs {
  nowMs: number;
  logStartOffset: number;
  highWatermark: number;
  /** False for cleanup.policy=compact: only the log start rule applies. */
  deleteByTimeAndSize: boolean;
  retentionMs: number;
  retentionBytes: number;
}

export type RetentionReason = "log-start" | "time" | "size";

/** How many of the oldest segments to delete, and why each goes. */
export function planRetention(segments: readonly RetainedSegment[], inputs: RetentionInputs): RetentionReason[] {
  const totalBytes = segments.reduce((sum, segment) => sum + segment.sizeBytes, 0);
  let excessBytes = inputs.deleteByTimeAndSize && inputs.retentionBytes >= 0 ? totalBytes - inputs.retentionBytes : Number.NEGATIVE_INFINITY;
  const reasons: RetentionReason[] = [];
  for (let i = 0; i + 1 < segments.length; i++) {
    const segment = segments[i]!;
    const nextBaseOffset = segments[i + 1]!.baseOffset;
    if (nextBaseOffset > inputs.highWatermark) break;
    const reason = reasonToDelete(segment, nextBaseOffset, excessBytes, inputs);
    if (reason === null) break;
    reasons.push(reason);
    excessBytes -= segment.sizeBytes;
  }
  return reasons;
}

function reasonToDelete(segment: RetainedSegment, nextBaseOffset: number, excessBytes: number, inputs: RetentionInputs): RetentionReason | null {
  if (nextBaseOffset <= inputs.logStartOffset) return "log-start";
  if (!inputs.deleteByTimeAndSize) return null;
  if (inputs.retentionMs >= 0) {
    const largest = segment.largestTimestampMs();
    const newestMs = largest >= 0 ? largest : segment.lastModifiedMs();
    if (inputs.nowMs - newestMs > inputs.retentionMs) return "time";
  }
  if (excessBytes - segment.sizeBytes >= 0) return "size";
  return null;
}
