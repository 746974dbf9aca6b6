import { randomUUID } from 'node:crypto';
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, StorageType, type ConsumerConfig, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { connectNats, type NatsSettings } from '../backends/nats.js';
import { SwitchboardError, unavailableError } from '../protocol/errors.js';
import {
  type AckOutcome,
  type AppendResult,
  type MetadataStore,
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
import { NatsMetadataStore } from './nats-metadata.js';
import { isNotFound, NANOS, safePrefix, startPolicy, OPERATION_TIMEOUT, parseAckSubject, pullRequest, type AckSubject } from './nats-jetstream.js';
import { PublishAcks } from './nats-publish-acks.js';
import { SubscriptionRecords, type SubscriptionRecord } from './nats-subscription-records.js';

/** Delivered-but-unacknowledged messages one (unordered) subscription may have at a time. */
const MAX_ACK_PENDING = 20_000;
/** The message body as stored in the stream; position and publish time come from JetStream. */
interface StoredBody {
  id: string;
  data: unknown;
  attributes: Record<string, string>;
  orderingKey?: string;
  deliverAt?: number;
}

/**
 * NATS JetStream: one stream per topic (retention from max_age and max_bytes, idempotency from the
 * stream's duplicate window and `Nats-Msg-Id`), one durable pull consumer per subscription (explicit
 * acks, AckWait = ack deadline, redelivery by the server, `-NAK` with delay, `+WPI` to extend; an
 * ordered subscription is one with MaxAckPending 1). Attempts and dead-lettering are counted here
 * from the consumer's delivery count, since JetStream's MaxDeliver only stops redelivery. A delayed
 * message pulled before its time is given back with a NAK delay to its delivery time; that
 * deferral, like a nack with `notAttempted`, is remembered in a KV bucket so it does not count as
 * an attempt.
 */
export class NatsTopicStore implements TopicStore {
  readonly kind = 'nats' as const;
  readonly metadata: MetadataStore;
  private readonly base: string;
  private nc: NatsConnection | undefined;
  private js!: JetStreamClient;
  private jsm!: JetStreamManager;
  private subsKv!: KV;
  private deferralsKv!: KV;
  private metaKv!: KV;
  private listener: TopicStoreListener = {};
  private readonly records = new SubscriptionRecords((name) => this.run(() => this.subsKv.get(name)));
  private readonly aborts = new Set<AbortController>();
  private acks: PublishAcks | undefined;
  constructor(
    private readonly connection: NatsSettings & { prefix: string },
    private readonly options: TopicStoreOptions,
  ) {
    this.base = safePrefix(connection.prefix);
    this.metadata = new NatsMetadataStore(() => this.metaKv);
  }

  async start(listener: TopicStoreListener = {}): Promise<void> {
    this.listener = listener;
    if (this.nc) return;
    try {
      const nc = await connectNats(this.connection, { name: 'switchboard-topics', timeout: OPERATION_TIMEOUT });
      this.nc = nc;
      this.js = jetstream(nc, { timeout: OPERATION_TIMEOUT });
      this.jsm = await jetstreamManager(nc, { timeout: OPERATION_TIMEOUT });
      const kvm = new Kvm(this.js);
      this.subsKv = await kvm.create(`${this.base}_topic_subscriptions`, { history: 1, storage: StorageType.File });
      this.metaKv = await kvm.create(`${this.base}_topic_metadata`, { history: 1, storage: StorageType.File });
      this.deferralsKv = await kvm.create(`${this.base}_topic_deferrals`, { history: 1, storage: StorageType.File, ttl: 30 * 24 * 3600_000 });
      this.acks = new PublishAcks(nc);
    } catch (err) {
      await this.nc?.close().catch(() => {});
      this.nc = undefined;
      throw unavailableError('nats', err);
    }
  }

  async close(): Promise<void> {
    for (const abort of this.aborts) abort.abort();
    this.acks?.close();
    await this.nc?.drain().catch(() => {});
    this.nc = undefined;
  }

  private streamName(topic: string): string {
    return `${this.base}_topic_${topic}`;
  }

  private subject(topic: string): string {
    return `${this.base}.topic.${topic}`;
  }

  private consumerName(sub: string, generation: number): string {
    return `${sub}-g${generation}`;
  }

  private async run<T>(command: () => Promise<T>, notFound?: string): Promise<T> {
    if (!this.nc) throw unavailableError('nats', new Error('not connected'));
    try {
      return await command();
    } catch (err) {
      if (notFound && isNotFound(err)) throw new SwitchboardError('not_found', notFound);
      throw unavailableError('nats', err);
    }
  }

  async ensureTopic(name: string, config: TopicConfig): Promise<void> {
    const maxAge = config.retentionMs * NANOS;
    // JetStream wants the duplicate window within max_age.
    const window = Math.min(this.options.idempotencyWindowMs * NANOS, maxAge || Infinity);
    const limits = { max_age: maxAge, max_bytes: config.retentionBytes || -1, duplicate_window: window };
    await this.run(async () => {
      try {
        const info = await this.jsm.streams.info(this.streamName(name));
        await this.jsm.streams.update(this.streamName(name), { ...info.config, ...limits });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        await this.jsm.streams.add({ name: this.streamName(name), subjects: [this.subject(name)], storage: StorageType.File, ...limits });
      }
    });
  }

  async deleteTopic(name: string): Promise<void> {
    await this.run(() => this.jsm.streams.delete(this.streamName(name)), `no topic ${name}`).catch((err: unknown) => {
      if (!(err instanceof SwitchboardError && err.code === 'not_found')) throw err;
    });
  }

  private publish(subject: string, payload: string, msgId: string | undefined): Promise<{ seq: number; duplicate: boolean }> {
    if (!this.nc || !this.acks) return Promise.reject(unavailableError('nats', new Error('not connected')));
    return this.acks.publish(subject, payload, msgId);
  }

  async append(topic: string, messages: NewTopicMessage[]): Promise<AppendResult[]> {
    const publishes = messages.map(async (m): Promise<AppendResult> => {
      const body: StoredBody = { id: randomUUID(), data: m.data, attributes: { ...m.attributes } };
      if (m.orderingKey !== undefined) body.orderingKey = m.orderingKey;
      if (m.deliverAt !== undefined) body.deliverAt = m.deliverAt;
      const ack = await this.publish(this.subject(topic), JSON.stringify(body), m.idempotencyKey);
      if (!ack.duplicate) return { id: body.id, position: String(ack.seq), duplicate: false };
      const original = await this.jsm.streams.getMessage(this.streamName(topic), { seq: ack.seq });
      return { id: original ? original.json<StoredBody>().id : body.id, position: String(ack.seq), duplicate: true };
    });
    try {
      return await Promise.all(publishes);
    } catch (err) {
      if (err instanceof Error && /no responders|503|not enabled/i.test(err.message)) {
        const exists = await this.topicExists(topic);
        if (!exists) throw new SwitchboardError('not_found', `no topic ${topic}`);
      }
      throw unavailableError('nats', err);
    }
  }

  private async topicExists(topic: string): Promise<boolean> {
    return this.run(() => this.jsm.streams.info(this.streamName(topic)).then(() => true), `no topic ${topic}`).catch((err: unknown) => {
      if (err instanceof SwitchboardError && err.code === 'not_found') return false;
      throw err;
    });
  }

  async read(topic: string, opts: { from?: SeekTarget; limit: number }): Promise<TopicMessage[]> {
    const policy = startPolicy(opts.from);
    const stream = this.streamName(topic);
    const consumer = await this.run(() => this.js.consumers.get(stream, policy), `no topic ${topic}`);
    try {
      const pending = (await this.run(() => consumer.info(true))).num_pending;
      const wanted = Math.min(opts.limit, pending);
      if (wanted === 0) return [];
      const out: TopicMessage[] = [];
      const iter = await this.run(() => consumer.fetch({ max_messages: wanted, expires: 2000 }));
      for await (const m of iter) {
        out.push(this.toMessage(m.data, String(m.seq), Math.floor(m.info.timestampNanos / NANOS)));
        if (out.length >= wanted) break;
      }
      return out;
    } finally {
      await consumer.delete().catch(() => {});
    }
  }

  private toMessage(data: Uint8Array, position: string, publishTime: number): TopicMessage {
    const body = JSON.parse(Buffer.from(data).toString('utf8')) as StoredBody;
    return { ...body, position, publishTime };
  }

  private consumerConfig(name: string, record: SubscriptionRecord): Partial<ConsumerConfig> {
    const { config } = record;
    return {
      durable_name: this.consumerName(name, record.generation),
      ack_policy: AckPolicy.Explicit,
      ack_wait: config.ackDeadlineMs * NANOS,
      max_deliver: -1,
      max_ack_pending: config.ordered ? 1 : MAX_ACK_PENDING,
      filter_subject: this.subject(config.topic),
    };
  }

  async ensureSubscription(name: string, config: SubscriptionConfig): Promise<void> {
    const stream = this.streamName(config.topic);
    const existing = await this.records.get(name).catch(() => undefined);
    const record: SubscriptionRecord = { config, generation: existing?.generation ?? 1 };
    await this.run(async () => {
      if (existing) {
        const { ack_wait, max_ack_pending } = this.consumerConfig(name, record);
        await this.jsm.consumers.update(stream, this.consumerName(name, record.generation), { ack_wait, max_ack_pending });
      } else {
        await this.jsm.consumers.add(stream, { ...this.consumerConfig(name, record), deliver_policy: DeliverPolicy.New });
      }
      await this.subsKv.put(name, JSON.stringify(record));
    }, `no topic ${config.topic}`);
    this.records.remember(name, record);
  }

  async deleteSubscription(name: string): Promise<void> {
    const record = await this.records.get(name).catch(() => undefined);
    if (!record) return;
    await this.run(() => this.jsm.consumers.delete(this.streamName(record.config.topic), this.consumerName(name, record.generation))).catch(() => {});
    await this.run(() => this.subsKv.delete(name));
    this.records.forget(name);
  }

  async pull(name: string, opts: PullOptions): Promise<ReceivedMessage[]> {
    const deadline = Date.now() + opts.waitMs;
    const abort = new AbortController();
    const onAbort = () => abort.abort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    this.aborts.add(abort);
    try {
      for (;;) {
        const record = await this.records.get(name);
        const stream = this.streamName(record.config.topic);
        const consumer = this.consumerName(name, record.generation);
        // First what is ready; when nothing is, wait for one message, then top up without waiting.
        const noWait = !record.config.ordered;
        let { msgs, missing } = await pullRequest(this.nc, stream, consumer, opts.maxMessages, 0, noWait, abort.signal);
        const left = deadline - Date.now();
        if (msgs.length === 0 && !missing && left > 0 && !abort.signal.aborted) {
          ({ msgs, missing } = await pullRequest(this.nc, stream, consumer, 1, left, noWait, abort.signal));
          if (msgs.length > 0 && opts.maxMessages > 1 && noWait && !abort.signal.aborted)
            msgs.push(...(await pullRequest(this.nc, stream, consumer, opts.maxMessages - 1, 0, noWait, abort.signal)).msgs);
        }
        if (missing) {
          await this.records.get(name, true);
          if (Date.now() >= deadline || abort.signal.aborted) return [];
          continue;
        }
        const got = await this.deliverable(name, record, msgs);
        if (got.length > 0 || Date.now() >= deadline || abort.signal.aborted) return got;
      }
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      this.aborts.delete(abort);
    }
  }

  /** Turns raw deliveries into received messages: defers early delayed ones, dead-letters exhausted ones. */
  private async deliverable(name: string, record: SubscriptionRecord, msgs: Msg[]): Promise<ReceivedMessage[]> {
    const out: ReceivedMessage[] = [];
    const now = Date.now();
    for (const msg of msgs) {
      const info = parseAckSubject(msg.reply ?? '');
      if (!info) continue;
      const message = this.toMessage(msg.data, String(info.seq), Math.floor(info.timeNanos / NANOS));
      const deferralKey = `${info.consumer}.${info.seq}`;
      const deferrals = info.delivered > 1 ? await this.deferrals(deferralKey) : 0;
      if (message.deliverAt !== undefined && message.deliverAt > now) {
        await this.run(() => this.deferralsKv.put(deferralKey, String(deferrals + 1)));
        msg.respond(`-NAK ${JSON.stringify({ delay: (message.deliverAt - now) * NANOS })}`);
        continue;
      }
      const attempt = info.delivered - deferrals;
      const { maxDeliveryAttempts, deadLetterTopic, topic } = record.config;
      if (maxDeliveryAttempts > 0 && attempt > maxDeliveryAttempts) {
        // Until it is terminated the server redelivers it after AckWait, so a failed hand-over is retried.
        await this.listener.exhausted?.({ subscription: name, topic, deadLetterTopic, message, attempts: attempt - 1 });
        await this.settleOne(msg.reply!, '+TERM');
        continue;
      }
      if (attempt > 1) this.listener.redelivered?.(name, record.config.topic);
      out.push({ ackId: `${deferrals > 0 ? 'd' : 'n'}${msg.reply!}`, attempt, message });
    }
    return out;
  }

  /** Deliveries of a message that did not count as attempts (early delayed ones, and nacks with `notAttempted`). */
  private async deferrals(key: string): Promise<number> {
    const entry = await this.run(() => this.deferralsKv.get(key));
    return entry && entry.operation === 'PUT' && entry.length > 0 ? Number(entry.string()) : 0;
  }

  /** Sends an ack-protocol verb and waits for the server's confirmation; 'unknown' when no consumer answers. */
  private async settleOne(subject: string, verb: string): Promise<AckOutcome> {
    const nc = this.nc;
    if (!nc) throw unavailableError('nats', new Error('not connected'));
    try {
      await nc.request(subject, verb, { timeout: OPERATION_TIMEOUT });
      return 'ok';
    } catch (err) {
      if (err instanceof Error && /no responders|503/i.test(err.message)) return 'unknown';
      throw unavailableError('nats', err);
    }
  }

  private async settle(
    name: string,
    ackIds: string[],
    verb: string,
    afterOk?: (info: AckSubject, deferred: boolean) => Promise<void>,
    before?: (info: AckSubject) => Promise<void>,
  ): Promise<AckOutcome[]> {
    const record = await this.records.get(name);
    const stream = this.streamName(record.config.topic);
    const consumer = this.consumerName(name, record.generation);
    return Promise.all(
      ackIds.map(async (ackId) => {
        const subject = ackId.slice(1);
        const info = parseAckSubject(subject);
        if (!info || info.stream !== stream || info.consumer !== consumer || !['d', 'n'].includes(ackId[0] ?? '')) return 'unknown';
        if (before) await before(info);
        const outcome = await this.settleOne(subject, verb);
        if (outcome === 'ok' && afterOk) await afterOk(info, ackId[0] === 'd');
        return outcome;
      }),
    );
  }

  async ack(name: string, ackIds: string[]): Promise<AckOutcome[]> {
    return this.settle(name, ackIds, '+ACK', async (info, deferred) => {
      if (deferred) await this.run(() => this.deferralsKv.delete(`${info.consumer}.${info.seq}`));
    });
  }

  async nack(name: string, ackIds: string[], delayMs: number, opts: NackOptions = {}): Promise<AckOutcome[]> {
    const verb = delayMs > 0 ? `-NAK ${JSON.stringify({ delay: delayMs * NANOS })}` : '-NAK';
    if (!opts.notAttempted) return this.settle(name, ackIds, verb);
    // Counted before the NAK, so the redelivery it allows already sees it.
    return this.settle(name, ackIds, verb, undefined, async (info) => {
      const key = `${info.consumer}.${info.seq}`;
      const deferrals = await this.deferrals(key);
      await this.run(() => this.deferralsKv.put(key, String(deferrals + 1)));
    });
  }

  /** `+WPI` restarts the delivery's AckWait: the extension is always one full ack deadline. */
  async extend(name: string, ackIds: string[]): Promise<AckOutcome[]> {
    return this.settle(name, ackIds, '+WPI');
  }

  async seek(name: string, target: SeekTarget): Promise<void> {
    const policy = startPolicy(target);
    const record = await this.records.get(name, true);
    const stream = this.streamName(record.config.topic);
    const next: SubscriptionRecord = { config: record.config, generation: record.generation + 1 };
    await this.run(async () => {
      await this.jsm.consumers.add(stream, { ...this.consumerConfig(name, next), ...policy });
      await this.subsKv.put(name, JSON.stringify(next));
      await this.jsm.consumers.delete(stream, this.consumerName(name, record.generation)).catch(() => {});
    });
    this.records.remember(name, next);
  }

  async subscriptionStats(name: string): Promise<SubscriptionStats> {
    const record = await this.records.get(name);
    const stream = this.streamName(record.config.topic);
    const info = await this.run(() => this.jsm.consumers.info(stream, this.consumerName(name, record.generation)), `no subscription ${name}`);
    const unacked = info.num_pending + info.num_ack_pending;
    if (unacked === 0) return { unacked: 0, oldestUnackedAgeMs: 0 };
    const streamInfo = await this.run(() => this.jsm.streams.info(stream));
    const seq = Math.max(info.ack_floor.stream_seq + 1, streamInfo.state.first_seq);
    const oldest = await this.run(() => this.jsm.streams.getMessage(stream, { seq })).catch(() => null);
    return { unacked, oldestUnackedAgeMs: oldest ? Math.max(0, Date.now() - oldest.time.getTime()) : 0 };
  }

  async topicStats(topic: string): Promise<TopicStats> {
    const info = await this.run(() => this.jsm.streams.info(this.streamName(topic)), `no topic ${topic}`);
    return { messages: info.state.messages, bytes: info.state.bytes };
  }
}
