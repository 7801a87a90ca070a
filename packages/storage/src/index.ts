// @tributary/storage: The partition log engine: segments, indexes, recovery, retention and compaction.
export {};
