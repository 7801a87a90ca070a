import { MetadataImage, messageCodec, type v1 } from "@tributary/protocol";
import type { Entry } from "@tributary/raft";
import { describe, expect, it } from "vitest";
import { encodeBatch } from "./metadata-records.js";
import { MetadataLog } from "./metadata-log.js";
import { MetadataStream, type MetadataStreamSink } from "./metadata-stream.js";

function topicEntry(index: number, baseOffset: number, names: string[]): Entry {
  const records: v1.MetadataRecord[] = names.map((name) => ({ topic: { name, topicId: `id-${name}` } }));
  return { index, term: 1, kind: "normal", data: encodeBatch(baseOffset, records) };
}

function newLog(retainedRecords = 1_000): MetadataLog {
  return new MetadataLog({ clusterId: "c", snapshotIntervalRecords: 1_000_000, retainedRecords, onSnapshot: () => undefined });
}

/** A sink that accepts `capacity` messages before pushing back, until drained by the test. */
class TestSink implements MetadataStreamSink {
  readonly messages: v1.StreamMetadataResponse__Output[] = [];
  private readonly codec = messageCodec<v1.StreamMetadataResponse, v1.StreamMetadataResponse__Output>("StreamMetadataResponse");
  private drain: (() => void) | null = null;
  constructor(private capacity = Infinity) {}
  write(message: v1.StreamMetadataResponse): boolean {
    this.messages.push(this.codec.decode(this.codec.encode(message))); // as the broker receives it
    return this.messages.length < this.capacity;
  }
  onDrain(callback: () => void): void {
    this.drain = callback;
  }
  release(more: number): void {
    this.capacity += more;
    const drain = this.drain;
    this.drain = null;
    drain?.();
  }
  /** The image a broker applying these messages in order would have. */
  image(): MetadataImage {
    const image = new MetadataImage();
    for (const m of this.messages) {
      if (m.snapshot) image.loadSnapshot(m.snapshot);
      if (m.batch) m.batch.records.forEach((r, i) => image.apply(Number(m.batch!.baseOffset) + i, r));
    }
    return image;
  }
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("metadata stream", () => {
  it("sends committed batches from the asked offset, then new ones as they commit, in order", async () => {
    const log = newLog();
    log.apply(topicEntry(1, 0, ["a", "b"]));
    log.apply({ index: 2, term: 1, kind: "noop", data: new Uint8Array() });
    log.apply(topicEntry(3, 2, ["c"]));
    const sink = new TestSink();
    const stream = new MetadataStream(log, { brokerId: 1, fromOffset: "1" }, sink);
    await settle();
    expect(sink.messages.map((m) => m.batch?.baseOffset)).toEqual(["1", "2"]);
    expect(sink.messages[0]!.batch!.records.map((r) => r.topic?.name)).toEqual(["b"]);
    log.apply(topicEntry(4, 3, ["d"]));
    await settle();
    expect(sink.messages.map((m) => m.batch?.baseOffset)).toEqual(["1", "2", "3"]);
    expect(sink.messages[2]!.committedOffset).toBe("3");
    stream.close();
  });

  it("starts with a snapshot when the offset is no longer kept", async () => {
    const log = newLog(2);
    for (let i = 0; i < 5; i++) log.apply(topicEntry(i + 1, i, [`t${i}`]));
    const sink = new TestSink();
    const stream = new MetadataStream(log, { brokerId: 1, fromOffset: "0" }, sink);
    await settle();
    expect(sink.messages[0]!.snapshot?.lastOffset).toBe("4");
    expect([...sink.image().topicsByName.keys()]).toEqual(["t0", "t1", "t2", "t3", "t4"]);
    stream.close();
  });

  it("stops pulling while the transport pushes back and resumes on drain without losing a batch", async () => {
    const log = newLog();
    const sink = new TestSink(2);
    const stream = new MetadataStream(log, { brokerId: 1, fromOffset: "0" }, sink);
    for (let i = 0; i < 10; i++) log.apply(topicEntry(i + 1, i, [`t${i}`]));
    await settle();
    expect(sink.messages).toHaveLength(2);
    sink.release(100);
    await settle();
    expect(sink.image().topicsByName.size).toBe(10);
    expect(sink.messages.map((m) => Number(m.batch!.baseOffset))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    stream.close();
  });

  it("waits for offsets and takes snapshots every interval of records", async () => {
    const snapshots: number[] = [];
    const log = new MetadataLog({ clusterId: "c", snapshotIntervalRecords: 3, retainedRecords: 100, onSnapshot: (index) => snapshots.push(index) });
    const waited = log.waitForOffset(3);
    log.apply(topicEntry(1, 0, ["a", "b"]));
    log.apply(topicEntry(2, 2, ["c", "d"]));
    await waited;
    await settle();
    expect(snapshots).toEqual([2]);
    const restored = newLog();
    restored.restore({ index: 2, term: 1, data: log.snapshot() });
    expect([...restored.image.topicsByName.keys()]).toEqual(["a", "b", "c", "d"]);
    expect(restored.committedOffset).toBe(3);
  });
});
