import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import { Backoff, reconnectBackoff } from '../../backends/backoff.js';
import { clusterStateOk, createRedisClient } from '../../backends/redis.js';
import { brokerCall, channelKey, controlChannel, notConnected, type BrokerCommands, type ConnectionEvents, type RedisConnection } from './connection.js';
import { brokerScripts } from './scripts.js';

type ClusterCommands = Cluster & BrokerCommands;

/** How long `connect` waits for a Cluster to answer and report `cluster_state:ok`. */
const clusterConnectTimeout = 10_000;
/** Pause between two looks at a Cluster that answers but is not ok yet, and between two tries to settle its shards. */
const recheckMs = 200;

/** A Cluster that answers but does not report `cluster_state:ok` on every master (yet). */
class ClusterNotReady extends Error {}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  const abort = new AbortController();
  const timeout = sleep(ms, undefined, { signal: abort.signal }).then(() => Promise.reject(new Error(`${what} within ${ms} ms`)));
  timeout.catch(() => {});
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    abort.abort();
  }
}

/**
 * A Redis Cluster: one client carries commands, classic and sharded subscriptions. Live
 * publications go through sharded pub/sub on a shard channel with the channel's hash tag; the
 * control channel stays on classic pub/sub, which the Cluster forwards to every node.
 *
 * The client reports its state plainly and does not reconnect by itself. When the whole Cluster is
 * lost the client ends, and `reopen` connects a new one and subscribes every channel on it before
 * the reconnection is reported. The loss of one shard is handled inside the client: ioredis
 * connects a new subscriber to the shard's new or returning master and subscribes its channels
 * again ('-subscriber', then 'subscribersReady').
 */
