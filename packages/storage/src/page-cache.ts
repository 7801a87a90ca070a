// Dropping a file's bytes from the OS page cache once they are on disk: posix_fadvise with
// POSIX_FADV_DONTNEED. A log uses it for bytes nobody will read soon (a follower replica's: see
// PartitionLog.setDropWrittenPages), so their pages are freed and reused by the next appends
// instead of the cache growing into memory it has not touched lately, and instead of evicting the
// pages consumers do read.
//
// Node has no binding for posix_fadvise; koffi (an FFI that ships prebuilt binaries, nothing to
// compile) calls libc's, on a worker thread. Where koffi or libc cannot be loaded (not Linux,
// not glibc), dropping is unavailable and logs keep every page, as before: a hint, never
// needed for correctness. Clean pages are dropped; a dirty page is left alone, so callers drop
// only ranges an fdatasync has completed for.
import { createRequire } from "node:module";

const POSIX_FADV_DONTNEED = 4;

type FadviseAsync = (fd: number, offset: number, length: number, advice: number, callback: (error: unknown, result: number) => void) => void;

interface Koffi {
  load(path: string): { func(signature: string): { async: FadviseAsync } };
}

/** Asks the OS to drop the cached pages of `fd` in [offset, offset + length); `done` gets the errno, 0 when dropped. */
export type DropCachedPages = (fd: number, offset: number, length: number, done: (errno: number) => void) => void;

let loaded: DropCachedPages | null | undefined;

/** posix_fadvise(DONTNEED) through koffi, or null where it cannot be had (loaded once). */
export function pageCacheDropper(): DropCachedPages | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (process.platform !== "linux") return loaded;
  try {
    const koffi = createRequire(import.meta.url)("koffi") as Koffi;
    const fadvise = koffi.load("libc.so.6").func("int posix_fadvise(int fd, int64_t offset, int64_t len, int advice)").async;
    loaded = (fd, offset, length, done) => {
      fadvise(fd, offset, length, POSIX_FADV_DONTNEED, (error, result) => done(error === null || error === undefined ? result : -1));
    };
  } catch {
    // No koffi build for this platform, or no glibc (musl names its libc differently).
  }
  return loaded;
}
