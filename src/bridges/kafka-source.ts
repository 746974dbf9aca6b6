import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import { Backoff } from '../backends/backoff.js';
import { committedOffsets, partitionRanges } from '../kafka/partition-log.js';
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

/** How long a starting node keeps trying to fix the group's starting positions (rebalances make commits fail meanwhile). */
const startPositionsTimeout = 60_000;
const startPositionsRetry = 500;
/** Waits before a consumer that kafkajs gave up on is replaced by a new one. */
const restartPolicy = { initial: 500, max: 10_000, jitter: 'half' } as const;

/**
 * A Kafka topic read by a consumer group (every node joins the same group, so each record goes
 * to one node). Offsets are committed by hand, after the records before them were delivered.
 *
 * A partition the group has no committed offset for would start wherever its next owner resolves
 * `latest`: records written before that (while its first owner died, or while the group
 * rebalanced at start) would be skipped. So once joined, and before it reports itself started, a
 * node commits the starting position (the end of the partition, or its start with `earliest`) of
 * every partition that has none yet; from then on each partition resumes where the group left it.
 *
 * kafkajs stops a consumer for good on some errors it deems final (a rebalance reported from inside
 * a commit is one); the source then starts a new consumer, which joins the group again.
 */
export class KafkaRecordSource implements RecordSource {
  private consumer: Consumer | undefined;
  private running = false;
  private readonly restarts = new Backoff(restartPolicy);
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly bridge: Bridge,
    private readonly kafka: Kafka,
    private readonly options: { fromBeginning: boolean; sessionTimeout: number },
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.running = true;
    await this.startConsumer();
  }

  private async startConsumer(): Promise<void> {
    const { topic, group } = this.bridge.definition;
    const { fromBeginning, sessionTimeout } = this.options;
    // A consumer replaced after a failed start may still be connected.
    await this.consumer?.disconnect().catch(() => {});
    const consumer = this.kafka.consumer({
      groupId: group,
      allowAutoTopicCreation: true,
      sessionTimeout,
      heartbeatInterval: Math.min(3000, Math.floor(sessionTimeout / 3)),
      // A stop waits for the fetch in flight; a short long-poll keeps shutdown quick.
      maxWaitTimeInMs: fetchWait,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart && this.running && this.consumer === consumer) this.scheduleRestart(payload.error);
    });
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
          // Refused while the group rebalances: the records stay uncommitted and are delivered again by the partition's next owner.
          if (next !== undefined) await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]).catch(() => {});
        }
      },
    });
    await this.commitStartingPositions(consumer);
    this.restarts.reset();
  }

  private scheduleRestart(cause: Error): void {
    const delay = this.restarts.next();
    this.log.warn({ event: 'bridge.consumer_restart', bridge: this.bridge.name, err: cause.message, retryInMs: delay }, 'Kafka consumer stopped; starting a new one');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.running) return;
      this.startConsumer().catch((err: Error) => {
        if (this.running) this.scheduleRestart(err);
      });
    }, delay);
  }

  /** Commits the starting position of every partition of the topic the group has no offset for. */
  private async commitStartingPositions(consumer: Consumer): Promise<void> {
    const { topic, group } = this.bridge.definition;
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const deadline = Date.now() + startPositionsTimeout;
      for (;;) {
        try {
          // The ends are read before the committed offsets: a node that races this one and commits in
          // between has read ends at least as far, so this commit can only move a partition back (a
          // record delivered twice), never past a record written after that node started.
          const ranges = await partitionRanges(admin, topic);
          const committed = await committedOffsets(admin, group, topic);
          const missing = ranges.filter((range) => !committed.has(range.partition));
          if (missing.length > 0) {
            await consumer.commitOffsets(missing.map((range) => ({ topic, partition: range.partition, offset: String(this.options.fromBeginning ? range.low : range.high) })));
          }
          return;
        } catch (err) {
          // The group is (re)balancing: the commit is refused until this member has joined the new generation.
          if (!this.running || Date.now() > deadline) throw err;
          await sleep(startPositionsRetry);
        }
      }
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.restartTimer);
    await this.consumer?.disconnect();
  }
}
