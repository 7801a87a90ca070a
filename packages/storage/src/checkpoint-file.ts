// Small text checkpoint files (Kafka's format: a version line, then the payload lines), replaced
// atomically: written to `<name>.tmp`, optionally fsynced, then renamed over the old one. A
// reader therefore sees the old or the new content, never half of one, even after kill -9.
import fs from "node:fs";
import path from "node:path";
import { TEMP_SUFFIX } from "./file-names.js";

const CHECKPOINT_VERSION = "0";

export class CheckpointFormatError extends Error {
  override readonly name = "CheckpointFormatError";
}

/**
 * Replaces the checkpoint with `lines`. `durable` fsyncs the file and its folder, so the new
 * content also survives a machine crash; without it, it survives a process crash.
 */
export function writeCheckpointLines(filePath: string, lines: readonly string[], durable: boolean): void {
  const tempPath = filePath + TEMP_SUFFIX;
  const text = [CHECKPOINT_VERSION, ...lines].join("\n") + "\n";
  const fd = fs.openSync(tempPath, "w");
  try {
    fs.writeSync(fd, text);
    if (durable) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tempPath, filePath);
  if (durable) fsyncFolder(path.dirname(filePath));
}

/** The payload lines, or null when the file does not exist. Throws CheckpointFormatError on bad content. */
export function readCheckpointLines(filePath: string): string[] | null {
  let text: string;
  try {
    text = fs.readFileSync(filePath, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  if (!text.endsWith("\n")) throw new CheckpointFormatError(`${filePath} does not end with a newline`);
  const lines = text.slice(0, -1).split("\n");
  if (lines[0] !== CHECKPOINT_VERSION) throw new CheckpointFormatError(`${filePath} has version ${lines[0]}, expected ${CHECKPOINT_VERSION}`);
  return lines.slice(1);
}

export function writeOffsetCheckpoint(filePath: string, offset: number, durable: boolean): void {
  writeCheckpointLines(filePath, [String(offset)], durable);
}

export function readOffsetCheckpoint(filePath: string): number | null {
  const lines = readCheckpointLines(filePath);
  if (lines === null) return null;
  if (lines.length !== 1) throw new CheckpointFormatError(`${filePath} should hold one offset, has ${lines.length} lines`);
  return parseOffset(lines[0]!, filePath);
}

export function parseOffset(text: string, where: string): number {
  if (!/^-?[0-9]+$/.test(text)) throw new CheckpointFormatError(`${where}: "${text}" is not an integer`);
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new CheckpointFormatError(`${where}: ${text} is not a safe integer`);
  return value;
}

/** Makes file creations, renames and deletions in a folder durable. */
export function fsyncFolder(dir: string): void {
  fsyncFile(dir);
}

/** fsyncs what is at `filePath` (a file, or a folder: see fsyncFolder). */
export function fsyncFile(filePath: string): void {
  const fd = fs.openSync(filePath, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
