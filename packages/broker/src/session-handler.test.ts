// Broker.Session end to end over a real gRPC connection: the protocol package's BrokerSession
// on one side, this broker's session handler on the other, running the real produce and fetch
// handlers on a real leader log.
import * as grpc from "@grpc/grpc-js";
import { BrokerSession, encodeSessionFrame, int64, SESSION_BODY, tributaryV1, type v1 } from "@tributary/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { handleFetch } from "./fetch-handler.js";
import { encodeFetchResponse } from "./fetch-response-codec.js";
import { handleProduce } from "./produce-handler.js";
import { batchOf, records, replicaFixture, silentLog, type ReplicaFixture } from "./replicas.fixture.js";
import { type RequestAdmission, sessionHandler, sessionMethodDefinition } from "./session-handler.js";

const rawBytes = (bytes: Buffer): Buffer => bytes;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function soleLeader(): ReplicaFixture {
  const f = replicaFixture(1);
  f.apply(records.broker(1), records.topic("t", "T"), records.partition("T", 0, [1], [1], 1, 0, 0));
  f.manager.applyImage(f.image);
  // The broker's delayed-operations timer, which expires long polls at their max wait; the
  // fixture's clock is moved along with the wall clock.
  const ticker = setInterval(() => {
    f.advance(20);
    f.ctx.delayedFetch.expireDue(f.ctx.now());
  }, 20);
  cleanups.push(() => {
    clearInterval(ticker);
    return f.cleanup();
  });
  return f;
}

function countingAdmission(limit: number): RequestAdmission & { inFlight: number } {
  const admission = {
    limit,
    inFlight: 0,
    tryAdmit: () => (admission.inFlight >= limit ? false : (admission.inFlight++, true)),
    release: () => void admission.inFlight--,
  };
  return admission;
}

