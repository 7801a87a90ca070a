// Three controllers as separate processes: the quorum survives kill -9 of its leader, a
// restarted controller catches up, and a kill -9 of every controller loses nothing committed.
import { afterAll, describe, expect, it } from "vitest";
import {
  type ClusterSpec,
  ControllerClients,
  type ControllerProcess,
  clusterSpec,
  kill9,
  pollUntil,
  removeDirs,
  startControllerProcess,
  stopGracefully,
} from "./support.js";

describe("a 3-controller quorum under kill -9", () => {
  let spec: ClusterSpec;
  let clients: ControllerClients;
  const running = new Map<number, ControllerProcess>();

  const start = async (id: number): Promise<void> => {
    running.set(id, await startControllerProcess(spec, id));
  };

  afterAll(async () => {
    clients?.close();
    for (const proc of running.values()) await kill9(proc);
    if (spec) removeDirs(spec);
  });

  const registerAndUnfence = async (brokerId: number): Promise<void> => {
    const reg = await clients.write<{ error: { code: string; message: string }; brokerEpoch: string }>(
      "RegisterBroker", { brokerId, incarnationId: `broker-${brokerId}-${Date.now()}`, listeners: [{ host: "127.0.0.1", port: 9092 }] }, (r) => r.error,
    );
    await clients.write<{ error: { code: string; message: string }; isFenced: boolean }>(
      "BrokerHeartbeat", { brokerId, brokerEpoch: reg.brokerEpoch, currentMetadataOffset: reg.brokerEpoch }, (r) => r.error,
    );
  };

  const WHILE_DOWN = ["while-down-0", "while-down-1", "while-down-2", "while-down-3", "while-down-4"];
  const topicNames = (image: { topicsByName: Map<string, unknown> }): string[] => [...image.topicsByName.keys()].sort();

  it("elects a new leader after the old one is killed, catches up a restarted node, and keeps every committed write", async () => {
    // A long session so the test broker stays unfenced across every failover here; snapshots
    // every few records so restarts load a snapshot and the restarted node may be sent one.
    spec = await clusterSpec(3, { "broker.session.timeout.ms": "120000", "metadata.log.max.snapshot.interval.records": "3" });
    await Promise.all(spec.nodeIds.map(start));
    clients = new ControllerClients(spec);
    const firstLeader = await pollUntil("a leader all controllers agree on", 20_000, () => clients.leader());
    await registerAndUnfence(1);
    expect((await clients.createTopic("before-kill")).topics[0]!.error.code).toBe("NONE");

    await kill9(running.get(firstLeader)!);
    running.delete(firstLeader);
    const survivors = spec.nodeIds.filter((id) => id !== firstLeader);
    const secondLeader = await pollUntil("a new leader among the survivors", 20_000, async () => {
      const leader = await clients.leader(survivors);
      return leader !== undefined && leader !== firstLeader ? leader : undefined;
    });
    expect(survivors).toContain(secondLeader);
    for (let i = 0; i < 5; i++) expect((await clients.createTopic(`while-down-${i}`, 1, 1)).topics[0]!.error.code).toBe("NONE");
    expect((await clients.createTopic("after-kill", 1, 1)).topics[0]!.error.code).toBe("NONE");

    // The leader's DescribeQuorum gives each voter's log end as Raft's progress tracking knows
    // it: the live follower's reaches the commit index; the killed one, not heard from this
    // term, is -1 (unknown) in both log end and last contact.
    const otherSurvivor = survivors.find((id) => id !== secondLeader)!;
    const quorumView = async (): Promise<{ commitIndex: number; voters: Map<number, { logEndOffset: number; lastContactMsAgo: number }> }> => {
      const answer = await clients.call<{ commitIndex: string; voters: { nodeId: number; logEndOffset: string; lastContactMsAgo: string }[] }>(secondLeader, "DescribeQuorum", {});
      return {
        commitIndex: Number(answer.commitIndex),
        voters: new Map(answer.voters.map((v) => [v.nodeId, { logEndOffset: Number(v.logEndOffset), lastContactMsAgo: Number(v.lastContactMsAgo) }])),
      };
    };
    const whileDown = await pollUntil("the leader's view of the live follower at the commit index", 10_000, async () => {
      const view = await quorumView();
      return view.voters.get(otherSurvivor)!.logEndOffset >= view.commitIndex ? view : undefined;
    });
    expect(whileDown.voters.get(secondLeader)!.logEndOffset).toBeGreaterThanOrEqual(whileDown.commitIndex);
    expect(whileDown.voters.get(otherSurvivor)!.lastContactMsAgo).toBeGreaterThanOrEqual(0);
    expect(whileDown.voters.get(firstLeader)).toEqual({ logEndOffset: -1, lastContactMsAgo: -1 });

    // The killed controller comes back on its old data dir and catches up with what it missed.
    await start(firstLeader);
    const caughtUp = await clients.streamImage(firstLeader, (image) => image.topicsByName.has("after-kill"));
    expect(topicNames(caughtUp)).toEqual(["after-kill", "before-kill", ...WHILE_DOWN]);
    await pollUntil("the leader's view of the restarted voter at the commit index", 10_000, async () => {
      const view = await quorumView();
      const restarted = view.voters.get(firstLeader)!;
      return restarted.logEndOffset >= whileDown.commitIndex && restarted.lastContactMsAgo >= 0 ? true : undefined;
    });
    // A follower answers writes with NOT_CONTROLLER and the leader's id and address.
    const follower = spec.nodeIds.find((id) => id !== secondLeader)!;
    const redirected = await clients.call<{ topics: { error: { code: string } }[]; controller: { nodeId: number; endpoint: { port: number } } }>(
      follower, "CreateTopics", { topics: [{ name: "via-follower", numPartitions: 1, replicationFactor: 1 }] },
    );
    expect(redirected.topics[0]!.error.code).toBe("NOT_CONTROLLER");
    expect(redirected.controller.nodeId).toBe(secondLeader);
    expect(redirected.controller.endpoint.port).toBe(spec.ports.get(secondLeader));

    // kill -9 every controller, then restart them all: nothing committed is lost.
    for (const proc of running.values()) await kill9(proc);
    running.clear();
    await Promise.all(spec.nodeIds.map(start));
    await pollUntil("a leader after the full restart", 20_000, () => clients.leader());
    expect((await clients.createTopic("after-restart", 1, 1)).topics[0]!.error.code).toBe("NONE");
    for (const id of spec.nodeIds) {
      const image = await clients.streamImage(id, (img) => img.topicsByName.has("after-restart"));
      expect(topicNames(image)).toEqual(["after-kill", "after-restart", "before-kill", ...WHILE_DOWN]);
      expect(image.brokers.get(1)?.fenced).toBe(false);
    }
    // A clean stop (SIGTERM) exits 0, the leader handing over its leadership first, and ends
    // the metadata streams brokers hold open rather than waiting for them.
    const streams = spec.nodeIds.map((id) => {
      const call = (clients.client(id) as unknown as { StreamMetadata(r: object): NodeJS.EventEmitter }).StreamMetadata({ brokerId: 1, fromOffset: "0" });
      const flowing = new Promise<void>((resolve) => call.once("data", () => resolve()));
      call.on("data", () => undefined);
      const ended = new Promise<void>((resolve) => {
        call.on("error", () => resolve());
        call.on("end", () => resolve());
      });
      return { flowing, ended };
    });
    await Promise.all(streams.map((s) => s.flowing));
    const streamsEnded = streams.map((s) => s.ended);
    for (const proc of running.values()) {
      const code = await stopGracefully(proc);
      expect(code, proc.output.join("").slice(-3000)).toBe(0);
    }
    running.clear();
    await Promise.all(streamsEnded);
  });
});
