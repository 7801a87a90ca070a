// @tributary/broker: The broker process: produce, fetch, replication and group coordination.
export {};
