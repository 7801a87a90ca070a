// Objects made once per record or per request on the SDK's hot paths are made in ways V8 never
// "pretenures" (allocates straight into the old generation).
//
// V8 decides that per allocation site: each object or array literal in the source and each
// `new Array()`. When most objects from a site survive young-generation collections (a burst of
// records in flight: a producer pipelining hundreds of thousands of them, a consumer's
// prefetch), every later object from that site is allocated old, and V8 takes that back only
// after a full GC that finds almost everything old dead, which a process with a working set
// rarely sees. From then on each record's object is born old and dies there, and until the next
// full GC it still points into the young generation, so what it referred to (key and value
// views, a promise's resolvers, the frame a request carried) survives every scavenge and gets
// promoted in turn. Measured in `pnpm bench:client`: after the throughput phases, the steady
// 5,000 records/s phase promoted ~1.8 MB per scavenge (~0.06 MB once nothing was born old) and
// ran a full GC every 1-3 s (none in its 10 s after); its p99 went from 6.7-17 ms to 3.5-4.5 ms
// in most runs. The price: objects a burst keeps alive are now copied by scavenges instead of
// being born where they end up, ~5-10% more client CPU per record in the throughput phases.
//
// Instances of classes (`new C(...)`) and arrays made by builtins (Array() called as a function,
// map, slice) have no allocation site, so they are always born young. Hence: per-record and
// per-request objects are class instances, and their arrays come from youngArray() or
// youngArrayOfLength(). Objects made once (a client, a consumer) need none of this.
// test/client/young-generation.test.ts trains V8 as a burst would and checks that the hot
// paths' objects are still born young.

/** A new empty array that V8 allocates in the young generation whatever the past (see above). */
export function youngArray<T>(): T[] {
  // Array() called as a function, not `new Array()` (which V8 can pretenure) nor `[]`. It is
  // also the cheapest way to an empty array here: ~8 ns, against ~20 ns for a slice() of an
  // empty array and ~100 ns for Array.of() (Node 20, measured).
  return Array<T>();
}

/** A new array of `length` empty slots, to fill by index; born young like youngArray()'s. */
export function youngArrayOfLength<T>(length: number): T[] {
  return Array<T>(length);
}
