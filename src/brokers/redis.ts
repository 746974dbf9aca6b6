import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import { clusterSeeds } from '../backends/redis.js';
import { unavailableError } from '../errors.js';
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

/** A Cluster that answers but does not report `cluster_state:ok` on every master (yet). */
class ClusterNotReady extends Error {}

/** Throws ClusterNotReady unless every master this client is connected to reports cluster_state:ok. */
async function clusterOk(cluster: Cluster): Promise<void> {
  const infos = await Promise.all(cluster.nodes('master').map((node) => node.cluster('INFO')));
  if (infos.length === 0 || !infos.every((info) => /^cluster_state:ok\r?$/m.test(info))) throw new ClusterNotReady('cluster_state is not ok');
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The parsed message, or undefined when it cannot be parsed: it must not throw into the Redis client's event loop. */
function parseOrDrop<T>(parse: () => T): T | undefined {
  try {
    return parse();
  } catch {
    return undefined;
  }
}

/**
 * A publication on the wire: `offset:epoch:` (both empty without history) then {"c","d","t","p"?,"n"?};
 * `p` is a presence event, `n` the broker instance that published it (channels without history).
 */
function decode(message: string): { pub: Publication; origin: string | undefined } {
  const first = message.indexOf(':');
  const second = message.indexOf(':', first + 1);
  const body = JSON.parse(message.slice(second + 1)) as { c: string; d: unknown; t: number; p?: Publication['presence']; n?: string };
  const pub: Publication = { channel: body.c, data: body.d, time: body.t };
  if (body.p) pub.presence = body.p;
  if (first > 0) {
    pub.offset = Number(message.slice(0, first));
    pub.epoch = message.slice(first + 1, second);
  }
  return { pub, origin: body.n };
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
  /** Standalone: one connection for commands and one in subscriber mode. */
  private readonly standalone: { commands: RedisWithScripts; subscriber: Redis } | undefined;
  /** Cluster mode: makes a client (each carries commands, classic and sharded subscriptions). */
  private readonly newCluster: (() => ClusterWithScripts) | undefined;
  /** Cluster mode: the client in use, once connected; replaced by a new one after the Cluster was lost. */
  private cluster: ClusterWithScripts | undefined;
  /** Cluster mode: the client being connected. */
  private opening: ClusterWithScripts | undefined;
  /** Cluster mode: the channels this node subscribed, to subscribe them on a new client. */
  private readonly channels = new Set<string>();
  private readonly prefix: string;
  private readonly controlChannel: string;
  private handler: (pub: Publication) => void = () => {};
  private controlHandler: (message: ControlMessage) => void = () => {};
  private reconnectHandler: () => void = () => {};
  private wasDown = false;
  /** Cluster mode: a shard's subscriber was replaced, and its channels were not reported back yet. */
  private shardLost = false;
  /** Cluster mode: ioredis subscribed the channels again since the last replacement (`settleShards` confirms). */
  private shardsBack = false;
  private settling = false;
  private settleTimer: NodeJS.Timeout | undefined;
  /** Cluster mode: no new `settleShards` attempt before this time (ioredis retries a lost shard in a tight loop). */
  private nextSettle = 0;
  private reopening = false;
  private reopenAttempts = 0;
  private reopenTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Marks this instance's publications on channels without history: it delivers them itself. */
  private readonly origin = randomBytes(6).toString('hex');

  constructor(options: RedisBrokerOptions) {
    this.prefix = options.prefix;
    this.controlChannel = `${this.prefix}control`;
    if (options.cluster) {
      const { nodes, ...connection } = clusterSeeds(options.url);
      this.standalone = undefined;
      this.newCluster = () => this.clusterClient(nodes, connection);
    } else {
      const common = { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: backoff };
      // Commands fail at once while disconnected (publish answers 503); nothing waits in a queue.
      const commands = new Redis(options.url, { ...common, enableOfflineQueue: false }) as RedisWithScripts;
      const subscriber = new Redis(options.url, { ...common, enableOfflineQueue: true });
      this.standalone = { commands, subscriber };
      this.newCluster = undefined;
      commands.defineCommand('sbPublish', { numberOfKeys: 2, lua: publishScript('publish') });
      commands.defineCommand('sbHistory', { numberOfKeys: 2, lua: historyScript });
      commands.defineCommand('sbPresenceList', { numberOfKeys: 2, lua: presenceListScript });
      for (const client of [commands, subscriber]) client.on('error', () => {});
      subscriber.on('message', (channel: string, message: string) => this.receive(channel, message));
      // The reconnection is reported once both connections are back and every channel is subscribed
      // again, so the history read that follows sees whatever the live stream did not bring. ioredis
      // emits 'ready' just before it sends SUBSCRIBE for every channel again: a SUBSCRIBE sent after
      // those is answered once they all are.
      let settling = false;
      const settle = () => {
        if (!this.wasDown || settling || this.closed || !this.connected) return;
        settling = true;
        setImmediate(() => {
          subscriber.subscribe(this.controlChannel).then(
            () => {
              settling = false;
              if (this.closed || !this.connected || !this.wasDown) return;
              this.wasDown = false;
              this.reconnectHandler();
            },
            () => {
              settling = false;
            },
          );
        });
      };
      for (const client of [commands, subscriber]) {
        client.on('close', () => {
          this.wasDown = true;
        });
        client.on('ready', settle);
      }
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

  /** A message on a classic pub/sub channel: the control channel, or (standalone) a channel's publication. */
  private receive(channel: string, message: string): void {
    if (channel === this.controlChannel) {
      const control = parseOrDrop(() => JSON.parse(message) as ControlMessage);
      if (control) this.controlHandler(control);
    } else {
      this.receivePublication(message);
    }
  }

  /** A publication message; one that is not Switchboard's own encoding (written by something else) is dropped, as the NATS broker does. */
  private receivePublication(message: string): void {
    const decoded = parseOrDrop(() => decode(message));
    if (decoded && decoded.origin !== this.origin) this.handler(decoded.pub);
  }

  /**
   * Cluster mode: a client that reports its state plainly and does not reconnect by itself. When
   * the whole Cluster is lost the client ends, and `reopen` connects a new one and subscribes every
   * channel on it before the reconnection is reported. The loss of one shard is handled inside the
   * client: ioredis connects a new subscriber to the shard's new or returning master and subscribes
   * its channels again ('-subscriber', then 'subscribersReady').
   */
  private clusterClient(nodes: { host: string; port: number }[], connection: { username?: string; password?: string; tls?: object }): ClusterWithScripts {
    const client = new Cluster(nodes, {
      lazyConnect: true,
      // Commands fail at once while the Cluster (or a command's shard) is unreachable or down:
      // publish answers 503 and nothing waits in a queue or is retried in the background.
      enableOfflineQueue: false,
      retryDelayOnFailover: 0,
      retryDelayOnClusterDown: 0,
      clusterRetryStrategy: null,
      // Ready once the slots are known; `openCluster` checks cluster_state on every master itself.
      enableReadyCheck: false,
      // One subscriber connection per master for SSUBSCRIBE; ioredis follows a channel's slot to
      // the master that owns it.
      shardedSubscribers: true,
      // Connect to every master at once: losing all of them ends the client.
      redisOptions: { ...connection, maxRetriesPerRequest: 1, lazyConnect: false },
      scripts: {
        sbPublish: { numberOfKeys: 2, lua: publishScript('spublish') },
        sbHistory: { numberOfKeys: 2, lua: historyScript },
        sbPresenceList: { numberOfKeys: 2, lua: presenceListScript },
      },
    }) as ClusterWithScripts;
    client.on('error', () => {});
    client.on('message', (channel: string, message: string) => this.receive(channel, message));
    client.on('smessage', (_channel: string, message: string) => this.receivePublication(message));
    client.on('end', () => {
      if (client === this.cluster) this.reopenLater();
    });
    client.on('-subscriber', () => {
      if (client !== this.cluster) return;
      this.shardLost = true;
      this.shardsBack = false;
    });
    // ioredis sent SSUBSCRIBE for the shard's channels again before it reports 'subscribersReady'
    // (it reports it too when the new subscriber could not connect: `settleShards` checks).
    client.on('subscribersReady', () => {
      if (client !== this.cluster || !this.shardLost) return;
      this.shardsBack = true;
      this.settleShards();
    });
    return client;
  }

  /**
   * Cluster mode, after a shard's subscriber was replaced: reports the reconnection once a probe
   * SSUBSCRIBE (and SUNSUBSCRIBE) went through the subscriber of every master, after the channels
   * ioredis subscribed there again, and every master reports cluster_state:ok (so the hub can read
   * the gap from history).
   */
  private settleShards(): void {
    const cluster = this.cluster;
    if (!cluster || this.closed || this.settling || !this.shardLost || !this.shardsBack) return;
    if (Date.now() < this.nextSettle) {
      this.settleLater();
      return;
    }
    this.settling = true;
    const probes = this.probes(cluster).map(async (name) => {
      await cluster.ssubscribe(name);
      await cluster.sunsubscribe(name);
    });
    Promise.all([...probes, clusterOk(cluster)]).then(
      () => {
        this.settling = false;
        if (cluster !== this.cluster || !this.shardLost || !this.shardsBack) return;
        this.shardLost = false;
        this.reconnectHandler();
      },
      () => {
        this.settling = false;
        this.nextSettle = Date.now() + 200;
        this.settleLater();
      },
    );
  }

  private settleLater(): void {
    if (this.settleTimer || this.closed) return;
    this.settleTimer = setTimeout(() => {
      this.settleTimer = undefined;
      this.settleShards();
    }, 200);
  }

  /** Cluster mode: one shard channel name in a slot of each master (of the names this prefix allows). */
  private probes(cluster: Cluster): string[] {
    const owners = new Set<string>();
    for (let slot = 0; slot < 16384; slot++) {
      const owner = cluster.slots[slot]?.[0];
      if (owner !== undefined) owners.add(owner);
    }
    const probes = new Map<string, string>();
    for (let i = 0; probes.size < owners.size && i < 10_000; i++) {
      const name = `${this.prefix}probe:{${i}}`;
      const owner = cluster.slots[calculateSlot(name)]?.[0];
      if (owner !== undefined && !probes.has(owner)) probes.set(owner, name);
    }
    return [...probes.values()];
  }

  /** The connection commands go through; throws unavailable in cluster mode before `connect`. */
  private get commands(): RedisWithScripts | ClusterWithScripts {
    if (this.standalone) return this.standalone.commands;
    if (this.cluster) return this.cluster;
    throw unavailableError('the broker', new Error('not connected'));
  }

  /**
   * Standalone: both connections are up and, after an outage, every channel is subscribed again
   * (the reconnection was reported). Until then a publication this node accepts could miss its own
   * subscribers, so publishes fail as readiness does.
   */
  get healthy(): boolean {
    if (this.standalone) return this.connected && !this.wasDown;
    return this.cluster?.status === 'ready';
  }

  private get connected(): boolean {
    return this.standalone!.commands.status === 'ready' && this.standalone!.subscriber.status === 'ready';
  }

  /** Connects and subscribes the control channel; throws when Redis cannot be reached. */
  async connect(): Promise<void> {
    if (this.standalone) {
      const { commands, subscriber } = this.standalone;
      try {
        await Promise.all([commands.connect(), subscriber.connect()]);
        await subscriber.subscribe(this.controlChannel);
      } catch (err) {
        commands.disconnect();
        subscriber.disconnect();
        throw unavailableError('the broker', err);
      }
      return;
    }
    // A Cluster that answers but is not ok yet (just created or restarted) gets until the deadline.
    const deadline = Date.now() + clusterConnectTimeout;
    for (;;) {
      try {
        this.cluster = (await this.openCluster()).client;
        return;
      } catch (err) {
        if (!(err instanceof ClusterNotReady) || Date.now() > deadline || this.closed) throw unavailableError('the broker', err);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  /**
   * Cluster mode: a new client, connected, with cluster_state:ok on every master, the control
   * channel and every channel of this node subscribed (each subscription confirmed by its shard).
   */
  private async openCluster(): Promise<{ client: ClusterWithScripts; channels: string[] }> {
    const client = this.newCluster!();
    this.opening = client;
    const channels = [...this.channels];
    try {
      await withTimeout(client.connect(), clusterConnectTimeout, 'the Cluster did not answer');
      await clusterOk(client);
      await client.subscribe(this.controlChannel);
      await Promise.all(channels.map((channel) => client.ssubscribe(this.pubsubChannel(channel))));
      return { client, channels };
    } catch (err) {
      client.disconnect();
      throw err;
    } finally {
      if (this.opening === client) this.opening = undefined;
    }
  }

  /** Cluster mode: the client ended (the whole Cluster was lost); connect a new one, with backoff. */
  private reopenLater(): void {
    if (this.closed || this.reopening) return;
    this.reopening = true;
    this.reopenTimer = setTimeout(() => void this.reopen(), backoff(++this.reopenAttempts));
  }

  private async reopen(): Promise<void> {
    this.reopenTimer = undefined;
    let opened: { client: ClusterWithScripts; channels: string[] };
    try {
      opened = await this.openCluster();
    } catch {
      this.reopening = false;
      this.reopenLater();
      return;
    }
    const { client, channels } = opened;
    this.reopening = false;
    if (this.closed) {
      client.disconnect();
      return;
    }
    const old = this.cluster;
    this.cluster = client;
    old?.disconnect();
    this.reopenAttempts = 0;
    this.shardLost = false;
    this.shardsBack = false;
    // Channels unsubscribed while the new client was subscribing them.
    for (const channel of channels) if (!this.channels.has(channel)) client.sunsubscribe(this.pubsubChannel(channel)).catch(() => {});
    this.reconnectHandler();
  }

  /** `prefix{channel}:kind`: the hash tag keeps a channel's keys in one Cluster slot. */
  private key(channel: string, kind: string): string {
    return `${this.prefix}{${channel}}:${kind}`;
  }

  /** The pub/sub channel of a channel's live publications; on a Cluster, a shard channel in the slot of its keys. */
  private pubsubChannel(channel: string): string {
    return this.standalone ? `${this.prefix}channel:${channel}` : this.key(channel, 'live');
  }

  private async run<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (err) {
      throw unavailableError('the broker', err);
    }
  }

  /**
   * Refused while the node is not healthy (as readiness says). Publications on a channel without
   * history reach this node's own subscribers directly, not through its subscriber connection, which
   * may drop after Redis accepted them: nothing could bring them back. Those with history come
   * through it; a gap is read from the stream.
   */
  async publish(pub: Publication, opts?: { history?: HistoryOptions }): Promise<StreamPosition | undefined> {
    if (!this.healthy) throw unavailableError('the broker', new Error('not connected'));
    const history = opts?.history;
    // A presence event (join/leave) carries `p`, so subscribers on every node get it as one.
    const body = JSON.stringify({ c: pub.channel, d: pub.data, t: pub.time, ...(pub.presence ? { p: pub.presence } : {}), ...(history ? {} : { n: this.origin }) });
    if (!history) {
      const message = `::${body}`;
      const channel = this.pubsubChannel(pub.channel);
      await this.run(() => (this.standalone ? this.commands.publish(channel, message) : this.commands.spublish(channel, message)));
      this.handler(pub);
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
    if (!this.healthy) throw unavailableError('the broker', new Error('not connected'));
    const name = this.pubsubChannel(channel);
    if (this.standalone) {
      const { subscriber } = this.standalone;
      await this.run(() => subscriber.subscribe(name));
      return;
    }
    const cluster = this.cluster!;
    await this.run(() => cluster.ssubscribe(name));
    this.channels.add(channel);
  }

  async unsubscribe(channel: string): Promise<void> {
    const name = this.pubsubChannel(channel);
    if (this.standalone) {
      const { subscriber } = this.standalone;
      if (subscriber.status !== 'ready') return;
      await subscriber.unsubscribe(name);
      return;
    }
    this.channels.delete(channel);
    if (this.cluster?.status !== 'ready') return;
    await this.cluster.sunsubscribe(name);
  }

  onPublication(handler: (pub: Publication) => void): void {
    this.handler = handler;
  }

  onReconnect(handler: () => void): void {
    this.reconnectHandler = handler;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reopenTimer);
    clearTimeout(this.settleTimer);
    this.opening?.disconnect();
    const clients = this.standalone ? [this.standalone.commands, this.standalone.subscriber] : this.cluster ? [this.cluster] : [];
    await Promise.allSettled(clients.map((client) => client.quit()));
    for (const client of clients) client.disconnect();
  }
}
