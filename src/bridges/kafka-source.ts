import type { Consumer, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import type { Bridge } from './bridge.js';
import type { SourceRecord } from './records.js';
import type { RecordSource } from './source.js';

/** Longest a fetch waits for records on an idle partition. */
const fetchWait = 1000;

function headersOf(headers: IHeaders | undefined): Map<string, string> {
  const map = new Map<string, string>();
  for (const [name, value] of Object.entries(headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) map.set(name.toLowerCase(), first.toString());
  }
  return map;
}

function recordOf(message: KafkaMessage): SourceRecord {
  return { value: message.value ?? undefined, headers: headersOf(message.headers) };
}

/**
 * A Kafka topic read by a consumer group (every node joins the same group, so each record goes
 * to one node). Offsets are committed by hand, after the records before them were delivered.
 */
export class KafkaRecordSource implements RecordSource {
  private consumer: Consumer | undefined;
  private running = false;

  constructor(
    private readonly bridge: Bridge,
    private readonly kafka: Kafka,
    private readonly options: { fromBeginning: boolean; sessionTimeout: number },
  ) {}

  async start(): Promise<void> {
    const { topic, group } = this.bridge.definition;
    const { fromBeginning, sessionTimeout } = this.options;
    const consumer = this.kafka.consumer({
      groupId: group,
      allowAutoTopicCreation: true,
      sessionTimeout,
      heartbeatInterval: Math.min(3000, Math.floor(sessionTimeout / 3)),
      // A stop waits for the fetch in flight; a short long-poll keeps shutdown quick.
      maxWaitTimeInMs: fetchWait,
    });
    this.consumer = consumer;
    this.running = true;
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        const active = () => this.running && isRunning() && !isStale();
        let next: string | undefined;
        try {
          for (const message of batch.messages) {
            if (!active()) break;
            await this.bridge.deliver(recordOf(message), `${batch.topic} partition ${batch.partition} offset ${message.offset}`, active, heartbeat);
            resolveOffset(message.offset);
            next = (BigInt(message.offset) + 1n).toString();
            await heartbeat();
          }
        } catch (err) {
          // Stopped or rebalanced while a record was being retried: it stays uncommitted, and whoever owns the partition next delivers it.
          if (active()) throw err;
        } finally {
          if (next !== undefined) await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
        }
      },
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.consumer?.disconnect();
  }
}
