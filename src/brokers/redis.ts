import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { SwitchboardError } from '../errors.js';
import type {
  Broker,
  ControlBus,
  ControlMessage,
  HistoryOptions,
  HistoryQuery,
  HistoryResult,
  PresenceMember,
  PresenceStore,
  Publication,
  StreamPosition,
} from './broker.js';

/**
 * Appends to the channel's stream and publishes in one atomic step, so offsets and live order agree.
 * KEYS: stream, meta. ARGV: payload, size, ttl seconds (0: none), epoch for a new stream, pub/sub channel.
 */
const publishScript = `
local epoch = redis.call('hget', KEYS[2], 'e')
if not epoch then
  epoch = ARGV[4]
  redis.call('del', KEYS[1])
  redis.call('hset', KEYS[2], 'e', epoch)
end
local offset = redis.call('hincrby', KEYS[2], 's', 1)
redis.call('xadd', KEYS[1], 'MAXLEN', ARGV[2], offset .. '-1', 'd', ARGV[1])
if ARGV[3] ~= '0' then
  redis.call('expire', KEYS[1], ARGV[3])
  redis.call('expire', KEYS[2], ARGV[3])
end
redis.call('publish', ARGV[5], offset .. ':' .. epoch .. ':' .. ARGV[1])
return {offset, epoch}
`;

/**
 * Reads the stream position and a range in one atomic step.
 * KEYS: stream, meta. ARGV: since offset ('' for none), since epoch, limit (-1: all), reverse ('1').
 */
const historyScript = `
local meta = redis.call('hmget', KEYS[2], 'e', 's')
if not meta[1] then return {'', 0, {}} end
if ARGV[3] == '0' then return {meta[1], meta[2], {}} end
local after = '-'
if ARGV[1] ~= '' and ARGV[2] == meta[1] then after = '(' .. ARGV[1] .. '-1' end
local entries
if ARGV[4] == '1' then
  if ARGV[3] == '-1' then entries = redis.call('xrevrange', KEYS[1], '+', after)
  else entries = redis.call('xrevrange', KEYS[1], '+', after, 'COUNT', ARGV[3]) end
else
  if ARGV[3] == '-1' then entries = redis.call('xrange', KEYS[1], after, '+')
  else entries = redis.call('xrange', KEYS[1], after, '+', 'COUNT', ARGV[3]) end
end
return {meta[1], meta[2], entries}
`;

/** Drops expired presence entries, then lists the rest. KEYS: zset of expiries, hash of members. ARGV: now. */
const presenceListScript = `
local expired = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[1])
if #expired > 0 then
  redis.call('zremrangebyscore', KEYS[1], '-inf', ARGV[1])
  redis.call('hdel', KEYS[2], unpack(expired))
end
return redis.call('hvals', KEYS[2])
`;

export interface RedisBrokerOptions {
  url: string;
  /** Prefix of every key and pub/sub channel, so several deployments can share one Redis. */
  prefix: string;
}

type RedisWithScripts = Redis & {
  sbPublish(stream: string, meta: string, payload: string, size: number, ttl: number, epoch: string, channel: string): Promise<[number, string]>;
  sbHistory(stream: string, meta: string, since: string, epoch: string, limit: number, reverse: string): Promise<[string, string | number, [string, string[]][]]>;
  sbPresenceList(zset: string, hash: string, now: number): Promise<string[]>;
};

/** A publication on the wire: `offset:epoch:` (both empty without history) then {"c","d","t"}. */
function decode(message: string): Publication {
  const first = message.indexOf(':');
  const second = message.indexOf(':', first + 1);
  const body = JSON.parse(message.slice(second + 1)) as { c: string; d: unknown; t: number };
  const pub: Publication = { channel: body.c, data: body.d, time: body.t };
  if (first > 0) {
    pub.offset = Number(message.slice(0, first));
    pub.epoch = message.slice(first + 1, second);
  }
  return pub;
}

function unavailable(err: unknown): SwitchboardError {
  return new SwitchboardError('unavailable', `redis is unavailable: ${(err as Error).message}`);
}

/**
 * Redis (7 or later): pub/sub for live fan-out with one subscription per channel per node,
 * Streams for history (MAXLEN = historySize, expiry = historyTtl), presence in a sorted set of
 * expiries plus a hash of members per channel, and a pub/sub channel for control messages.
 */
export class RedisBroker implements Broker {
  readonly name = 'redis';
  readonly presence: PresenceStore;
  readonly control: ControlBus;
  private readonly commands: RedisWithScripts;
  private readonly subscriber: Redis;
  private readonly prefix: string;
  private readonly controlChannel: string;
  private handler: (pub: Publication) => void = () => {};
  private controlHandler: (message: ControlMessage) => void = () => {};
  private reconnectHandler: () => void = () => {};
  private wasDown = false;

