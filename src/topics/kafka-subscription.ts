import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import type { AckOutcome, ReceivedMessage, SubscriptionConfig, TopicMessage } from './store.js';

/** A message of an assigned partition that is not yet acknowledged (or acknowledged above the commit point). */
interface Delivery {
  offset: number;
  message: TopicMessage;
  /** Deliveries so far. */
  attempts: number;
  /** Which delivery the current ack id names; older ack ids are expired. */
  delivery: number;
  /** When it may be handed out (again). */
  dueAt: number;
  acked: boolean;
}

interface PartitionState {
  /** In offset order. */
  deliveries: Map<number, Delivery>;
  /** The offset after the last record buffered. */
  nextOffset: number;
  /** The group's committed offset as this node last committed (or found) it. */
  committed: number;
}

export interface KafkaSubscriptionOptions {
  /** The subscription's store name. */
  name: string;
  groupId: string;
  kafkaTopic: string;
  config: SubscriptionConfig;
  sessionTimeout: number;
  /** Most messages one node holds in memory for the subscription; fetching pauses above it. */
  maxBuffered: number;
  decode(partition: number, message: KafkaMessage): TopicMessage | undefined;
  /** Something became ready: new messages were buffered. */
  onReady(): void;
  log: Logger;
}

/** Longest a fetch waits on an idle partition (also bounds how long a stop waits for it). */
const FETCH_WAIT_MS = 100;

/** What {@link KafkaSubscriptionConsumer.take} found. */
export interface Taken {
  received: ReceivedMessage[];
  /** Messages that ran out of attempts; the caller hands them over, then calls {@link KafkaSubscriptionConsumer.settleExhausted}. */
  exhausted: { message: TopicMessage; attempts: number; partition: number; offset: number }[];
}

/**
 * One node's member of a subscription's consumer group. The group assigns this node some of the
 * topic's partitions; their records are buffered here with per-message state (attempts, deadline,
 * acked), and the group's offset of a partition is committed only up to its first message not yet
 * acknowledged, so whatever was not acknowledged is fetched again after a crash or by the next
 * owner of the partition.
 */
