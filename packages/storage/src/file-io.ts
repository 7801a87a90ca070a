// Small file operations shared by segments and the cleaner, with disk failures turned into
// StorageErrors (KAFKA_STORAGE_ERROR) so the broker can take the log folder offline.
import fs from "node:fs";
import { diskError } from "./errors.js";

/** Writes all of `bytes` at `position`; on failure cuts the file back to `position` (all or nothing). */
export function writeAllAt(fd: number, bytes: Buffer, position: number, filePath: string): void {
  let written = 0;
  try {
    while (written < bytes.length) {
      written += fs.writeSync(fd, bytes, written, bytes.length - written, position + written);
    }
  } catch (error) {
    // All or nothing: cut back what part of the write landed, then report the disk error.
    try {
      fs.ftruncateSync(fd, position);
    } catch {
      // The original error is the one to report.
    }
    throw diskError("cannot write", filePath, error);
  }
}

export function writeWholeFile(filePath: string, bytes: Buffer, durable: boolean): void {
  try {
    const fd = fs.openSync(filePath, "w");
    try {
      fs.writeSync(fd, bytes);
      if (durable) fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (error) {
    throw diskError("cannot write", filePath, error);
  }
}

export function fsyncFileSync(filePath: string): void {
  try {
    const fd = fs.openSync(filePath, "r");
    try {
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw diskError("cannot fsync", filePath, error);
  }
}

/** fsyncs a file by path on the thread pool; a file deleted meanwhile is fine (nothing to keep). */
export function fsyncFileAsync(filePath: string, done: () => void): void {
  fs.open(filePath, "r", (openError, fd) => {
    if (openError !== null) {
      done();
      return;
    }
    fs.fdatasync(fd, () => fs.close(fd, () => done()));
  });
}

export function readWholeFileOrNull(filePath: string): Buffer | null {
  try {
    return fs.readFileSync(filePath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw diskError("cannot read", filePath, error);
  }
}

export function removeIfPresent(filePath: string): void {
  try {
    fs.unlinkSync(filePath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}