export class ClusterConnection implements RedisConnection {
  /** The client in use, once connected; replaced by a new one after the Cluster was lost. */
  private client: ClusterCommands | undefined;
  /** The client being connected. */
  private opening: ClusterCommands | undefined;
  /** The channels this node subscribed, to subscribe them on a new client. */
  private readonly channels = new Set<string>();
  private readonly controlChannel: string;
  /** A shard's subscriber was replaced, and its channels were not reported back yet. */
  private shardLost = false;
  /** ioredis subscribed the channels again since the last replacement (`settleShards` confirms). */
  private shardsBack = false;
  private settling = false;
  private settleTimer: NodeJS.Timeout | undefined;
  /** No new `settleShards` attempt before this time (ioredis retries a lost shard in a tight loop). */
  private nextSettle = 0;
  private reopening = false;
  private readonly reopenBackoff = new Backoff(reconnectBackoff);
  private reopenTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly urls: string,
    private readonly prefix: string,
    private readonly events: ConnectionEvents,
  ) {
    this.controlChannel = controlChannel(prefix);
  }

  private newClient(): ClusterCommands {
    const client = createRedisClient(
      { url: this.urls, cluster: true },
      {
        // Commands fail at once while the Cluster (or a command's shard) is unreachable or down:
        // publish answers 503 and nothing waits in a queue or is retried in the background.
        offlineQueue: false,
        reconnect: false,
        cluster: {
          retryDelayOnFailover: 0,
          retryDelayOnClusterDown: 0,
          // Ready once the slots are known; `open` checks cluster_state on every master itself.
          enableReadyCheck: false,
          // One subscriber connection per master for SSUBSCRIBE; ioredis follows a channel's slot to
          // the master that owns it.
          shardedSubscribers: true,
          // Connect to every master at once: losing all of them ends the client.
          redisOptions: { lazyConnect: false },
          scripts: brokerScripts('spublish'),
        },
      },
    ) as ClusterCommands;
    client.on('message', (channel: string, message: string) => {
      if (channel === this.controlChannel) this.events.control(message);
      else this.events.publication(message);
    });
    client.on('smessage', (_channel: string, message: string) => this.events.publication(message));
    client.on('end', () => {
      if (client === this.client) this.reopenLater();
    });
    client.on('-subscriber', () => {
      if (client !== this.client) return;
      this.shardLost = true;
      this.shardsBack = false;
    });
    // ioredis sent SSUBSCRIBE for the shard's channels again before it reports 'subscribersReady'
    // (it reports it too when the new subscriber could not connect: `settleShards` checks).
    client.on('subscribersReady', () => {
      if (client !== this.client || !this.shardLost) return;
      this.shardsBack = true;
      this.settleShards();
    });
    return client;
  }

  /**
   * After a shard's subscriber was replaced: reports the reconnection once a probe SSUBSCRIBE (and
   * SUNSUBSCRIBE) went through the subscriber of every master, after the channels ioredis
   * subscribed there again, and every master reports cluster_state:ok (so the hub can read the gap
   * from history).
   */
  private settleShards(): void {
    const client = this.client;
    if (!client || this.closed || this.settling || !this.shardLost || !this.shardsBack) return;
    if (Date.now() < this.nextSettle) {
      this.settleLater();
      return;
    }
    this.settling = true;
    const probes = this.probes(client).map(async (name) => {
      await client.ssubscribe(name);
      await client.sunsubscribe(name);
    });
    const ok = clusterStateOk(client).then((ok) => {
      if (!ok) throw new ClusterNotReady('cluster_state is not ok');
    });
    Promise.all([...probes, ok]).then(
      () => {
        this.settling = false;
        if (client !== this.client || !this.shardLost || !this.shardsBack) return;
        this.shardLost = false;
        this.events.reconnected();
      },
      () => {
        this.settling = false;
        this.nextSettle = Date.now() + recheckMs;
        this.settleLater();
      },
    );
  }

  private settleLater(): void {
    if (this.settleTimer || this.closed) return;
    this.settleTimer = setTimeout(() => {
      this.settleTimer = undefined;
      this.settleShards();
    }, recheckMs);
  }

  /** One shard channel name in a slot of each master (of the names this prefix allows). */
  private probes(client: Cluster): string[] {
    const owners = new Set<string>();
    for (let slot = 0; slot < 16384; slot++) {
      const owner = client.slots[slot]?.[0];
      if (owner !== undefined) owners.add(owner);
    }
    const probes = new Map<string, string>();
    for (let i = 0; probes.size < owners.size && i < 10_000; i++) {
      const name = `${this.prefix}probe:{${i}}`;
      const owner = client.slots[calculateSlot(name)]?.[0];
      if (owner !== undefined && !probes.has(owner)) probes.set(owner, name);
    }
    return [...probes.values()];
  }

  get commands(): BrokerCommands {
    if (!this.client) throw notConnected();
    return this.client;
  }

  get healthy(): boolean {
    return this.client?.status === 'ready';
  }

  /** A shard channel in the slot of the channel's keys. */
  liveChannel(channel: string): string {
    return channelKey(this.prefix, channel, 'live');
  }

  publishLive(channel: string, message: string): Promise<unknown> {
    return this.commands.spublish(this.liveChannel(channel), message);
  }

  async subscribe(channel: string): Promise<void> {
    const client = this.client!;
    await brokerCall(() => client.ssubscribe(this.liveChannel(channel)));
    this.channels.add(channel);
  }

  async unsubscribe(channel: string): Promise<void> {
    this.channels.delete(channel);
    if (this.client?.status !== 'ready') return;
    await this.client.sunsubscribe(this.liveChannel(channel));
  }

  /** A Cluster that answers but is not ok yet (just created or restarted) gets until the deadline. */
  async connect(): Promise<void> {
    const deadline = Date.now() + clusterConnectTimeout;
    for (;;) {
      try {
        this.client = (await this.open()).client;
        return;
      } catch (err) {
        if (!(err instanceof ClusterNotReady) || Date.now() > deadline || this.closed) throw err;
        await sleep(recheckMs);
      }
    }
  }

  /**
   * A new client, connected, with cluster_state:ok on every master, the control channel and every
   * channel of this node subscribed (each subscription confirmed by its shard).
   */
  private async open(): Promise<{ client: ClusterCommands; channels: string[] }> {
    const client = this.newClient();
    this.opening = client;
    const channels = [...this.channels];
    try {
      await withTimeout(client.connect(), clusterConnectTimeout, 'the Cluster did not answer');
      if (!(await clusterStateOk(client))) throw new ClusterNotReady('cluster_state is not ok');
      await client.subscribe(this.controlChannel);
      await Promise.all(channels.map((channel) => client.ssubscribe(this.liveChannel(channel))));
      return { client, channels };
    } catch (err) {
      client.disconnect();
      throw err;
    } finally {
      if (this.opening === client) this.opening = undefined;
    }
  }

  /** The client ended (the whole Cluster was lost); connect a new one, with backoff. */
  private reopenLater(): void {
    if (this.closed || this.reopening) return;
    this.reopening = true;
    this.reopenTimer = setTimeout(() => void this.reopen(), this.reopenBackoff.next());
  }

  private async reopen(): Promise<void> {
    this.reopenTimer = undefined;
    let opened: { client: ClusterCommands; channels: string[] };
    try {
      opened = await this.open();
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
    const old = this.client;
    this.client = client;
    old?.disconnect();
    this.reopenBackoff.reset();
    this.shardLost = false;
    this.shardsBack = false;
    // Channels unsubscribed while the new client was subscribing them.
    for (const channel of channels) if (!this.channels.has(channel)) client.sunsubscribe(this.liveChannel(channel)).catch(() => {});
    this.events.reconnected();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reopenTimer);
    clearTimeout(this.settleTimer);
    this.opening?.disconnect();
    const client = this.client;
    if (!client) return;
    await Promise.allSettled([client.quit()]);
    client.disconnect();
  }
}
