import { randomUUID } from 'node:crypto';
import { createRedisClient, type RedisClient } from '../backends/redis.js';
import { causeOf, SwitchboardError, unavailableError } from '../protocol/errors.js';
import { appendScript, pullScript, seekScript, settleScript } from './redis-scripts.js';
import { RedisMetadataStore } from './redis-metadata.js';
import { Waiters } from './waiters.js';
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

export interface RedisTopicStoreConnection {
  /** Redis URL; with `cluster`, comma-separated seed URLs of a Redis Cluster's nodes. */
  url: string;
  /** Prefix of every key, shared with the broker's. */
  prefix: string;
  cluster: boolean;
}

interface Scripted {
  sbTopicAppend(stream: string, cfg: string, ...args: (string | number)[]): Promise<[string, string, number][] | null>;
  sbTopicPull(...args: (string | number)[]): Promise<[string, [string, number, string, string][], [string, number, string][]] | null>;
  sbTopicSettle(...args: (string | number)[]): Promise<AckOutcome[] | null>;
  sbTopicSeek(...args: (string | number)[]): Promise<number | null>;
}

/** How often a waiting pull looks again for messages published through another node. */
const pollIntervalMs = 100;
/** How often retention runs over every topic. */
const retentionIntervalMs = 500;

/** The stored message body (field `m`); position and publish time come from the stream id. */
interface StoredBody {
  id: string;
  data: unknown;
  attributes: Record<string, string>;
  orderingKey?: string;
  deliverAt?: number;
}

function toMessage(streamId: string, body: string): TopicMessage {
  const stored = JSON.parse(body) as StoredBody;
  return { ...stored, position: streamId, publishTime: Number(streamId.slice(0, streamId.indexOf('-'))) };
}

/** The stream id just before `id` (a group created there delivers `id` next). */
function before(id: string): string {
  const [ms, seq] = id.split('-').map(BigInt) as [bigint, bigint];
  if (seq > 0n) return `${ms}-${seq - 1n}`;
  return ms > 0n ? `${ms - 1n}-18446744073709551615` : '0-0';
}

function streamIdOf(target: SeekTarget): string {
  if ('time' in target) return `${Math.max(0, Math.floor(target.time))}-0`;
  if (!/^\d{1,16}-\d{1,20}$/.test(target.position)) throw new SwitchboardError('bad_request', `not a position of this store: ${target.position}`);
  return target.position;
}

/**
 * Redis Streams: one stream per topic, one consumer group per subscription. The group's pending
 * entries list holds every message handed out and not acknowledged, with its delivery counter (the
 * attempt number); a sorted set per subscription holds when each pending entry is due again (ack
 * deadline, nack delay, extension, delivery time of delayed messages). All state lives in Redis, so
 * any node can pull, ack or redeliver, and a node that dies loses nothing.
 */
