import { randomUUID } from 'node:crypto';
import { createInbox, headers, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, JetStreamApiError, jetstream, jetstreamManager, StorageType, type ConsumerConfig, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { connectNats, type NatsSettings } from '../backends/nats.js';
import { SwitchboardError, unavailableError } from '../protocol/errors.js';
import {
  type AckOutcome,
  type AppendResult,
  type MetadataKind,
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


/** Longest any NATS request may take before it fails with `unavailable`. */
const OPERATION_TIMEOUT = 5000;
/** Delivered-but-unacknowledged messages one (unordered) subscription may have at a time. */
const MAX_ACK_PENDING = 20_000;
const NANOS = 1_000_000;
/** How long a node trusts a subscription record it read (settings and seek generation). */
const RECORD_TTL_MS = 2000;
/** Expiry of a pull request that only collects what is ready now. */
const IMMEDIATE_EXPIRY_MS = 20;

/** The message body as stored in the stream; position and publish time come from JetStream. */
interface StoredBody {
  id: string;
  data: unknown;
  attributes: Record<string, string>;
  orderingKey?: string;
  deliverAt?: number;
}

/** What the store keeps per subscription in its registry bucket. */
interface SubscriptionRecord {
  config: SubscriptionConfig;
  /** Bumped by every seek: the consumer is `<name>-g<generation>`, so older ack ids reach no consumer. */
  generation: number;
}

function isNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && (err.code === 404 || /not found/i.test(err.message));
}

function safePrefix(prefix: string): string {
  return prefix.replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '') || 'switchboard';
}

