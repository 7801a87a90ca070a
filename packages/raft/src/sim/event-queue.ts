// The simulator's agenda: events ordered by simulated time, ties broken by insertion order so a
// seed always replays the same interleaving. A binary heap keeps it cheap at millions of events.

export interface SimEvent {
  readonly atMs: number;
  readonly seq: number;
  readonly run: () => void;
  cancelled: boolean;
}

export class EventQueue {
  private heap: SimEvent[] = [];
  private nextSeq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(atMs: number, run: () => void): SimEvent {
    const event: SimEvent = { atMs, seq: this.nextSeq++, run, cancelled: false };
    this.heap.push(event);
    this.siftUp(this.heap.length - 1);
    return event;
  }

  /** The earliest event that is not cancelled, or undefined. */
  pop(): SimEvent | undefined {
    while (this.heap.length > 0) {
      const top = this.heap[0]!;
      const last = this.heap.pop()!;
      if (this.heap.length > 0) {
        this.heap[0] = last;
        this.siftDown(0);
      }
      if (!top.cancelled) return top;
    }
    return undefined;
  }

  private before(a: SimEvent, b: SimEvent): boolean {
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
  }

  private siftUp(position: number): void {
    const heap = this.heap;
    while (position > 0) {
      const parent = (position - 1) >> 1;
      if (!this.before(heap[position]!, heap[parent]!)) return;
      [heap[position], heap[parent]] = [heap[parent]!, heap[position]!];
      position = parent;
    }
  }

  private siftDown(position: number): void {
    const heap = this.heap;
    for (;;) {
      const left = 2 * position + 1;
      const right = left + 1;
      let smallest = position;
      if (left < heap.length && this.before(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && this.before(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === position) return;
      [heap[position], heap[smallest]] = [heap[smallest]!, heap[position]!];
      position = smallest;
    }
  }
}
