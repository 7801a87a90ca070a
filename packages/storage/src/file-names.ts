// The names of the files in a partition folder. Segment files carry their base offset as 20
// zero-padded digits (Kafka's layout), so a plain directory listing sorts them by offset.
import path from "node:path";

export const LOG_SUFFIX = ".log";
export const OFFSET_INDEX_SUFFIX = ".index";
export const TIME_INDEX_SUFFIX = ".timeindex";
export const PRODUCER_SNAPSHOT_SUFFIX = ".snapshot";
/** A segment the cleaner is still writing; deleted on recovery. */
export const CLEANED_SUFFIX = ".cleaned";
/** A cleaned segment ready to replace the ones it covers; the swap is finished on recovery. */
export const SWAP_SUFFIX = ".swap";
/** Written next to a checkpoint, then renamed over it. */
export const TEMP_SUFFIX = ".tmp";

export const CLEAN_SHUTDOWN_FILE = "clean-shutdown";
export const LEADER_EPOCH_CHECKPOINT_FILE = "leader-epoch-checkpoint";
export const HIGH_WATERMARK_CHECKPOINT_FILE = "high-watermark-checkpoint";
export const RECOVERY_POINT_CHECKPOINT_FILE = "recovery-point-checkpoint";
export const LOG_START_OFFSET_CHECKPOINT_FILE = "log-start-offset-checkpoint";
export const CLEANER_CHECKPOINT_FILE = "cleaner-offset-checkpoint";

const OFFSET_DIGITS = 20;

export function offsetFileStem(offset: number): string {
  return String(offset).padStart(OFFSET_DIGITS, "0");
}

export function segmentFilePath(dir: string, baseOffset: number, suffix: string): string {
  return path.join(dir, offsetFileStem(baseOffset) + suffix);
}

/** The offset a file is named by, or null when the name is not `<20 digits><suffix>`. */
export function offsetFromFileName(name: string, suffix: string): number | null {
  if (!name.endsWith(suffix)) return null;
  const stem = name.slice(0, name.length - suffix.length);
  if (stem.length !== OFFSET_DIGITS || !/^[0-9]+$/.test(stem)) return null;
  const offset = Number(stem);
  return Number.isSafeInteger(offset) ? offset : null;
}
