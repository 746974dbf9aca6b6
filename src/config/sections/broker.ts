import { parseBoolean, parseDuration, parseEnum, parseString, parseUrl, parseUrlList, httpSchemes } from '../values.js';
import type { SchemaNode } from '../field.js';

/** What a NATS server address may start with (a bare host:port is accepted too). */
export const natsSchemes = ['nats', 'tls', 'ws', 'wss'] as const;

/** The broker between nodes and the cluster membership it carries. */
export const broker = {
  type: {
    parse: (v) => parseEnum(v, ['memory', 'redis', 'nats'] as const),
    default: 'memory',
    doc: 'the broker that carries publications, history, presence and control between nodes: memory (one process), redis or nats',
  },
  redis: {
    url: {
      parse: (v) => parseUrlList(v, ['redis', 'rediss']),
      default: 'redis://127.0.0.1:6379',
      doc: 'Redis URL; rediss:// for TLS, redis://user:password@host:port/db for credentials',
    },
    prefix: { parse: parseString, default: 'switchboard:', doc: 'prefix of every Redis key and pub/sub channel, so several deployments can share one Redis' },
    cluster: {
      parse: parseBoolean,
      default: false,
      doc: 'the server is a Redis Cluster: broker.redis.url may list several comma-separated seed URLs, and live publications use sharded pub/sub',
    },
  },
  nats: {
    servers: { parse: (v) => parseUrlList(v, natsSchemes, { bare: true }), default: 'nats://127.0.0.1:4222', doc: 'comma-separated NATS server URLs (tls:// for TLS)' },
    prefix: { parse: parseString, default: 'switchboard', doc: 'prefix of every NATS subject, stream and bucket name' },
    user: { parse: parseString, default: '', doc: 'NATS user name' },
    pass: { parse: parseString, default: '', secret: true, doc: 'NATS password' },
    token: { parse: parseString, default: '', secret: true, doc: 'NATS authentication token' },
  },
} satisfies SchemaNode;

export const cluster = {
  heartbeatInterval: { parse: parseDuration, default: '2s', doc: 'how often a node reports itself to the others over the broker' },
  nodeTimeout: { parse: parseDuration, default: '6s', doc: 'a node that has not reported for this long is dropped from the cluster view' },
  presenceTtl: { parse: parseDuration, default: '30s', doc: 'presence entries expire unless their node refreshes them within this time (it does every third of it)' },
  queryTimeout: { parse: parseDuration, default: '1s', doc: 'how long a cluster-wide API answer waits for the other nodes' },
  advertiseUrl: {
    parse: (v) => parseUrl(v, httpSchemes),
    default: '',
    doc: 'the URL other nodes and operators see for this node; empty: http://HOST:PORT, where a HOST of 0.0.0.0 or :: is replaced by the first non-loopback IPv4 address of the machine (or its host name)',
  },
} satisfies SchemaNode;
