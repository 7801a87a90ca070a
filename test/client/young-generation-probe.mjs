// Run by young-generation.test.ts as `node --allow-natives-syntax --expose-gc <flags that make V8
// deterministic> young-generation-probe.mjs` (the flags and why are in the test).
//
// For each hot path (decoding a batch, decoding Produce and Fetch answers, grpc-js's message
// decoder as patched by installDecoderRelease, buffering fetched bytes, acknowledging a producer
// batch, a sendBatch() result) it first keeps the path's objects alive by the hundred thousand, as
// a deep pipeline or a large prefetch does, which is what teaches V8 to allocate an object
// literal's objects straight in the old generation; then it runs the path again and counts how many
// of the fresh objects were born old. A control object literal trained alongside shows that the
// training works on this V8. Prints one JSON line: for each path, the share of fresh objects born
// old (or { controlNotPretenured } when even the control was not, three times: then this V8 no
// longer pretenures the way this guards against).
import { encodeBatch, decodeBatch } from "../../packages/records/dist/index.js";
import { installDecoderRelease, loadGrpcInternal, messageCodec } from "../../packages/protocol/dist/index.js";
import { decodeFetchResponse, decodeProduceResponse } from "../../packages/protocol/dist/session/answer-decoders.js";
import { FetchBuffer } from "../../packages/client/dist/consumer/fetch-buffer.js";
import { BatchSink, ProducerBatch, CallbackSink } from "../../packages/client/dist/producer/batch.js";

const isYoung = new Function("object", "return %InYoungGeneration(object)");
const TRAINING_OBJECTS = 150_000;
const CHECKED_RUNS = 2_000;

/** A control: an object literal, which V8 does learn to allocate old after the same training. */
const controlLiteral = (i) => ({ topic: "t", partition: 0, offset: BigInt(i), timestamp: i });

/**
 * Share of the objects `inspect` picks from fresh results of `make` that V8 allocated old, and
 * the same share for the control literal trained alongside (the same collections decide both:
 * a full GC that finds nearly everything dead makes V8 forget every such decision).
 */
function bornOldShares(make, inspect) {
  // The garbage of the path before goes now: a full GC that finds nearly all of the old
  // generation dead makes V8 drop every pretenuring decision, and must not come mid-check.
  globalThis.gc();
  const kept = [];
  for (let i = 0; i < TRAINING_OBJECTS; i++) kept.push(make(), controlLiteral(i));
  let old = 0;
  let checked = 0;
  let controlOld = 0;
  for (let i = 0; i < CHECKED_RUNS; i++) {
    for (const object of inspect(make())) {
      checked++;
      if (!isYoung(object)) old++;
    }
    if (!isYoung(controlLiteral(i))) controlOld++;
  }
  if (checked === 0) throw new Error("nothing inspected");
  if (kept.length !== 2 * TRAINING_OBJECTS) throw new Error("the trained objects must stay alive until the check is done");
  return { path: old / checked, control: controlOld / CHECKED_RUNS };
}

/** The path's share from the first of three tries in which the control was born old. */
function bornOldShare(make, inspect) {
  let last;
  for (let attempt = 0; attempt < 3; attempt++) {
    last = bornOldShares(make, inspect);
    if (last.control >= 0.9) return last.path;
  }
  return { controlNotPretenured: last.control };
}

const header = { key: "trace", value: Buffer.from("abc") };
const batchBytes = encodeBatch({ baseOffset: 0, records: [{ key: null, value: Buffer.alloc(100), timestampMs: 1_700_000_000_000, headers: [header] }] });

const fetchAnswer = messageCodec("FetchResponse").encode({
  topics: [{ topic: "t", partitions: [{ partition: 0, error: { code: "NONE", message: "" }, highWatermark: "1", lastStableOffset: "1", logStartOffset: "0", logEndOffset: "1", records: batchBytes }] }],
});
const produceAnswer = messageCodec("ProduceResponse").encode({
  topics: [{ name: "t", partitions: [{ partition: 0, error: { code: "NONE", message: "" }, baseOffset: "5", logAppendTimeMs: "-1", logStartOffset: "0" }] }],
});

if (!installDecoderRelease()) throw new Error("the grpc-js StreamDecoder patch did not install");
const { StreamDecoder } = loadGrpcInternal("stream-decoder.js");
/** fetchAnswer as gRPC frames it: an uncompressed flag, its length, itself. */
const grpcMessage = Buffer.alloc(5 + fetchAnswer.length);
grpcMessage.writeUInt32BE(fetchAnswer.length, 1);
grpcMessage.set(fetchAnswer, 5);

const paths = {
  decodeBatch: bornOldShare(
    () => decodeBatch(batchBytes).records,
    (records) => [records, ...records, ...records.map((r) => r.headers), ...records.flatMap((r) => r.headers)],
  ),
  decodeFetchResponse: bornOldShare(
    () => decodeFetchResponse(fetchAnswer),
    (answer) => [answer, answer.topics, ...answer.topics, ...answer.topics.flatMap((t) => [t.partitions, ...t.partitions, ...t.partitions.map((p) => p.error)])],
  ),
  grpcDecoderRelease: bornOldShare(
    () => {
      const decoder = new StreamDecoder(-1);
      decoder.write(grpcMessage);
      return decoder;
    },
    (decoder) => [decoder.readPartialMessage],
  ),
  decodeProduceResponse: bornOldShare(
    () => decodeProduceResponse(produceAnswer),
    (answer) => [answer, answer.topics, ...answer.topics, ...answer.topics.flatMap((t) => [t.partitions, ...t.partitions, ...t.partitions.map((p) => p.error)])],
  ),
  fetchBuffer: bornOldShare(
    () => {
      const buffer = new FetchBuffer();
      buffer.add("t-0", batchBytes);
      const chunks = buffer.partitions.get("t-0");
      return { chunks, taken: buffer.drain(10, () => true, () => 0) };
    },
    ({ chunks, taken }) => [chunks, chunks.chunks, taken, ...taken, ...taken.map((t) => t.records), ...taken.flatMap((t) => t.records)],
  ),
  producerBatch: bornOldShare(
    () => {
      const delivered = [];
      const batch = new ProducerBatch("t", 0, 0, 256);
      batch.append({ key: null, value: Buffer.alloc(100), timestampMs: 1 }, 121, new CallbackSink((error, metadata) => delivered.push(metadata), () => {}), 0);
      batch.encode("none");
      batch.succeed(5, -1);
      return { batch, delivered };
    },
    ({ batch, delivered }) => [...delivered, batch.runStarts, batch.runSinks, batch.runFirstSinkIndexes, batch.runTimestampsMs],
  ),
  sendBatchResult: bornOldShare(
    () => {
      let results;
      const sink = new BatchSink(4, (delivered) => (results = delivered), () => {});
      sink.completeRun(0, 3, "t", 0, 10, 1);
      sink.complete(3, { topic: "t", partition: 1, offset: 7n, timestamp: 1 }, null);
      return results;
    },
    (results) => [results, ...results.slice(0, 3)],
  ),
};

console.log(JSON.stringify(paths));