export class RedisTopicStore implements TopicStore {
  readonly kind = 'redis' as const;
  readonly metadata: MetadataStore;
  private readonly redis: RedisClient & Scripted;
  private readonly prefix: string;
  private readonly waiters = new Waiters();
  /** subscription -> topic, to find its keys (a subscription never changes topic). */
  private readonly topicOfSub = new Map<string, string>();
  private listener: TopicStoreListener = {};
  private retentionTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    connection: RedisTopicStoreConnection,
    private readonly options: TopicStoreOptions,
  ) {
    this.prefix = `${connection.prefix}topics:`;
    this.redis = createRedisClient(connection, { offlineQueue: false, reconnect: true }) as RedisClient & Scripted;
    this.redis.defineCommand('sbTopicAppend', { numberOfKeys: 2, lua: appendScript });
    this.redis.defineCommand('sbTopicPull', { numberOfKeys: 5, lua: pullScript });
    this.redis.defineCommand('sbTopicSettle', { numberOfKeys: 5, lua: settleScript });
    this.redis.defineCommand('sbTopicSeek', { numberOfKeys: 5, lua: seekScript });
    this.metadata = new RedisMetadataStore(this.redis, `${this.prefix}meta:`);
  }

  async start(listener: TopicStoreListener = {}): Promise<void> {
    this.listener = listener;
    if (this.redis.status === 'wait') await this.redis.connect().catch((err: unknown) => Promise.reject(unavailableError('redis', err)));
    this.retentionTimer ??= setInterval(() => void this.enforceRetention().catch(() => {}), retentionIntervalMs);
    this.retentionTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.retentionTimer);
    this.waiters.wakeAll();
    this.redis.disconnect();
  }

  private topicKey(topic: string, part: string): string {
    return `${this.prefix}{${topic}}:${part}`;
  }

  private subKeys(topic: string, sub: string): string[] {
    const base = this.topicKey(topic, `sub:${sub}`);
    return [this.topicKey(topic, 'log'), `${base}:cfg`, `${base}:due`, `${base}:owner`, `${base}:wait`];
  }

  private async run<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (err) {
      throw unavailableError('redis', err);
    }
  }

  async ensureTopic(name: string, config: TopicConfig): Promise<void> {
    await this.run(() => this.redis.hset(this.topicKey(name, 'cfg'), { retentionMs: config.retentionMs, retentionBytes: config.retentionBytes }));
    await this.run(() => this.redis.sadd(`${this.prefix}topics`, name));
  }

  async deleteTopic(name: string): Promise<void> {
    await this.run(() => this.redis.del(this.topicKey(name, 'log'), this.topicKey(name, 'cfg')));
    await this.run(() => this.redis.srem(`${this.prefix}topics`, name));
  }

  async append(topic: string, messages: NewTopicMessage[]): Promise<AppendResult[]> {
    const args: (string | number)[] = [this.options.idempotencyWindowMs, this.topicKey(topic, 'idem:')];
    const ids: string[] = [];
    for (const m of messages) {
      const id = randomUUID();
      ids.push(id);
      const body: StoredBody = { id, data: m.data, attributes: { ...m.attributes } };
      if (m.orderingKey !== undefined) body.orderingKey = m.orderingKey;
      if (m.deliverAt !== undefined) body.deliverAt = m.deliverAt;
      args.push(m.idempotencyKey ?? '', id, JSON.stringify(body), m.deliverAt ?? '', m.orderingKey ?? '');
    }
    const out = await this.run(() => this.redis.sbTopicAppend(this.topicKey(topic, 'log'), this.topicKey(topic, 'cfg'), ...args));
    if (!out) throw new SwitchboardError('not_found', `no topic ${topic}`);
    this.waiters.wake(topic);
    return out.map(([position, firstId, duplicate], i) => ({ id: duplicate ? firstId : ids[i]!, position, duplicate: duplicate === 1 }));
  }

  async read(topic: string, opts: { from?: SeekTarget; limit: number }): Promise<TopicMessage[]> {
    await this.requireTopic(topic);
    const start = opts.from ? streamIdOf(opts.from) : '-';
    const entries = await this.run(() => this.redis.xrange(this.topicKey(topic, 'log'), start, '+', 'COUNT', opts.limit));
    return entries.map(([id, fields]) => toMessage(id, fields[fields.indexOf('m') + 1]!));
  }

  private async requireTopic(topic: string): Promise<void> {
    if (!(await this.run(() => this.redis.exists(this.topicKey(topic, 'cfg'))))) throw new SwitchboardError('not_found', `no topic ${topic}`);
  }

  async ensureSubscription(name: string, config: SubscriptionConfig): Promise<void> {
    await this.requireTopic(config.topic);
    const [stream, cfg] = this.subKeys(config.topic, name) as [string, string];
    const fields = { deadline: config.ackDeadlineMs, max: config.maxDeliveryAttempts, ordered: config.ordered ? '1' : '0', dlq: config.deadLetterTopic ?? '' };
    const created = await this.run(() => this.redis.hsetnx(cfg, 'gen', 1));
    await this.run(() => this.redis.hset(cfg, fields));
    await this.run(() => this.redis.hset(`${this.prefix}subs`, name, config.topic));
    if (created) {
      await this.run(() => this.redis.xgroup('CREATE', stream, name, '$', 'MKSTREAM')).catch((err: SwitchboardError) => {
        if (!/BUSYGROUP/.test(causeOf(err))) throw err;
      });
    }
    this.topicOfSub.set(name, config.topic);
  }

  async deleteSubscription(name: string): Promise<void> {
    const topic = await this.topicOf(name).catch(() => undefined);
    if (!topic) return;
    const [stream, ...keys] = this.subKeys(topic, name) as [string, ...string[]];
    await this.run(() => this.redis.xgroup('DESTROY', stream, name)).catch(() => {});
    await this.run(() => this.redis.del(...keys));
    await this.run(() => this.redis.hdel(`${this.prefix}subs`, name));
    this.topicOfSub.delete(name);
  }

  private async topicOf(sub: string): Promise<string> {
    const known = this.topicOfSub.get(sub);
    if (known) return known;
    const topic = await this.run(() => this.redis.hget(`${this.prefix}subs`, sub));
    if (!topic) throw new SwitchboardError('not_found', `no subscription ${sub}`);
    this.topicOfSub.set(sub, topic);
    return topic;
  }

  /** Runs a subscription script; a null answer means the subscription is gone (maybe deleted by another node). */
  private async onSub<T>(sub: string, script: (keys: string[], topic: string) => Promise<T | null>): Promise<{ topic: string; result: T }> {
    const topic = await this.topicOf(sub);
    const result = await this.run(() => script(this.subKeys(topic, sub), topic));
    if (result === null) {
      this.topicOfSub.delete(sub);
      throw new SwitchboardError('not_found', `no subscription ${sub}`);
    }
    return { topic, result };
  }

  async pull(sub: string, opts: PullOptions): Promise<ReceivedMessage[]> {
    const deadline = Date.now() + opts.waitMs;
    for (;;) {
      const { topic, result } = await this.onSub(sub, (keys) => this.redis.sbTopicPull(...keys, sub, Date.now(), opts.maxMessages));
      const [generation, deliveries, dead] = result;
      for (const [id, attempts, body] of dead) await this.exhausted(sub, topic, generation, id, attempts, body);
      const got = deliveries.map(([id, attempt, body]): ReceivedMessage => {
        if (attempt > 1) this.listener.redelivered?.(sub, topic);
        return { ackId: `${generation}.${id}.${attempt}`, attempt, message: toMessage(id, body) };
      });
      const left = deadline - Date.now();
      if (got.length > 0 || left <= 0 || opts.signal?.aborted || this.closed) return got;
      await this.waiters.wait(topic, Math.min(left, pollIntervalMs), opts.signal);
    }
  }

  /** Hands a message that ran out of attempts to the owner, then removes it; the script keeps it from everyone else until its deadline. */
  private async exhausted(sub: string, topic: string, generation: string, id: string, attempts: number, body: string): Promise<void> {
    const deadLetterTopic = await this.run(() => this.redis.hget(this.subKeys(topic, sub)[1]!, 'dlq'));
    await this.listener.exhausted?.({ subscription: sub, topic, deadLetterTopic: deadLetterTopic || undefined, message: toMessage(id, body), attempts });
    await this.settle(sub, 'ack', 0, [`${generation}.${id}.${attempts}`]);
  }

  private async settle(sub: string, action: 'ack' | 'due' | 'release', dueAt: number, ackIds: string[]): Promise<AckOutcome[]> {
    const parsed = ackIds.map((ackId) => /^(\d+)\.(\d{1,16}-\d{1,20})\.([1-9]\d{0,8})$/.exec(ackId));
    const valid = parsed.filter((m): m is RegExpExecArray => m !== null);
    const byGeneration = new Map<string, RegExpExecArray[]>();
    for (const m of valid) byGeneration.set(m[1]!, [...(byGeneration.get(m[1]!) ?? []), m]);
    const outcomes = new Map<RegExpExecArray, AckOutcome>();
    for (const [generation, group] of byGeneration) {
      const pairs = group.flatMap((m) => [m[2]!, m[3]!]);
      const { result } = await this.onSub(sub, (keys) => this.redis.sbTopicSettle(...keys, sub, Date.now(), action, dueAt, generation, ...pairs));
      group.forEach((m, i) => outcomes.set(m, result[i]!));
    }
    if (valid.length === 0) await this.topicOf(sub);
    return parsed.map((m) => (m ? outcomes.get(m)! : 'unknown'));
  }

  async ack(sub: string, ackIds: string[]): Promise<AckOutcome[]> {
    return this.settle(sub, 'ack', 0, ackIds);
  }

  async nack(sub: string, ackIds: string[], delayMs: number, opts: NackOptions = {}): Promise<AckOutcome[]> {
    const outcomes = await this.settle(sub, opts.notAttempted ? 'release' : 'due', Date.now() + delayMs, ackIds);
    this.waiters.wake(await this.topicOf(sub));
    return outcomes;
  }

  async extend(sub: string, ackIds: string[], extendMs: number): Promise<AckOutcome[]> {
    return this.settle(sub, 'due', Date.now() + extendMs, ackIds);
  }

  async seek(sub: string, target: SeekTarget): Promise<void> {
    const start = streamIdOf(target);
    const topic = await this.topicOf(sub);
    // The group restarts after the last entry before the target (or at the very start).
    const [previous] = start === '0-0' ? [] : await this.run(() => this.redis.xrevrange(this.topicKey(topic, 'log'), `(${start}`, '-', 'COUNT', 1));
    const after = previous?.[0] ?? before(start);
    await this.onSub(sub, (keys) => this.redis.sbTopicSeek(...keys, sub, after));
    this.waiters.wake(topic);
  }

  async subscriptionStats(sub: string): Promise<SubscriptionStats> {
    const topic = await this.topicOf(sub);
    const stream = this.topicKey(topic, 'log');
    const [summary, groups] = await this.run(() => Promise.all([this.redis.xpending(stream, sub), this.redis.xinfo('GROUPS', stream)]));
    const [count, smallest] = summary as [number, string | null];
    const group = (groups as unknown[][]).map((g) => Object.fromEntries(Array.from({ length: g.length / 2 }, (_, i) => [g[2 * i], g[2 * i + 1]]))).find((g) => g.name === sub);
    if (!group) throw new SwitchboardError('not_found', `no subscription ${sub}`);
    const [next] = await this.run(() => this.redis.xrange(stream, `(${group['last-delivered-id'] as string}`, '+', 'COUNT', 1));
    const undelivered = typeof group.lag === 'number' ? group.lag : next ? (await this.run(() => this.redis.xrange(stream, next[0], '+'))).length : 0;
    const oldest = [smallest, next?.[0]].filter((id): id is string => typeof id === 'string').map((id) => Number(id.split('-')[0]));
    const unacked = Number(count) + undelivered;
    return { unacked, oldestUnackedAgeMs: unacked === 0 || oldest.length === 0 ? 0 : Math.max(0, Date.now() - Math.min(...oldest)) };
  }

  async topicStats(topic: string): Promise<TopicStats> {
    await this.requireTopic(topic);
    const stream = this.topicKey(topic, 'log');
    const [messages, bytes] = await this.run(() => Promise.all([this.redis.xlen(stream), this.redis.memory('USAGE', stream)]));
    return { messages, bytes: Number(bytes ?? 0) };
  }

  /** Trims every topic by age (exactly, XTRIM MINID) and by size (approximately, from MEMORY USAGE). */
  private async enforceRetention(): Promise<void> {
    const topics = await this.redis.smembers(`${this.prefix}topics`);
    const now = Date.now();
    for (const topic of topics) {
      const [retentionMs, retentionBytes] = (await this.redis.hmget(this.topicKey(topic, 'cfg'), 'retentionMs', 'retentionBytes')).map(Number) as [number, number];
      const stream = this.topicKey(topic, 'log');
      if (retentionMs > 0) await this.redis.xtrim(stream, 'MINID', `${now - retentionMs}-0`);
      if (retentionBytes > 0) {
        const [length, usage] = await Promise.all([this.redis.xlen(stream), this.redis.memory('USAGE', stream)]);
        if (length > 0 && Number(usage) > retentionBytes) await this.redis.xtrim(stream, 'MAXLEN', Math.floor((length * retentionBytes) / Number(usage)));
      }
    }
  }
}
