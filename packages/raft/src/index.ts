// @tributary/raft: A Raft consensus core with no I/O, plus its LevelDB storage adapter.
export {};
