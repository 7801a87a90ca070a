// The record poll() returns. A class rather than an object literal: V8 learns to allocate a
// literal's objects straight in the old generation once many of them stay alive (a consumer
// working through a large prefetch), and keeps doing so when records are short-lived again
// (see @tributary/records young.ts).
import type { ConsumerRecord, ConsumerRecordHeader } from "./types.js";

export class PolledRecord<K, V> implements ConsumerRecord<K, V> {
  constructor(
    public topic: string,
    public partition: number,
    public offset: bigint,
    public key: K,
    public value: V,
    public timestamp: number,
    public headers: ConsumerRecordHeader[],
  ) {}
}
