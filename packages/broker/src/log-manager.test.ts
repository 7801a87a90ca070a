// The log manager's adapter over storage: what reaches the disk.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { resolveServerConfig } from "@tributary/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { LogManager } from "./log-manager.js";
import { batchOf, silentLog } from "./replicas.fixture.js";

const HW_FILE = "high-watermark-checkpoint";

describe("LogManager high watermark checkpoints", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  function manager(dir: string): LogManager {
    const config = resolveServerConfig({ flags: { "log.dirs": dir, "node.id": "1" } }).values;
    return new LogManager([dir], config, silentLog, () => 1_000);
  }

  it("rewrites the file only when the value moved, and a reopened log reads the last value", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "log-manager-"));
    dirs.push(dir);
    const logs = manager(dir);
    const log = logs.open("t", 0, "topic-id-1", new Map());
    log.appendAsLeader(batchOf(3), 0, 1_000);
    const file = path.join(dir, "t-0", HW_FILE);

    log.checkpointHighWatermark(0); // what a missing file reads as: nothing to write
    expect(fs.existsSync(file)).toBe(false);
    log.checkpointHighWatermark(2);
    const firstInode = fs.statSync(file).ino;
    // The checkpoint is replaced by a rename, so an unchanged inode means it was not rewritten.
    log.checkpointHighWatermark(2);
    expect(fs.statSync(file).ino).toBe(firstInode);

    log.checkpointHighWatermark(3);
    expect(fs.statSync(file).ino).not.toBe(firstInode);
    log.flush();
    log.close();

    const reopened = manager(dir).open("t", 0, "topic-id-1", new Map());
    expect(reopened.checkpointedHighWatermark).toBe(3);
    reopened.close();
  });
});