/** Fields of a JetStream ack subject (`$JS.ACK.[domain.hash.]stream.consumer.delivered.sseq.cseq.ts.pending`). */
function parseAckSubject(subject: string): { stream: string; consumer: string; delivered: number; seq: number; timeNanos: number } | undefined {
  const tokens = subject.split('.');
  if (tokens.length === 9) tokens.splice(2, 0, '_', '');
  if (tokens.length < 11 || tokens[0] !== '$JS' || tokens[1] !== 'ACK') return undefined;
  const [delivered, seq, , time] = tokens.slice(6, 10).map(Number) as [number, number, number, number];
  // The timestamp (ns) is beyond 2^53; it is only needed to the millisecond.
  if (![delivered, seq].every(Number.isSafeInteger) || !Number.isFinite(time)) return undefined;
  return { stream: tokens[4]!, consumer: tokens[5]!, delivered, seq, timeNanos: time };
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
  /** Subscription records read from the registry bucket, trusted for RECORD_TTL_MS (another node may change or seek them). */
  private readonly records = new Map<string, { record: SubscriptionRecord; readAt: number }>();
  private readonly aborts = new Set<AbortController>();
  /** Publishes waiting for their JetStream ack, by the last token of their reply subject. */
  private readonly pendingAcks = new Map<string, { resolve: (ack: { seq: number; duplicate: boolean }) => void; reject: (err: Error) => void; expiresAt: number }>();
  private ackInbox = '';
  private ackCounter = 0;
  private ackTimer: NodeJS.Timeout | undefined;

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
      this.ackInbox = createInbox();
      nc.subscribe(`${this.ackInbox}.*`, {
        callback: (err, msg) => {
          if (!err) this.onPublishAck(msg);
        },
      });
      this.ackTimer = setInterval(() => this.expireAcks(), 1000);
      this.ackTimer.unref();
    } catch (err) {
      await this.nc?.close().catch(() => {});
      this.nc = undefined;
      throw unavailableError('nats', err);
    }
  }

  async close(): Promise<void> {
    for (const abort of this.aborts) abort.abort();
    clearInterval(this.ackTimer);
    this.expireAcks(Infinity);
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

  /**
   * Publishes to a stream and resolves with its ack. All publishes share one wildcard reply
   * subscription instead of a request each: several times the throughput of one request per message.
   */
  private publishAcked(subject: string, payload: string, msgId: string | undefined): Promise<{ seq: number; duplicate: boolean }> {
    const nc = this.nc;
    if (!nc) return Promise.reject(unavailableError('nats', new Error('not connected')));
    const token = String(++this.ackCounter);
    return new Promise((resolve, reject) => {
      this.pendingAcks.set(token, { resolve, reject, expiresAt: Date.now() + OPERATION_TIMEOUT });
      let h;
      if (msgId !== undefined) {
        h = headers();
        h.set('Nats-Msg-Id', msgId);
      }
      nc.publish(subject, payload, { reply: `${this.ackInbox}.${token}`, ...(h && { headers: h }) });
    });
  }

  private onPublishAck(msg: Msg): void {
    const token = msg.subject.slice(this.ackInbox.length + 1);
    const pending = this.pendingAcks.get(token);
    if (!pending) return;
    this.pendingAcks.delete(token);
    if (msg.headers?.code === 503) return pending.reject(new Error('no responders'));
    try {
      const ack = JSON.parse(Buffer.from(msg.data).toString('utf8')) as { seq?: number; duplicate?: boolean; error?: { description?: string } };
      if (ack.error || typeof ack.seq !== 'number') return pending.reject(new Error(ack.error?.description ?? 'no publish ack'));
      pending.resolve({ seq: ack.seq, duplicate: ack.duplicate === true });
    } catch (err) {
      pending.reject(err as Error);
    }
  }

  private expireAcks(now = Date.now()): void {
    for (const [token, pending] of this.pendingAcks) {
      if (pending.expiresAt > now) continue;
      this.pendingAcks.delete(token);
      pending.reject(new Error('timed out waiting for the publish ack'));
    }
  }

  async append(topic: string, messages: NewTopicMessage[]): Promise<AppendResult[]> {
    const publishes = messages.map(async (m): Promise<AppendResult> => {
      const body: StoredBody = { id: randomUUID(), data: m.data, attributes: { ...m.attributes } };
      if (m.orderingKey !== undefined) body.orderingKey = m.orderingKey;
      if (m.deliverAt !== undefined) body.deliverAt = m.deliverAt;
      const ack = await this.publishAcked(this.subject(topic), JSON.stringify(body), m.idempotencyKey);
      if (!ack.duplicate) return { id: body.id, position: String(ack.seq), duplicate: false };
      const original = await this.jsm.streams.getMessage(this.streamName(topic), { seq: ack.seq });
      return { id: original ? (original.json<StoredBody>().id) : body.id, position: String(ack.seq), duplicate: true };
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

  private startPolicy(target: SeekTarget | undefined): Pick<ConsumerConfig, 'deliver_policy'> & Partial<Pick<ConsumerConfig, 'opt_start_time' | 'opt_start_seq'>> {
    if (!target) return { deliver_policy: DeliverPolicy.All };
    if ('time' in target) return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(Math.max(0, target.time)).toISOString() };
    const seq = Number(target.position);
    if (!Number.isSafeInteger(seq) || seq < 1) throw new SwitchboardError('bad_request', `not a position of this store: ${target.position}`);
    return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: seq };
  }

  async read(topic: string, opts: { from?: SeekTarget; limit: number }): Promise<TopicMessage[]> {
    const policy = this.startPolicy(opts.from);
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
    const existing = await this.record(name).catch(() => undefined);
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
    this.records.set(name, { record, readAt: Date.now() });
  }

  async deleteSubscription(name: string): Promise<void> {
    const record = await this.record(name).catch(() => undefined);
    if (!record) return;
    await this.run(() => this.jsm.consumers.delete(this.streamName(record.config.topic), this.consumerName(name, record.generation))).catch(() => {});
    await this.run(() => this.subsKv.delete(name));
    this.records.delete(name);
  }

  private async record(name: string, fresh = false): Promise<SubscriptionRecord> {
    const known = fresh ? undefined : this.records.get(name);
    if (known && Date.now() - known.readAt < RECORD_TTL_MS) return known.record;
    const entry = await this.run(() => this.subsKv.get(name));
    if (!entry || entry.operation !== 'PUT' || entry.length === 0) {
      this.records.delete(name);
      throw new SwitchboardError('not_found', `no subscription ${name}`);
    }
    const record = entry.json<SubscriptionRecord>();
    this.records.set(name, { record, readAt: Date.now() });
    return record;
  }

  /**
   * One pull request, held by the server until `batch` messages came or `expiresMs` passed (0: what
   * is ready now). Resolves with the messages and whether the consumer is missing.
   */
  private request(stream: string, consumer: string, batch: number, expiresMs: number, noWait: boolean, signal?: AbortSignal): Promise<{ msgs: Msg[]; missing: boolean }> {
    const nc = this.nc;
    if (!nc) return Promise.reject(unavailableError('nats', new Error('not connected')));
    return new Promise((resolve) => {
      const msgs: Msg[] = [];
      const inbox = createInbox();
      let settled = false;
      const finish = (missing: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        sub.unsubscribe();
        resolve({ msgs, missing });
      };
      const onAbort = () => finish(false);
      const sub = nc.subscribe(inbox, {
        callback: (err, msg) => {
          if (err) return finish(false);
          const code = msg.headers?.code ?? 0;
          if (code === 0 && msg.data.length === 0 && msg.headers === undefined && msg.reply === undefined) return finish(false);
          if (code >= 400 || (msg.headers && !msg.reply)) return finish(code === 409 && /deleted/i.test(msg.headers?.description ?? ''));
          msgs.push(msg);
          if (msgs.length >= batch) finish(false);
        },
      });
      // The server does not answer a pull on a consumer that does not exist (deleted by a seek on
      // another node): no answer at all counts as a missing consumer.
      const timer = setTimeout(() => finish(msgs.length === 0), expiresMs + (expiresMs > 0 ? OPERATION_TIMEOUT : 1000));
      signal?.addEventListener('abort', onAbort, { once: true });
      // A `no_wait` request the consumer cannot fill because MaxAckPending is reached stays open on
      // the server and would take later messages into an inbox nobody reads any more: ordered
      // subscriptions (MaxAckPending 1) ask with a short expiry instead, which always ends.
      const body = expiresMs > 0 || !noWait ? { batch, expires: Math.max(expiresMs, IMMEDIATE_EXPIRY_MS) * NANOS } : { batch, no_wait: true };
      nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`, JSON.stringify(body), { reply: inbox });
    });
  }

  async pull(name: string, opts: PullOptions): Promise<ReceivedMessage[]> {
    const deadline = Date.now() + opts.waitMs;
    const abort = new AbortController();
    const onAbort = () => abort.abort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    this.aborts.add(abort);
    try {
      for (;;) {
        const record = await this.record(name);
        const stream = this.streamName(record.config.topic);
        const consumer = this.consumerName(name, record.generation);
        // First what is ready; when nothing is, wait for one message, then top up without waiting.
        const noWait = !record.config.ordered;
        let { msgs, missing } = await this.request(stream, consumer, opts.maxMessages, 0, noWait, abort.signal);
        const left = deadline - Date.now();
        if (msgs.length === 0 && !missing && left > 0 && !abort.signal.aborted) {
          ({ msgs, missing } = await this.request(stream, consumer, 1, left, noWait, abort.signal));
          if (msgs.length > 0 && opts.maxMessages > 1 && noWait && !abort.signal.aborted) msgs.push(...(await this.request(stream, consumer, opts.maxMessages - 1, 0, noWait, abort.signal)).msgs);
        }
        if (missing) {
          await this.record(name, true);
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
    afterOk?: (info: NonNullable<ReturnType<typeof parseAckSubject>>, deferred: boolean) => Promise<void>,
    before?: (info: NonNullable<ReturnType<typeof parseAckSubject>>) => Promise<void>,
  ): Promise<AckOutcome[]> {
    const record = await this.record(name);
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
    const policy = this.startPolicy(target);
    const record = await this.record(name, true);
    const stream = this.streamName(record.config.topic);
    const next: SubscriptionRecord = { config: record.config, generation: record.generation + 1 };
    await this.run(async () => {
      await this.jsm.consumers.add(stream, { ...this.consumerConfig(name, next), ...policy });
      await this.subsKv.put(name, JSON.stringify(next));
      await this.jsm.consumers.delete(stream, this.consumerName(name, record.generation)).catch(() => {});
    });
    this.records.set(name, { record: next, readAt: Date.now() });
  }

  async subscriptionStats(name: string): Promise<SubscriptionStats> {
    const record = await this.record(name);
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

/** Metadata records in a JetStream KV bucket, keyed `<kind>.<id>`. */
class NatsMetadataStore implements MetadataStore {
  constructor(private readonly kv: () => KV) {}

  private async run<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (err) {
      throw unavailableError('nats', err);
    }
  }

  async get<T>(kind: MetadataKind, id: string): Promise<T | undefined> {
    const entry = await this.run(() => this.kv().get(`${kind}.${id}`));
    return entry && entry.operation === 'PUT' && entry.length > 0 ? entry.json<T>() : undefined;
  }

  async put<T>(kind: MetadataKind, id: string, value: T, opts: { ifAbsent?: boolean } = {}): Promise<boolean> {
    const json = JSON.stringify(value);
    if (!opts.ifAbsent) {
      await this.run(() => this.kv().put(`${kind}.${id}`, json));
      return true;
    }
    try {
      await this.kv().create(`${kind}.${id}`, json);
      return true;
    } catch (err) {
      if (err instanceof Error && /wrong last sequence|exists/i.test(err.message)) return false;
      throw unavailableError('nats', err);
    }
  }

  async delete(kind: MetadataKind, id: string): Promise<boolean> {
    const existed = (await this.get(kind, id)) !== undefined;
    if (existed) await this.run(() => this.kv().delete(`${kind}.${id}`));
    return existed;
  }

  async list<T>(kind: MetadataKind): Promise<T[]> {
    const keys: string[] = [];
    const iter = await this.run(() => this.kv().keys(`${kind}.>`));
    for await (const key of iter) keys.push(key);
    const values = await Promise.all(keys.map((key) => this.get<T>(kind, key.slice(kind.length + 1))));
    return values.filter((v): v is Awaited<T> => v !== undefined) as T[];
  }
}
