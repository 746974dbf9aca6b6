import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { backoffDelay, reconnectBackoff } from './backoff.js';

/** Where a feature's Redis is (broker.redis): one URL, or with `cluster` the seed URLs of a Redis Cluster. */
export interface RedisSettings {
  /** A Redis URL; with `cluster`, one or more comma-separated seed URLs of the Cluster's nodes. */
  url: string;
  cluster?: boolean;
}

/** A client of either kind: the commands both have are what the features use. */
export type RedisClient = Redis | Cluster;

/** The seed nodes and connection options of a Cluster from comma-separated redis:// or rediss:// URLs. */
export function clusterSeeds(urls: string): { nodes: { host: string; port: number }[]; username?: string; password?: string; tls?: object } {
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

/** Reconnection delays of a client that reconnects by itself (ioredis counts the attempts from 1). */
export const redisRetryStrategy = (times: number): number => backoffDelay(reconnectBackoff, times);

export interface RedisClientOptions {
  /** Commands wait in a queue while disconnected instead of failing at once (subscriber connections). */
  offlineQueue: boolean;
  /** Whether the client reconnects by itself after losing the server, with the shared backoff. */
  reconnect: boolean;
  /** Attempts of a command before it fails; null: until it succeeds. */
  maxRetriesPerRequest?: number | null;
  /** Extra options of a Cluster client, over those given here. */
  cluster?: Partial<ClusterOptions>;
}

/**
 * A client for the settings, not connected yet (`connect()` opens it): one Redis, or a Cluster
 * from its seeds (credentials and TLS of the first URL).
 */
export function createRedisClient(settings: RedisSettings, options: RedisClientOptions): RedisClient {
  const maxRetriesPerRequest = options.maxRetriesPerRequest === undefined ? 1 : options.maxRetriesPerRequest;
  let client: RedisClient;
  if (settings.cluster) {
    const { nodes, ...connection } = clusterSeeds(settings.url);
    const { redisOptions, ...cluster } = options.cluster ?? {};
    client = new Cluster(nodes, {
      lazyConnect: true,
      enableOfflineQueue: options.offlineQueue,
      clusterRetryStrategy: options.reconnect ? redisRetryStrategy : null,
      ...cluster,
      redisOptions: { maxRetriesPerRequest, ...connection, ...redisOptions },
    });
  } else {
    const standalone: RedisOptions = { lazyConnect: true, maxRetriesPerRequest, enableOfflineQueue: options.offlineQueue };
    if (options.reconnect) standalone.retryStrategy = redisRetryStrategy;
    client = new Redis(settings.url, standalone);
  }
  // Failures surface where commands are called; the client's own error events would only be noise.
  client.on('error', () => {});
  return client;
}

/** Whether every master a Cluster client is connected to reports cluster_state:ok. */
export async function clusterStateOk(cluster: Cluster): Promise<boolean> {
  const infos = await Promise.all(cluster.nodes('master').map((node) => node.cluster('INFO')));
  return infos.length > 0 && infos.every((info) => /^cluster_state:ok\r?$/m.test(info));
}
