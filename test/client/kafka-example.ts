// The seed's KafkaExample (../shared/seeds: "Kafka Consumer and Producers"), ported line for
// line to @tributary/client: Long keys and String values, five async sends printing partition
// and offset, then the same with sync sends, then a consumer poll loop with commitAsync.
// System.out goes through `out` so a test can read what it printed.
import { format } from "node:util";
import { Tributary, serializers, type Consumer, type Producer } from "../../packages/client/dist/index.js";

const TOPIC = "my-example-topic";
let BOOTSTRAP_SERVERS = process.env.TRIBUTARY_BOOTSTRAP_SERVERS ?? "localhost:9092,localhost:9093,localhost:9094";

let out: (text: string) => void = (text) => process.stdout.write(text);
/** Java's printf: %s and %d print a Long as its digits (util.format would add an "n"). */
const printf = (pattern: string, ...args: unknown[]) => out(format(pattern.replace(/%d/g, "%s"), ...args.map((a) => (typeof a === "bigint" ? a.toString() : a))));
const System = { out: { printf, println: (line: string) => out(`${line}\n`) } };

/** Kafka's CountDownLatch, awaited with a timeout. */
class CountDownLatch {
  private resolve!: () => void;
  private readonly done = new Promise<void>((resolve) => (this.resolve = resolve));
  constructor(private count: number) {
    if (count === 0) this.resolve();
  }
  countDown(): void {
    if (--this.count === 0) this.resolve();
  }
  await(timeoutMs: number): Promise<boolean> {
    return Promise.race([this.done.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs).unref())]);
  }
}

function createProducer(): Producer<bigint | null, string | null> {
  const client = new Tributary({ bootstrapServers: BOOTSTRAP_SERVERS, clientId: "KafkaExampleProducer" });
  return client.producer({ keySerializer: serializers.bigint, valueSerializer: serializers.string });
}

/** Send async records with Kafka Producer. */
async function runProducer(sendMessageCount: number): Promise<void> {
  const producer = createProducer();
  const time = BigInt(Date.now());
  const countdownLatch = new CountDownLatch(sendMessageCount);

  try {
    for (let index = time; index < time + BigInt(sendMessageCount); index++) {
      const record = { topic: TOPIC, key: index, value: "Hello Mom " + index };
      producer.send(record, (exception, metadata) => {
        const elapsedTime = BigInt(Date.now()) - time;
        if (metadata != null) {
          System.out.printf("sent record(key=%s value=%s) " + "meta(partition=%d, offset=%d) time=%d\n",
              record.key, record.value, metadata.partition,
              metadata.offset, elapsedTime);
        } else {
          console.error(exception);
        }
        countdownLatch.countDown();
      });
    }
    await countdownLatch.await(25_000);
  } finally {
    await producer.flush();
    await producer.close();
  }
}

/** Send sync records with Kafka Producer. */
async function runProducerSync(sendMessageCount: number): Promise<void> {
  const producer = createProducer();
  const time = BigInt(Date.now());

  try {
    for (let index = time; index < time + BigInt(sendMessageCount); index++) {
      const record = { topic: TOPIC, key: index, value: "Hello Mom " + index };

      const metadata = await producer.send(record);

      const elapsedTime = BigInt(Date.now()) - time;
      System.out.printf("sent record(key=%s value=%s) " + "meta(partition=%d, offset=%d) time=%d\n",
          record.key, record.value, metadata.partition,
          metadata.offset, elapsedTime);
    }
  } finally {
    await producer.flush();
    await producer.close();
  }
}

async function createConsumer(): Promise<Consumer<bigint | null, string | null>> {
  const client = new Tributary({ bootstrapServers: BOOTSTRAP_SERVERS, clientId: "KafkaExampleConsumer" });
  const consumer = client.consumer({
    groupId: "KafkaExampleConsumer",
    keyDeserializer: serializers.bigint,
    valueDeserializer: serializers.string,
    autoOffsetReset: "earliest",
  });
  await consumer.subscribe([TOPIC]);
  return consumer;
}

/** Process messages from Kafka with Consumer. */
async function runConsumer(): Promise<void> {
  const consumer = await createConsumer();

  while (true) {
    const consumerRecords = await consumer.poll(100);

    if (consumerRecords.length == 0) {
      break;
    }

    consumerRecords.forEach((record) => {
      System.out.println("Got Record: (" + record.key + ", " + record.value
          + ") at offset " + record.offset);
    });
    consumer.commitAsync();
  }
  await consumer.close();
  System.out.println("DONE");
}

export async function main(options: { bootstrapServers?: string; print?: (text: string) => void } = {}): Promise<void> {
  if (options.bootstrapServers !== undefined) BOOTSTRAP_SERVERS = options.bootstrapServers;
  if (options.print !== undefined) out = options.print;
  await runProducer(5);
  await runProducerSync(5);
  await runConsumer();
}
