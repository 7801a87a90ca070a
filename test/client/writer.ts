// A background writer for process tests: sends `value = sequence` records in small batches
// until stopped, and keeps every acknowledged (partition, offset, value).
import type { Producer } from "../../packages/client/dist/index.js";

export interface Writer {
  readonly acked: Array<[number, number, string]>;
  /** Errors sendBatch raised (each is a batch that was not acknowledged). */
  readonly errors: Error[];
  stop(): Promise<Array<[number, number, string]>>;
}

export function startWriter(producer: Producer<string | null, string | null>, topic: string, recordsPerBatch = 20, pauseMs = 10): Writer {
  const acked: Array<[number, number, string]> = [];
  const errors: Error[] = [];
  let running = true;
  let sequence = 0;
  const loop = (async () => {
    while (running) {
      const batch = Array.from({ length: recordsPerBatch }, () => ({ topic, key: `k${sequence % 97}`, value: String(sequence++) }));
      try {
        const metas = await producer.sendBatch(batch);
        metas.forEach((m, i) => acked.push([m.partition, Number(m.offset), batch[i]!.value]));
      } catch (error) {
        errors.push(error as Error);
      }
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  })();
  return {
    acked,
    errors,
    async stop() {
      running = false;
      await loop;
      return acked;
    },
  };
}