export class KafkaSubscriptionConsumer {
  /** Distinguishes ack ids of this consumer from those of other subscriptions, seeks and restarts. */
  private readonly token = randomUUID().slice(0, 8);
  private readonly partitions = new Map<number, PartitionState>();
  private consumer: Consumer | undefined;
  private running = false;
  private buffered = 0;
  private config: SubscriptionConfig;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: KafkaSubscriptionOptions,
  ) {
    this.config = options.config;
  }

  get groupId(): string {
    return this.options.groupId;
  }

  updateConfig(config: SubscriptionConfig): void {
    this.config = config;
  }

  /** Joins the group; resolves once this node got its first assignment or `joinTimeoutMs` passed. */
  async start(joinTimeoutMs: number): Promise<void> {
    const { groupId, kafkaTopic, sessionTimeout } = this.options;
    const consumer = this.kafka.consumer({
      groupId,
      allowAutoTopicCreation: true,
      sessionTimeout,
      heartbeatInterval: Math.min(1000, Math.floor(sessionTimeout / 3)),
      maxWaitTimeInMs: FETCH_WAIT_MS,
    });
    this.consumer = consumer;
    this.running = true;
    let joined: () => void = () => {};
    const firstJoin = new Promise<void>((resolve) => (joined = resolve));
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      this.assigned(event.payload.memberAssignment[kafkaTopic] ?? []);
      joined();
    });
    await consumer.connect();
    // Only used when the group has no committed offset, which the store always sets first.
    await consumer.subscribe({ topics: [kafkaTopic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        const active = () => this.running && isRunning() && !isStale();
        const state = this.partitions.get(batch.partition);
        if (!state) return;
        for (const record of batch.messages) {
          while (active() && this.buffered >= this.options.maxBuffered) {
            await sleep(200);
            await heartbeat();
          }
          if (!active() || this.partitions.get(batch.partition) !== state) return;
          const offset = Number(record.offset);
          resolveOffset(record.offset);
          if (offset < state.nextOffset) continue;
          state.nextOffset = offset + 1;
          const message = this.options.decode(batch.partition, record);
          if (!message) continue;
          state.deliveries.set(offset, { offset, message, attempts: 0, delivery: 0, dueAt: Math.max(Date.now(), message.deliverAt ?? 0), acked: false });
          this.buffered++;
        }
        this.options.onReady();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([firstJoin, new Promise<void>((r) => (timer = setTimeout(r, joinTimeoutMs)))]);
    clearTimeout(timer);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.consumer?.disconnect().catch((err: unknown) => this.options.log.warn({ event: 'topics.kafka.consumer_stop_failed', err }, 'kafka consumer did not stop cleanly'));
    this.consumer = undefined;
    this.partitions.clear();
    this.buffered = 0;
  }

  /**
   * After a rebalance: partitions this node lost are forgotten (their next owner fetches them
   * from the committed offset); kept partitions keep their state, and records fetched again from
   * the committed offset are skipped.
   */
  private assigned(partitions: number[]): void {
    for (const [partition, state] of this.partitions) {
      if (partitions.includes(partition)) continue;
      this.buffered -= state.deliveries.size;
      this.partitions.delete(partition);
    }
    for (const partition of partitions) {
      if (!this.partitions.has(partition)) this.partitions.set(partition, { deliveries: new Map(), nextOffset: -1, committed: -1 });
    }
  }

  /** Hands out up to `max` ready messages: due ones in offset order per partition, one per ordering key at a time when ordered. */
  take(max: number, retentionMs: number): Taken {
    const now = Date.now();
    const received: ReceivedMessage[] = [];
    const exhausted: Taken['exhausted'] = [];
    const { ordered, maxDeliveryAttempts, ackDeadlineMs } = this.config;
    const blockedKeys = new Set<string>();
    for (const { partition, d } of this.inPublishOrder()) {
      if (received.length >= max) break;
      if (d.acked) continue;
      if (retentionMs > 0 && d.message.publishTime < now - retentionMs) {
        // Past the topic's retention: gone, as on the other stores, even before Kafka deletes its segment.
        d.acked = true;
        continue;
      }
      const key = ordered ? d.message.orderingKey : undefined;
      if (key !== undefined && blockedKeys.has(key)) continue;
      if (key !== undefined) blockedKeys.add(key);
      if (d.dueAt > now) continue;
      if (maxDeliveryAttempts > 0 && d.attempts >= maxDeliveryAttempts) {
        // Handed to the caller; held back until settled (settleExhausted), or handed over again after the deadline.
        d.dueAt = now + ackDeadlineMs;
        exhausted.push({ message: d.message, attempts: d.attempts, partition, offset: d.offset });
        continue;
      }
      d.attempts++;
      d.delivery++;
      d.dueAt = now + ackDeadlineMs;
      received.push({ ackId: `${this.token}.${partition}.${d.offset}.${d.delivery}`, attempt: d.attempts, message: d.message });
    }
    return { received, exhausted };
  }

  /** The held messages of every partition merged by publish time (offset order within a partition). */
  private *inPublishOrder(): Generator<{ partition: number; d: Delivery }> {
    const heads = [...this.partitions].map(([partition, state]) => ({ partition, it: state.deliveries.values(), d: undefined as Delivery | undefined }));
    for (const head of heads) head.d = head.it.next().value;
    for (;;) {
      let min: (typeof heads)[number] | undefined;
      for (const head of heads) if (head.d && (!min || head.d.message.publishTime < min.d!.message.publishTime)) min = head;
      if (!min) return;
      const d = min.d!;
      min.d = min.it.next().value;
      yield { partition: min.partition, d };
    }
  }

  /** Marks a message that ran out of attempts done, once the caller handed it over. */
  async settleExhausted(partition: number, offset: number): Promise<void> {
    const d = this.partitions.get(partition)?.deliveries.get(offset);
    if (d) d.acked = true;
    await this.commit([partition]);
  }

  private find(ackId: string): { delivery: Delivery; partition: number } | AckOutcome {
    const [token, partition, offset, delivery] = ackId.split('.');
    if (token !== this.token || partition === undefined || offset === undefined || delivery === undefined) return 'unknown';
    const d = this.partitions.get(Number(partition))?.deliveries.get(Number(offset));
    if (!d || d.acked || d.delivery === 0) return 'unknown';
    if (String(d.delivery) !== delivery) return 'expired';
    return { delivery: d, partition: Number(partition) };
  }

  async ack(ackIds: string[]): Promise<AckOutcome[]> {
    const touched = new Set<number>();
    const outcomes = ackIds.map((ackId): AckOutcome => {
      const found = this.find(ackId);
      if (typeof found === 'string') return found;
      found.delivery.acked = true;
      touched.add(found.partition);
      return 'ok';
    });
    await this.commit([...touched]);
    return outcomes;
  }

  nack(ackIds: string[], delayMs: number, notAttempted: boolean): AckOutcome[] {
    const outcomes = ackIds.map((ackId): AckOutcome => {
      const found = this.find(ackId);
      if (typeof found === 'string') return found;
      found.delivery.dueAt = Date.now() + delayMs;
      found.delivery.delivery++;
      if (notAttempted) found.delivery.attempts--;
      return 'ok';
    });
    this.options.onReady();
    return outcomes;
  }

  extend(ackIds: string[], extendMs: number): AckOutcome[] {
    return ackIds.map((ackId): AckOutcome => {
      const found = this.find(ackId);
      if (typeof found === 'string') return found;
      found.delivery.dueAt = Date.now() + extendMs;
      return 'ok';
    });
  }

  /**
   * Drops the acknowledged head of each partition and commits the group's offset at the first
   * message not yet acknowledged. A failed commit (the group is rebalancing) is retried by the next.
   */
  private async commit(partitions: number[]): Promise<void> {
    const commits: { topic: string; partition: number; offset: string }[] = [];
    for (const partition of partitions) {
      const state = this.partitions.get(partition);
      if (!state) continue;
      for (const d of state.deliveries.values()) {
        if (!d.acked) break;
        state.deliveries.delete(d.offset);
        this.buffered--;
      }
      const first = state.deliveries.values().next().value as Delivery | undefined;
      const offset = first?.offset ?? state.nextOffset;
      if (offset < 0 || offset === state.committed) continue;
      commits.push({ topic: this.options.kafkaTopic, partition, offset: String(offset) });
      state.committed = offset;
    }
    if (commits.length === 0 || !this.consumer) return;
    await this.consumer.commitOffsets(commits).catch((err: unknown) => {
      for (const c of commits) {
        const state = this.partitions.get(c.partition);
        if (state) state.committed = -1;
      }
      this.options.log.warn({ event: 'topics.kafka.commit_failed', subscription: this.options.name, err }, 'kafka offset commit failed; retried with the next acknowledgement');
    });
  }

  /** Acknowledged messages above a partition's commit point, which Kafka still counts as unconsumed. */
  ackedAboveCommit(): Map<number, number> {
    const counts = new Map<number, number>();
    for (const [partition, state] of this.partitions) {
      let n = 0;
      for (const d of state.deliveries.values()) if (d.acked) n++;
      counts.set(partition, n);
    }
    return counts;
  }

  /** Milliseconds until the next held message becomes due; 1000 when none is. */
  nextDueIn(): number {
    let next = Infinity;
    for (const state of this.partitions.values()) for (const d of state.deliveries.values()) if (!d.acked) next = Math.min(next, d.dueAt);
    return next === Infinity ? 1000 : Math.max(1, next - Date.now());
  }
}