  constructor(options: RedisBrokerOptions) {
    this.prefix = options.prefix;
    this.controlChannel = `${this.prefix}control`;
    const common = {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      retryStrategy: (times: number) => Math.min(100 * 2 ** Math.min(times, 6), 5000) * (0.5 + Math.random() / 2),
    };
    // Commands fail at once while disconnected (publish answers 503); nothing waits in a queue.
    this.commands = new Redis(options.url, { ...common, enableOfflineQueue: false }) as RedisWithScripts;
    this.subscriber = new Redis(options.url, { ...common, enableOfflineQueue: true });
    this.commands.defineCommand('sbPublish', { numberOfKeys: 2, lua: publishScript });
    this.commands.defineCommand('sbHistory', { numberOfKeys: 2, lua: historyScript });
    this.commands.defineCommand('sbPresenceList', { numberOfKeys: 2, lua: presenceListScript });
    for (const client of [this.commands, this.subscriber]) client.on('error', () => {});

    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.controlChannel) this.controlHandler(JSON.parse(message) as ControlMessage);
      else this.handler(decode(message));
    });
    this.subscriber.on('close', () => {
      this.wasDown = true;
    });
    // ioredis subscribes every channel again before it reports ready.
    this.subscriber.on('ready', () => {
      if (!this.wasDown) return;
      this.wasDown = false;
      this.reconnectHandler();
    });

    this.control = {
      publish: async (message) => {
        await this.run(() => this.commands.publish(this.controlChannel, JSON.stringify(message)));
      },
      onMessage: (handler) => {
        this.controlHandler = handler;
      },
    };
    this.presence = {
      add: async (channel, members, ttl) => {
        if (members.length === 0) return;
        const expiresAt = Date.now() + ttl;
        const zset = this.key(channel, 'presence');
        const hash = this.key(channel, 'members');
        const batch = this.commands.multi();
        for (const member of members) {
          batch.zadd(zset, expiresAt, member.session);
          batch.hset(hash, member.session, JSON.stringify(member));
        }
        const keyTtl = Math.ceil((ttl * 2) / 1000);
        batch.expire(zset, keyTtl).expire(hash, keyTtl);
        await this.run(() => batch.exec());
      },
      remove: async (channel, sessions) => {
        if (sessions.length === 0) return;
        await this.run(() => this.commands.multi().zrem(this.key(channel, 'presence'), ...sessions).hdel(this.key(channel, 'members'), ...sessions).exec());
      },
      list: async (channel) => {
        const values = await this.run(() => this.commands.sbPresenceList(this.key(channel, 'presence'), this.key(channel, 'members'), Date.now()));
        return values.map((v) => JSON.parse(v) as PresenceMember);
      },
    };
  }

  get healthy(): boolean {
    return this.commands.status === 'ready' && this.subscriber.status === 'ready';
  }

  /** Connects both connections and subscribes the control channel; throws when Redis cannot be reached. */
  async connect(): Promise<void> {
    try {
      await Promise.all([this.commands.connect(), this.subscriber.connect()]);
      await this.subscriber.subscribe(this.controlChannel);
    } catch (err) {
      this.commands.disconnect();
      this.subscriber.disconnect();
      throw unavailable(err);
    }
  }

  /** `prefix{channel}:kind`: the hash tag keeps a channel's keys in one Cluster slot. */
  private key(channel: string, kind: string): string {
    return `${this.prefix}{${channel}}:${kind}`;
  }

  private pubsubChannel(channel: string): string {
    return `${this.prefix}channel:${channel}`;
  }

  private async run<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (err) {
      throw unavailable(err);
    }
  }

  async publish(pub: Publication, opts?: { history?: HistoryOptions }): Promise<StreamPosition | undefined> {
    const body = JSON.stringify({ c: pub.channel, d: pub.data, t: pub.time });
    const history = opts?.history;
    if (!history) {
      await this.run(() => this.commands.publish(this.pubsubChannel(pub.channel), `::${body}`));
      return undefined;
    }
    const [offset, epoch] = await this.run(() =>
      this.commands.sbPublish(
        this.key(pub.channel, 'stream'),
        this.key(pub.channel, 'meta'),
        body,
        history.size,
        Math.ceil(history.ttl / 1000),
        randomBytes(4).toString('hex'),
        this.pubsubChannel(pub.channel),
      ),
    );
    pub.offset = Number(offset);
    pub.epoch = epoch;
    return { offset: pub.offset, epoch };
  }

  async history(channel: string, query: HistoryQuery): Promise<HistoryResult> {
    const [epoch, top, entries] = await this.run(() =>
      this.commands.sbHistory(
        this.key(channel, 'stream'),
        this.key(channel, 'meta'),
        query.since ? String(query.since.offset) : '',
        query.since?.epoch ?? '',
        query.limit ?? -1,
        query.reverse ? '1' : '0',
      ),
    );
    const publications = entries.map(([id, fields]): Publication => {
      const body = JSON.parse(fields[1]!) as { c: string; d: unknown; t: number };
      return { channel, data: body.d, time: body.t, offset: Number(id.slice(0, id.indexOf('-'))), epoch };
    });
    return { publications, position: { offset: Number(top), epoch } };
  }

  async subscribe(channel: string): Promise<void> {
    if (!this.healthy) throw unavailable(new Error('not connected'));
    await this.run(() => this.subscriber.subscribe(this.pubsubChannel(channel)));
  }

  async unsubscribe(channel: string): Promise<void> {
    if (this.subscriber.status !== 'ready') return;
    await this.subscriber.unsubscribe(this.pubsubChannel(channel));
  }

  onPublication(handler: (pub: Publication) => void): void {
    this.handler = handler;
  }

  onReconnect(handler: () => void): void {
    this.reconnectHandler = handler;
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.commands.quit(), this.subscriber.quit()]);
    this.commands.disconnect();
    this.subscriber.disconnect();
  }
}