async function serve(f: ReplicaFixture, admission: RequestAdmission): Promise<{ server: grpc.Server; session: BrokerSession; client: v1.BrokerClient; address: string }> {
  const server = new grpc.Server();
  const service = tributaryV1().Broker.service;
  server.addService({ Session: sessionMethodDefinition(service.Session as grpc.MethodDefinition<unknown, unknown>) } as grpc.ServiceDefinition, {
    Session: sessionHandler({ produce: (r) => handleProduce(f.ctx, r), fetch: (r) => handleFetch(f.ctx, r) }, admission, silentLog),
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const address = `127.0.0.1:${port}`;
  const client = new (tributaryV1().Broker)(address, grpc.credentials.createInsecure());
  const session = new BrokerSession(client, "test broker");
  cleanups.push(() => {
    session.close();
    client.close();
    server.forceShutdown();
  });
  return { server, session, client, address };
}

const produceRequest = (batch: Buffer): Buffer =>
  Buffer.from(
    tributaryV1().Broker.service.Produce.requestSerialize({ acks: 1, timeoutMs: 1000, transactionalId: "", topics: [{ name: "t", partitions: [{ partition: 0, records: batch }] }] }),
  );
const fetchRequest = (offset: number, maxWaitMs: number): v1.FetchRequest => ({
  replicaId: -1,
  maxWaitMs,
  minBytes: 1,
  maxBytes: 1 << 20,
  topics: [{ topic: "t", partitions: [{ partition: 0, fetchOffset: int64(offset), partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1 }] }],
});

describe("Broker.Session", () => {
  it("matches answers to requests by correlation id, not by order", async () => {
    const f = soleLeader();
    const { session } = await serve(f, countingAdmission(10));
    // The fetch long-polls at the log end; the produce behind it is answered first, and its
    // append is what completes the fetch.
    const fetched = session.fetch(fetchRequest(0, 10_000), 15_000);
    let fetchDone = false;
    void fetched.then(() => (fetchDone = true));
    const produced = await session.produce(produceRequest(batchOf(3)), 5_000);
    expect(produced.topics[0]!.partitions[0]!.error?.code).toBe("NONE");
    expect(produced.topics[0]!.partitions[0]!.baseOffset).toBe("0");
    const fetchAnswer = (await fetched).topics[0]!.partitions[0]!;
    expect(fetchDone).toBe(true);
    expect(fetchAnswer.error?.code).toBe("NONE");
    expect(fetchAnswer.highWatermark).toBe("3");
    expect(fetchAnswer.records.length).toBe(batchOf(3).length);
    expect(session.inFlight).toBe(0);
  });

  it("carries a Fetch answer byte for byte as the unary call would", async () => {
    const f = soleLeader();
    const { session } = await serve(f, countingAdmission(10));
    await session.produce(produceRequest(batchOf(5)), 5_000);
    const viaSession = await session.fetch(fetchRequest(0, 0), 5_000);
    const direct = await handleFetch(f.ctx, { ...fetchRequest(0, 0), replicaEpoch: "-1", isolationLevel: 0, rackId: "" } as v1.FetchRequest__Output);
    const decode = tributaryV1().Broker.service.Fetch.responseDeserialize as (b: Buffer) => v1.FetchResponse__Output;
    expect(viaSession).toEqual(decode(encodeFetchResponse(direct)));
  });

  it("refuses a request past the broker's cap with RESOURCE_EXHAUSTED and keeps the call open", async () => {
    const f = soleLeader();
    const admission = countingAdmission(1);
    const { session } = await serve(f, admission);
    const waiting = session.fetch(fetchRequest(0, 2_000), 10_000);
    await expect(session.produce(produceRequest(batchOf(1)), 5_000)).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
    await waiting;
    const after = await session.produce(produceRequest(batchOf(1)), 5_000);
    expect(after.topics[0]!.partitions[0]!.error?.code).toBe("NONE");
    expect(admission.inFlight).toBe(0);
  });

  it("rejects what a broken call carried and opens a new call for the next request", async () => {
    const f = soleLeader();
    const { server, session } = await serve(f, countingAdmission(10));
    const waiting = session.fetch(fetchRequest(0, 10_000), 15_000);
    server.forceShutdown();
    await expect(waiting).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    // A new server on another port cannot be reached by this client; the session reports it as a failed request, not a hang.
    await expect(session.produce(produceRequest(batchOf(1)), 2_000)).rejects.toHaveProperty("code");
  });

  it("times a request out with DEADLINE_EXCEEDED, drops the stuck call, and goes on on a new one", async () => {
    const f = soleLeader();
    const { session } = await serve(f, countingAdmission(10));
    const other = session.fetch(fetchRequest(0, 5_000), 10_000);
    await expect(session.fetch(fetchRequest(0, 3_000), 200)).rejects.toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
    // What the dropped call carried fails as retriable, not by hanging until its own deadline.
    await expect(other).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    const after = await session.produce(produceRequest(batchOf(2)), 5_000);
    expect(after.topics[0]!.partitions[0]!.error?.code).toBe("NONE");
  });

  it("times out a request whose deadline comes after one answered earlier", async () => {
    const f = soleLeader();
    const { session } = await serve(f, countingAdmission(10));
    // One timer serves every deadline: it is set for the earliest, which is answered first here;
    // when it fires it must move on to the later one rather than forget it.
    const answered = session.fetch(fetchRequest(0, 0), 150);
    const waiting = session.fetch(fetchRequest(0, 5_000), 600);
    await expect(answered).resolves.toHaveProperty("topics");
    await expect(waiting).rejects.toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
  });

  it("answers an unreadable request body with INVALID_REQUEST on the same call", async () => {
    const f = soleLeader();
    const { client } = await serve(f, countingAdmission(10));
    const call = client.makeBidiStreamRequest<Buffer, Buffer>("/tributary.v1.Broker/Session", rawBytes, rawBytes);
    call.on("error", () => undefined); // the client's close at cleanup cancels the call
    const answers: Buffer[] = [];
    const gotTwo = new Promise<void>((resolve) => call.on("data", (frame: Buffer) => answers.push(frame) === 2 && resolve()));
    call.write(encodeSessionFrame(7, SESSION_BODY.produce, Buffer.from([0xff, 0xff, 0xff])));
    call.write(encodeSessionFrame(8, SESSION_BODY.produce, produceRequest(batchOf(1))));
    await gotTwo;
    call.end();
    const decode = (frame: Buffer) => (tributaryV1().Broker.service.Session.responseDeserialize as (b: Buffer) => v1.SessionResponse__Output)(frame);
    const [bad, good] = answers.map(decode);
    expect(bad).toMatchObject({ correlationId: "7", body: "error", error: { code: "INVALID_REQUEST" } });
    expect(good).toMatchObject({ correlationId: "8", body: "produce" });
  });
});
