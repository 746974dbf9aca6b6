import { randomUUID } from 'node:crypto';
import { SwitchboardError } from '../protocol/errors.js';
import { MemoryMetadataStore } from './memory-metadata.js';
import { Waiters } from './waiters.js';
import {
  type AckOutcome,
  type AppendResult,
  type NackOptions,
  type NewTopicMessage,
  type PullOptions,
  type ReceivedMessage,
  type SeekTarget,
  type SubscriptionConfig,
  type SubscriptionStats,
  type TopicConfig,
  type TopicMessage,
  type TopicStats,
  type TopicStore,
  type TopicStoreListener,
  type TopicStoreOptions,
} from './store.js';

interface StoredMessage {
  seq: number;
  message: TopicMessage;
  bytes: number;
}

interface MemoryTopic {
  config: TopicConfig;
  /** The retained log; `log[i].seq === firstSeq + i`. */
  log: StoredMessage[];
  firstSeq: number;
  nextSeq: number;
  bytes: number;
  idempotency: Map<string, { result: AppendResult; expiresAt: number }>;
}

/** A message of a subscription that was handed out (or scheduled) and is not yet acknowledged. */
interface Pending {
  attempts: number;
  /** Which delivery the current ack id names; older ack ids are expired. */
  delivery: number;
  /** When it may be handed out (again). */
  dueAt: number;
}

interface MemorySubscription {
  config: SubscriptionConfig;
  /** The next message never handed out. */
  cursor: number;
  pending: Map<number, Pending>;
  /** Changes on seek, so ack ids from before it are unknown. */
  generation: number;
}

/**
 * Topics in this process's memory: the default store. Everything (messages, subscriptions,
 * applications) is lost when the process ends, and nodes do not share it.
 */
