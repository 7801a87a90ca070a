// The leader's side of one incremental fetch session (Kafka's KIP-227), which lives as long as
// the Broker.Session call carrying it. A follower fetches every partition it follows from this
// leader in each request, and at low linger it fetches twice per produced batch; most of those
// partitions (the ~50 of __consumer_offsets, say) are idle, and listing, encoding, decoding and
// answering each of them every time was more than half of a small produce's cost. In a session
// the follower lists only what changed, and is answered only about what changed.
//
// Pure: the session handler calls begin() with each request (getting the whole request to run
// through the ordinary Fetch handler, so every partition is still read, still long-polled on,
// and still moves the follower's position, HW and ISR bookkeeping) and finish() with its answer.
import { TributaryError, type v1 } from "@tributary/protocol";

interface SessionPartition {
  topic: string;
  fetch: v1.FetchPartition__Output;
  /** Where `fetch` sits in the unfolded request, so a changed position is updated in place. */
  unfoldedList?: v1.FetchPartition__Output[];
  unfoldedIndex?: number;
}

/** What the follower was last told about a partition; a change means it is answered again. */
interface Answered {
  code: unknown;
  highWatermark: unknown;
  lastStableOffset: unknown;
  logStartOffset: unknown;
}

// The fetch handler answers int64 fields as the log's numbers, so === compares them without
// turning each into a string (this runs for every partition of the session on every fetch).
// Another representation (a string, a Long) only ever compares unequal: an extra answer, not a lost one.
function sameAnswer(before: Answered | undefined, p: v1.FetchPartitionResponse): boolean {
  return before !== undefined && before.code === (p.error?.code ?? "NONE") && before.highWatermark === p.highWatermark
    && before.lastStableOffset === p.lastStableOffset && before.logStartOffset === p.logStartOffset;
}

const keyOf = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class IncrementalFetchSession {
  /** The session's partitions, in the order they were first added. */
  private readonly partitions = new Map<string, SessionPartition>();
  private readonly lastAnswered = new Map<string, Answered>();
  /** The session's partitions as a request's topics; rebuilt only when partitions come or go. */
  private unfolded: { topic: string; partitions: v1.FetchPartition__Output[] }[] | undefined;
  private epoch = 0;
  private inFlight = false;

  /**
   * The request to run: `request`'s partitions over the session's. Epoch 1 starts the session
   * again from this request alone; epoch n continues it only after n - 1. One fetch at a time.
   */
  begin(request: v1.FetchRequest__Output): v1.FetchRequest__Output {
    const epoch = request.sessionEpoch;
    if (this.inFlight) throw new TributaryError("INVALID_REQUEST", "an incremental fetch is already in progress on this session");
    if (epoch !== 1 && epoch !== this.epoch + 1) {
      // The follower's view and ours differ (a lost answer, a refused request): it starts over.
      const last = this.epoch;
      this.epoch = 0;
      throw new TributaryError("INVALID_FETCH_SESSION_EPOCH", `fetch session epoch ${epoch} does not follow ${last}; send a full fetch (epoch 1)`);
    }
    if (epoch === 1) {
      this.partitions.clear();
      this.lastAnswered.clear();
      this.unfolded = undefined;
    }
    for (const topic of request.forgotten) {
      for (const p of topic.partitions) {
        const key = keyOf(topic.topic, p.partition);
        if (this.partitions.delete(key)) this.unfolded = undefined;
        this.lastAnswered.delete(key);
      }
    }
    for (const topic of request.topics) {
      for (const p of topic.partitions) {
        const key = keyOf(topic.topic, p.partition);
        const known = this.partitions.get(key);
        if (known === undefined) {
          this.partitions.set(key, { topic: topic.topic, fetch: p });
          this.unfolded = undefined;
        } else {
          known.fetch = p;
          if (known.unfoldedList !== undefined) known.unfoldedList[known.unfoldedIndex!] = p;
        }
        // A partition the follower changed is answered in full next, whatever we told it before.
        this.lastAnswered.delete(key);
      }
    }
    this.epoch = epoch;
    this.inFlight = true;
    return { ...request, sessionEpoch: 0, forgotten: [], topics: this.unfoldedTopics() };
  }

  private unfoldedTopics(): { topic: string; partitions: v1.FetchPartition__Output[] }[] {
    if (this.unfolded !== undefined) return this.unfolded;
    const byTopic = new Map<string, v1.FetchPartition__Output[]>();
    for (const entry of this.partitions.values()) {
      let list = byTopic.get(entry.topic);
      if (list === undefined) byTopic.set(entry.topic, (list = []));
      entry.unfoldedList = list;
      entry.unfoldedIndex = list.length;
      list.push(entry.fetch);
    }
    this.unfolded = [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
    return this.unfolded;
  }

  /** The answer to send: partitions with records, an error, a divergence, or a changed HW / log start. */
  finish(response: v1.FetchResponse): v1.FetchResponse {
    this.inFlight = false;
    if (response.error !== undefined && response.error !== null && response.error.code !== "NONE") {
      // A whole-request refusal (a stale broker epoch): nothing was answered, so nothing is assumed.
      this.epoch = 0;
      return response;
    }
    const topics: v1.FetchTopicResponse[] = [];
    for (const topic of response.topics ?? []) {
      const partitions: v1.FetchPartitionResponse[] = [];
      for (const p of topic.partitions ?? []) {
        const key = keyOf(topic.topic ?? "", p.partition ?? 0);
        const changed = (p.records?.length ?? 0) > 0 || p.divergingEpoch || !sameAnswer(this.lastAnswered.get(key), p);
        if (!changed) continue;
        this.lastAnswered.set(key, { code: p.error?.code ?? "NONE", highWatermark: p.highWatermark, lastStableOffset: p.lastStableOffset, logStartOffset: p.logStartOffset });
        partitions.push(p);
      }
      if (partitions.length > 0) topics.push({ ...topic, partitions });
    }
    return { ...response, topics };
  }

  /** The fetch failed before it was answered: the follower will start over. */
  abandon(): void {
    this.inFlight = false;
    this.epoch = 0;
  }

  get partitionCount(): number {
    return this.partitions.size;
  }
}
