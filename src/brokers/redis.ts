import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
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
 * `command` is `publish`, or `spublish` on a Cluster: the shard channel carries the channel's hash
 * tag, so the script's keys and its shard channel live in one slot, on one shard.
 */
const publishScript = (command: 'publish' | 'spublish') => `
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
redis.call('${command}', ARGV[5], offset .. ':' .. epoch .. ':' .. ARGV[1])
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
  /** A Redis URL; with `cluster`, one or more comma-separated seed URLs of the Cluster's nodes. */
  url: string;
  /** Prefix of every key and pub/sub channel, so several deployments can share one Redis. */
  prefix: string;
  /** The server is a Redis Cluster: live fan-out goes through sharded pub/sub. */
  cluster?: boolean;
}

interface Scripts {
  sbPublish(stream: string, meta: string, payload: string, size: number, ttl: number, epoch: string, channel: string): Promise<[number, string]>;
  sbHistory(stream: string, meta: string, since: string, epoch: string, limit: number, reverse: string): Promise<[string, string | number, [string, string[]][]]>;
  sbPresenceList(zset: string, hash: string, now: number): Promise<string[]>;
}

type RedisWithScripts = Redis & Scripts;
type ClusterWithScripts = Cluster & Scripts;

/** How long `connect` waits for a Cluster to answer and report `cluster_state:ok`. */
const clusterConnectTimeout = 10_000;

/** Reconnection delays: exponential from 200 ms to 5 s, with jitter so nodes do not reconnect in step. */
const backoff = (times: number) => Math.min(100 * 2 ** Math.min(times, 6), 5000) * (0.5 + Math.random() / 2);

/** The seed nodes and connection options of a Cluster from comma-separated redis:// or rediss:// URLs. */
function clusterSeeds(urls: string): { nodes: { host: string; port: number }[]; username?: string; password?: string; tls?: object } {
  const parsed = urls
    .split(',')
    .map((text) => text.trim())
    .filter((text) => text !== '')
    .map((text) => {
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        throw new Error(`broker.redis.url: ${JSON.stringify(text)} is not a URL`);
      }
      if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new Error(`broker.redis.url: ${JSON.stringify(text)} is not a redis:// or rediss:// URL`);
      if (!['', '/', '/0'].includes(url.pathname)) throw new Error(`broker.redis.url: ${JSON.stringify(text)} names a database; a Redis Cluster has only database 0`);
      return url;
    });
  const first = parsed[0];
  if (!first) throw new Error('broker.redis.url: no seed URL for the Redis Cluster');
  // Credentials and TLS are the same on every node of a Cluster: the first URL's are used.
  return {
    nodes: parsed.map((url) => ({ host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || 6379) })),
    ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
    ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
    ...(first.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** Whether every slot has an owner this client holds a ready connection to. */
function everySlotServed(cluster: Cluster): boolean {
  const ready = new Set(cluster.nodes('master').filter((node) => node.status === 'ready').map((node) => `${node.options.host}:${node.options.port}`));
  for (let slot = 0; slot < 16384; slot++) {
    const owner = cluster.slots[slot]?.[0];
    if (owner === undefined || !ready.has(owner)) return false;
  }
  return true;
}

/** A publication on the wire: `offset:epoch:` (both empty without history) then {"c","d","t","p"?}; `p` is a presence event. */
function decode(message: string): Publication {
  const first = message.indexOf(':');
  const second = message.indexOf(':', first + 1);
  const body = JSON.parse(message.slice(second + 1)) as { c: string; d: unknown; t: number; p?: Publication['presence'] };
  const pub: Publication = { channel: body.c, data: body.d, time: body.t };
  if (body.p) pub.presence = body.p;
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
 *
 * Against a Redis Cluster (`cluster: true`) every key of a channel carries the channel as its hash
 * tag, so its stream, metadata and presence live in one slot, and live publications go through
 * sharded pub/sub (SPUBLISH / SSUBSCRIBE) on a shard channel with the same hash tag: a channel's
 * publications only travel through the shard that owns its slot, and the publish script can append
 * to the stream and publish in one atomic step. The control channel stays on classic pub/sub,
 * which the Cluster forwards to every node: each gateway node hears it wherever its subscriber
 * connection sits, and the traffic (heartbeats, commands) is small.
 */
export class RedisBroker implements Broker {
  readonly name = 'redis';
  readonly presence: PresenceStore;
  readonly control: ControlBus;
  private readonly commands: RedisWithScripts | ClusterWithScripts;
  private readonly subscriber: Redis | Cluster;
  /** Set in cluster mode: one client carries the commands and the subscriptions. */
  private readonly cluster: ClusterWithScripts | undefined;
  private readonly prefix: string;
  private readonly controlChannel: string;
  private handler: (pub: Publication) => void = () => {};
  private controlHandler: (message: ControlMessage) => void = () => {};
  private reconnectHandler: () => void = () => {};
  private wasDown = false;
  /** Cluster mode: a connection or a shard's subscriber was lost, and the reconnection is not reported yet. */
  private down = false;
  /** Cluster mode: the sharded subscribers were set up (and resubscribed) since the last loss. */
  private shardsReady = false;
  private settling = false;
  private settleTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: RedisBrokerOptions) {
    this.prefix = options.prefix;
    this.controlChannel = `${this.prefix}control`;
    if (options.cluster) {
      const { nodes, ...connection } = clusterSeeds(options.url);
      this.cluster = new Cluster(nodes, {
        lazyConnect: true,
        // Commands fail at once while the Cluster is unreachable or down (publish answers 503):
        // nothing waits in a queue, and a lost shard or CLUSTERDOWN is not retried in the background.
        enableOfflineQueue: false,
        retryDelayOnFailover: 0,
        retryDelayOnClusterDown: 0,
        clusterRetryStrategy: backoff,
        // One subscriber connection per master for SSUBSCRIBE; ioredis moves a channel's
        // subscription when its slot moves and subscribes it again after a reconnection.
        shardedSubscribers: true,
        // Connect to every master at once, so the loss of any of them is noticed (see `everySlotServed`).
        redisOptions: { ...connection, maxRetriesPerRequest: 1, lazyConnect: false },
      }) as ClusterWithScripts;
      this.commands = this.cluster;
      this.subscriber = this.cluster;
    } else {
      const common = { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: backoff };
      // Commands fail at once while disconnected (publish answers 503); nothing waits in a queue.
      this.commands = new Redis(options.url, { ...common, enableOfflineQueue: false }) as RedisWithScripts;
      this.subscriber = new Redis(options.url, { ...common, enableOfflineQueue: true });
    }
    this.commands.defineCommand('sbPublish', { numberOfKeys: 2, lua: publishScript(this.cluster ? 'spublish' : 'publish') });
    this.commands.defineCommand('sbHistory', { numberOfKeys: 2, lua: historyScript });
    this.commands.defineCommand('sbPresenceList', { numberOfKeys: 2, lua: presenceListScript });
    for (const client of this.clients()) client.on('error', () => {});

    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.controlChannel) this.controlHandler(JSON.parse(message) as ControlMessage);
      else this.handler(decode(message));
    });
    if (this.cluster) {
      const cluster = this.cluster;
      cluster.on('smessage', (_channel: string, message: string) => this.handler(decode(message)));
      // The whole Cluster was lost ('close'), or one shard's subscriber was ('-subscriber': ioredis
      // drops it and connects a new one when the slots are refreshed).
      cluster.on('close', () => this.lose());
      cluster.on('-subscriber', () => this.lose());
      // ioredis sent SSUBSCRIBE for every channel again before it reports 'subscribersReady'.
      cluster.on('subscribersReady', () => {
        this.shardsReady = true;
        this.settle();
      });
      cluster.on('ready', () => this.settle());
    } else {
      this.subscriber.on('close', () => {
        this.wasDown = true;
      });
      // ioredis subscribes every channel again before it reports ready.
      this.subscriber.on('ready', () => {
        if (!this.wasDown) return;
        this.wasDown = false;
        this.reconnectHandler();
      });
    }

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

  /** The distinct clients: a command and a subscriber connection, or one Cluster client. */
  private clients(): (Redis | Cluster)[] {
    return this.cluster ? [this.cluster] : [this.commands, this.subscriber];
  }

  get healthy(): boolean {
    if (this.cluster) return this.cluster.status === 'ready' && !this.down;
    return this.commands.status === 'ready' && this.subscriber.status === 'ready';
  }

  /** Connects and subscribes the control channel; throws when Redis cannot be reached. */
  async connect(): Promise<void> {
    try {
      if (this.cluster) {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the Cluster did not become ready within ${clusterConnectTimeout} ms`)), clusterConnectTimeout);
        });
        await Promise.race([this.cluster.connect(), timeout]).finally(() => clearTimeout(timer));
      } else {
        await Promise.all([this.commands.connect(), this.subscriber.connect()]);
      }
      await this.subscriber.subscribe(this.controlChannel);
    } catch (err) {
      for (const client of this.clients()) client.disconnect();
      throw unavailable(err);
    }
  }

  /** Cluster mode: the connection or a shard was lost; publishes go on failing until `settle` sees it back. */
  private lose(): void {
    if (this.closed) return;
    this.down = true;
    this.shardsReady = false;
  }

  /**
   * Cluster mode: reports the reconnection once the Cluster is ready, every shard's subscriber has
   * subscribed its channels again and every slot's owner is connected; then subscribes the control
   * channel again (a no-op when ioredis already did) and calls the reconnect handler.
   */
  private settle(): void {
    const cluster = this.cluster;
    if (!cluster || !this.down || this.closed || this.settling || cluster.status !== 'ready' || !this.shardsReady) return;
    if (!everySlotServed(cluster)) {
      this.settleLater();
      return;
    }
    this.settling = true;
    cluster.subscribe(this.controlChannel).then(
      () => {
        this.settling = false;
        if (this.closed || !this.shardsReady || cluster.status !== 'ready') return;
        this.down = false;
        this.reconnectHandler();
      },
      () => {
        this.settling = false;
        this.settleLater();
      },
    );
  }

  private settleLater(): void {
    if (this.settleTimer || this.closed) return;
    this.settleTimer = setTimeout(() => {
      this.settleTimer = undefined;
      this.settle();
    }, 100);
  }

  /** `prefix{channel}:kind`: the hash tag keeps a channel's keys in one Cluster slot. */
  private key(channel: string, kind: string): string {
    return `${this.prefix}{${channel}}:${kind}`;
  }

  /** The pub/sub channel of a channel's live publications; on a Cluster, a shard channel in the slot of its keys. */
  private pubsubChannel(channel: string): string {
    return this.cluster ? this.key(channel, 'live') : `${this.prefix}channel:${channel}`;
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
      const message = `::${body}`;
      const channel = this.pubsubChannel(pub.channel);
      await this.run(() => (this.cluster ? this.cluster.spublish(channel, message) : this.commands.publish(channel, message)));
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
    const name = this.pubsubChannel(channel);
    await this.run(() => (this.cluster ? this.cluster.ssubscribe(name) : this.subscriber.subscribe(name)));
  }

  async unsubscribe(channel: string): Promise<void> {
    if (this.subscriber.status !== 'ready') return;
    const name = this.pubsubChannel(channel);
    if (this.cluster) await this.cluster.sunsubscribe(name);
    else await this.subscriber.unsubscribe(name);
  }

  onPublication(handler: (pub: Publication) => void): void {
    this.handler = handler;
  }

  onReconnect(handler: () => void): void {
    this.reconnectHandler = handler;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.settleTimer);
    const clients = this.clients();
    await Promise.allSettled(clients.map((client) => client.quit()));
    for (const client of clients) client.disconnect();
  }
}