export class MemoryTopicStore implements TopicStore {
  readonly kind = 'memory' as const;
  readonly metadata = new MemoryMetadataStore();
  private readonly topics = new Map<string, MemoryTopic>();
  private readonly subscriptions = new Map<string, MemorySubscription>();
  private readonly waiters = new Waiters();
  private listener: TopicStoreListener = {};
  private retentionTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: TopicStoreOptions) {}

  async start(listener: TopicStoreListener = {}): Promise<void> {
    this.listener = listener;
    this.retentionTimer ??= setInterval(() => this.enforceRetention(), 250);
    this.retentionTimer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.retentionTimer);
    this.retentionTimer = undefined;
    this.waiters.wakeAll();
  }

  async ensureTopic(name: string, config: TopicConfig): Promise<void> {
    const topic = this.topics.get(name);
    if (topic) topic.config = { ...config, partitions: 1 };
    else this.topics.set(name, { config: { ...config, partitions: 1 }, log: [], firstSeq: 1, nextSeq: 1, bytes: 0, idempotency: new Map() });
  }

  async deleteTopic(name: string): Promise<void> {
    this.topics.delete(name);
  }

  async append(topicName: string, messages: NewTopicMessage[]): Promise<AppendResult[]> {
    const topic = this.topic(topicName);
    const now = Date.now();
    const results = messages.map((input): AppendResult => {
      const key = input.idempotencyKey;
      if (key !== undefined) {
        const seen = topic.idempotency.get(key);
        if (seen && seen.expiresAt > now) return { ...seen.result, duplicate: true };
      }
      const seq = topic.nextSeq++;
      const message: TopicMessage = {
        id: randomUUID(),
        position: String(seq),
        data: input.data,
        attributes: { ...input.attributes },
        publishTime: now,
        ...(input.orderingKey !== undefined && { orderingKey: input.orderingKey }),
        ...(input.deliverAt !== undefined && { deliverAt: input.deliverAt }),
      };
      const bytes = Buffer.byteLength(JSON.stringify(message));
      topic.log.push({ seq, message, bytes });
      topic.bytes += bytes;
      const result = { id: message.id, position: message.position, duplicate: false };
      if (key !== undefined) topic.idempotency.set(key, { result, expiresAt: now + this.options.idempotencyWindowMs });
      return result;
    });
    this.trim(topic, now);
    this.waiters.wake(topicName);
    return results;
  }

  async read(topicName: string, opts: { from?: SeekTarget; limit: number }): Promise<TopicMessage[]> {
    const topic = this.topic(topicName);
    const start = opts.from ? this.seqOf(topic, opts.from) : topic.firstSeq;
    return topic.log.slice(Math.max(0, start - topic.firstSeq), Math.max(0, start - topic.firstSeq) + opts.limit).map((s) => s.message);
  }

  async ensureSubscription(name: string, config: SubscriptionConfig): Promise<void> {
    const topic = this.topic(config.topic);
    const existing = this.subscriptions.get(name);
    if (existing) existing.config = config;
    else this.subscriptions.set(name, { config, cursor: topic.nextSeq, pending: new Map(), generation: 1 });
  }

  async deleteSubscription(name: string): Promise<void> {
    this.subscriptions.delete(name);
  }

  async pull(name: string, opts: PullOptions): Promise<ReceivedMessage[]> {
    const deadline = Date.now() + opts.waitMs;
    for (;;) {
      const sub = this.subscription(name);
      const got = await this.take(name, sub, opts.maxMessages);
      const left = deadline - Date.now();
      if (got.length > 0 || left <= 0 || opts.signal?.aborted) return got;
      await this.waiters.wait(sub.config.topic, Math.min(left, this.nextDueIn(sub)), opts.signal);
    }
  }

  async ack(name: string, ackIds: string[]): Promise<AckOutcome[]> {
    const sub = this.subscription(name);
    return ackIds.map((ackId) => this.settle(sub, ackId, (seq) => sub.pending.delete(seq)));
  }

  async nack(name: string, ackIds: string[], delayMs: number, opts: NackOptions = {}): Promise<AckOutcome[]> {
    const sub = this.subscription(name);
    const outcomes = ackIds.map((ackId) =>
      this.settle(sub, ackId, (_seq, pending) => {
        pending.dueAt = Date.now() + delayMs;
        pending.delivery++;
        if (opts.notAttempted) pending.attempts--;
      }),
    );
    this.waiters.wake(sub.config.topic);
    return outcomes;
  }

  async extend(name: string, ackIds: string[], extendMs: number): Promise<AckOutcome[]> {
    const sub = this.subscription(name);
    return ackIds.map((ackId) => this.settle(sub, ackId, (_seq, pending) => (pending.dueAt = Date.now() + extendMs)));
  }

  async seek(name: string, target: SeekTarget): Promise<void> {
    const sub = this.subscription(name);
    sub.cursor = this.seqOf(this.topic(sub.config.topic), target);
    sub.pending.clear();
    sub.generation++;
    this.waiters.wake(sub.config.topic);
  }

  async subscriptionStats(name: string): Promise<SubscriptionStats> {
    const sub = this.subscription(name);
    const topic = this.topics.get(sub.config.topic);
    if (!topic) return { unacked: 0, oldestUnackedAgeMs: 0 };
    const now = Date.now();
    let unacked = 0;
    let oldest = Infinity;
    for (const seq of sub.pending.keys()) {
      const stored = topic.log[seq - topic.firstSeq];
      if (!stored) continue;
      unacked++;
      oldest = Math.min(oldest, stored.message.publishTime);
    }
    const fromIndex = Math.max(0, sub.cursor - topic.firstSeq);
    unacked += Math.max(0, topic.log.length - fromIndex);
    const atCursor = topic.log[fromIndex];
    if (atCursor) oldest = Math.min(oldest, atCursor.message.publishTime);
    return { unacked, oldestUnackedAgeMs: oldest === Infinity ? 0 : now - oldest };
  }

  async topicStats(name: string): Promise<TopicStats> {
    const topic = this.topic(name);
    return { messages: topic.log.length, bytes: topic.bytes };
  }

  private topic(name: string): MemoryTopic {
    const topic = this.topics.get(name);
    if (!topic) throw new SwitchboardError('not_found', `no topic ${name}`);
    return topic;
  }

  private subscription(name: string): MemorySubscription {
    const sub = this.subscriptions.get(name);
    if (!sub) throw new SwitchboardError('not_found', `no subscription ${name}`);
    return sub;
  }

  private seqOf(topic: MemoryTopic, target: SeekTarget): number {
    if ('position' in target) {
      const seq = Number(target.position);
      if (!Number.isSafeInteger(seq) || seq < 1) throw new SwitchboardError('bad_request', `not a position of this store: ${target.position}`);
      return Math.max(seq, topic.firstSeq);
    }
    return topic.log.find((s) => s.message.publishTime >= target.time)?.seq ?? topic.nextSeq;
  }

  /** Hands out up to `max` ready messages: due pending ones first (in log order), then new ones. */
  private async take(name: string, sub: MemorySubscription, max: number): Promise<ReceivedMessage[]> {
    const topic = this.topics.get(sub.config.topic);
    if (!topic) return [];
    const now = Date.now();
    // New messages enter `pending` first (due now, or at their delivery time), so the ordering
    // check and the delivery below see one list. Delayed ones do not count towards `max`.
    let readyTaken = 0;
    for (let i = Math.max(0, sub.cursor - topic.firstSeq); i < topic.log.length && readyTaken < max; i++) {
      const stored = topic.log[i]!;
      const dueAt = Math.max(now, stored.message.deliverAt ?? 0);
      if (dueAt === now) readyTaken++;
      sub.pending.set(stored.seq, { attempts: 0, delivery: 0, dueAt });
      sub.cursor = stored.seq + 1;
    }
    const blockedKeys = new Set<string>();
    const out: ReceivedMessage[] = [];
    const seqs = [...sub.pending.keys()].sort((a, b) => a - b);
    for (const seq of seqs) {
      if (out.length >= max) break;
      const pending = sub.pending.get(seq)!;
      const stored = topic.log[seq - topic.firstSeq];
      if (!stored) {
        sub.pending.delete(seq);
        continue;
      }
      const key = sub.config.ordered ? stored.message.orderingKey : undefined;
      if (key !== undefined && blockedKeys.has(key)) continue;
      if (key !== undefined) blockedKeys.add(key);
      if (pending.dueAt > now) continue;
      if (sub.config.maxDeliveryAttempts > 0 && pending.attempts >= sub.config.maxDeliveryAttempts) {
        // Not handed out or over again while the owner dead-letters it; if that fails, after the deadline.
        pending.dueAt = now + sub.config.ackDeadlineMs;
        await this.listener.exhausted?.({
          subscription: name,
          topic: sub.config.topic,
          deadLetterTopic: sub.config.deadLetterTopic,
          message: stored.message,
          attempts: pending.attempts,
        });
        sub.pending.delete(seq);
        if (key !== undefined) blockedKeys.delete(key);
        continue;
      }
      pending.attempts++;
      pending.delivery++;
      pending.dueAt = now + sub.config.ackDeadlineMs;
      if (pending.attempts > 1) this.listener.redelivered?.(name, sub.config.topic);
      out.push({ ackId: `${sub.generation}.${seq}.${pending.delivery}`, attempt: pending.attempts, message: stored.message });
    }
    return out;
  }

  private settle(sub: MemorySubscription, ackId: string, action: (seq: number, pending: Pending) => void): AckOutcome {
    const [generation, seq, delivery] = ackId.split('.').map(Number);
    if (generation !== sub.generation || seq === undefined || delivery === undefined) return 'unknown';
    const pending = sub.pending.get(seq);
    if (!pending || pending.delivery === 0) return 'unknown';
    if (pending.delivery !== delivery) return 'expired';
    action(seq, pending);
    return 'ok';
  }

  private nextDueIn(sub: MemorySubscription): number {
    let next = Infinity;
    for (const pending of sub.pending.values()) next = Math.min(next, pending.dueAt);
    return next === Infinity ? 1000 : Math.max(1, next - Date.now());
  }

  private enforceRetention(): void {
    const now = Date.now();
    for (const topic of this.topics.values()) {
      this.trim(topic, now);
      for (const [key, seen] of topic.idempotency) if (seen.expiresAt <= now) topic.idempotency.delete(key);
    }
  }

  private trim(topic: MemoryTopic, now: number): void {
    const { retentionMs, retentionBytes } = topic.config;
    let drop = 0;
    while (drop < topic.log.length) {
      const stored = topic.log[drop]!;
      const tooOld = retentionMs > 0 && stored.message.publishTime < now - retentionMs;
      const tooBig = retentionBytes > 0 && topic.bytes > retentionBytes;
      if (!tooOld && !tooBig) break;
      topic.bytes -= stored.bytes;
      drop++;
    }
    if (drop === 0) return;
    topic.log.splice(0, drop);
    topic.firstSeq += drop;
  }
}
