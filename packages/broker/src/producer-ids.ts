// InitProducerId: hands idempotent producers ids from blocks the controller allocates
// (AllocateProducerIds), one block at a time, and bumps the epoch of a known id on request.
import { TributaryError, int64, int64ToNumber, throwIfError, type v1 } from "@tributary/protocol";
import type { ControllerClient } from "./controller-client.js";

const MAX_PRODUCER_EPOCH = 32_767;

export class ProducerIdManager {
  private next = 0;
  private end = 0;
  private refill: Promise<void> | undefined;

  constructor(
    private readonly controllers: ControllerClient,
    private readonly brokerId: number,
    private readonly brokerEpoch: () => number,
  ) {}

  async handle(request: v1.InitProducerIdRequest__Output): Promise<v1.InitProducerIdResponse> {
    try {
      if (request.transactionalId) throw new TributaryError("UNSUPPORTED_VERSION", "transactions are not supported yet; leave transactional.id unset");
      const existingId = int64ToNumber(request.producerId);
      // A known producer bumps its epoch (it restarts its sequences at 0); the log fences older epochs.
      if (existingId >= 0 && request.producerEpoch >= 0 && request.producerEpoch < MAX_PRODUCER_EPOCH) {
        return { error: { code: "NONE", message: "" }, producerId: int64(existingId), producerEpoch: request.producerEpoch + 1 };
      }
      return { error: { code: "NONE", message: "" }, producerId: int64(await this.nextId()), producerEpoch: 0 };
    } catch (error) {
      const typed = error instanceof TributaryError ? error : new TributaryError("COORDINATOR_NOT_AVAILABLE", (error as Error).message);
      return { error: typed.toResponse(), producerId: "-1", producerEpoch: -1 };
    }
  }

  private async nextId(): Promise<number> {
    while (this.next >= this.end) {
      this.refill ??= this.allocate().finally(() => { this.refill = undefined; });
      await this.refill;
    }
    return this.next++;
  }

  private async allocate(): Promise<void> {
    const response = await this.controllers.call("AllocateProducerIds", { brokerId: this.brokerId, brokerEpoch: int64(this.brokerEpoch()) });
    throwIfError(response.error, "AllocateProducerIds");
    this.next = int64ToNumber(response.producerIdStart);
    this.end = this.next + response.producerIdLen;
  }
}
