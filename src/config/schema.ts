import { availableParallelism } from 'node:os';
import {
  parseBoolean,
  parseBytes,
  parseDuration,
  parseEnum,
  parseInteger,
  parseString,
  parsePublicKeys,
  parseStringList,
  parseUrl,
  parseUrlList,
  httpSchemes,
} from './values.js';
import { parseBackends, parseRoutes } from './routing.js';
import type { RoutingOptions } from './routing.js';
import { parseRoutes as parseGatewayRoutes, parseStaticServices, type GatewayRoute, type StaticService } from './gateway.js';
import { SelectionExpression } from './selection.js';
import { parseBridgeDefinitions, type BridgeDefinition } from './bridges.js';
import { parseOrigins } from './origins.js';
import { parseApplicationDefinitions, type ApplicationDefinition, type Quotas } from './topics.js';
import { parseTargetList } from '../outbound/targets.js';
import { parseTrustedProxies } from './trusted-proxies.js';
import { parseGraphqlTypeDefinition } from '../graphql/sdl/typed-channels.js';
import { buildChannelTypes } from '../graphql/sdl/channel-types.js';

/**
 * Who may do something on a channel of a namespace, from a client connection: anyone; any
 * authenticated user; users whose `claim` lists the channel; holders of a subscription token for
 * the channel (subscribe only); whoever the namespace's hook allows; nobody (server API only).
 */
export const accessLevels = ['public', 'authenticated', 'claim', 'token', 'hook', 'server'] as const;
export type AccessLevel = (typeof accessLevels)[number];

export interface NamespaceOptions {
  /** Who may subscribe from a client connection. `server`: only through the server API. */
  subscribe: AccessLevel;
  /** Who may publish from a client connection. `server`: only through the server API. */
  publish: AccessLevel;
  /** The claim (or connect hook context key) listing channels a user may use, for the `claim` level. */
  claim: string;
  /** URL asked whether a client may subscribe, for the `hook` level. */
  subscribeHook: string;
  /** URL asked whether a client may publish (and which data to publish), for the `hook` level. */
  publishHook: string;
  /** Keep a member list and send join/leave events to subscribers. */
  presence: boolean;
  /** Publications kept per channel for recovery and long-polling; 0 turns history off. */
  historySize: number;
  /** How long a channel's history lives after its last publication, in ms; 0: for ever. */
  historyTtl: number;
  /** GraphQL SDL of the namespace's publication data (namespaces only; docs/graphql.md); '' for untyped. */
  graphqlType?: string;
}

export interface Config {
  server: {
    host: string;
    port: number;
    /** Browser origins allowed on client endpoints besides the node's own (docs/security.md). */
    allowedOrigins: string[];
    tls: { cert: string; key: string; watchInterval: number; handshakeTimeout: number };
    http2: boolean;
    /** Worker processes sharing server.port (1: this process serves alone). */
    workers: number;
    /** Proxies whose X-Forwarded-For is believed (CIDRs). */
    trustedProxies: string[];
  };
  node: { id: string };
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
  api: { keys: string[]; publishKeys: string[]; insecure: boolean; maxBodyBytes: number; maxBatchSize: number; allowedOrigins: string[] };
  auth: {
    anonymous: boolean;
    jwt: {
      secrets: string[];
      publicKeys: string[];
      jwksUrl: string;
      jwksCacheMaxAge: number;
      jwksCooldown: number;
      algorithms: string[];
      issuer: string;
      audience: string;
      clockSkew: number;
      userClaim: string;
      cookie: string;
      maxTokenBytes: number;
    };
    firstFrameTimeout: number;
    refreshGrace: number;
    privilegedClaim: string;
    privilegedValue: string;
    personalNamespace: string;
    hookTimeout: number;
    connectHook: { url: string; timeout: number; failOpen: boolean };
    disconnectHook: { url: string; timeout: number; retries: number };
  };
  demo: { enabled: boolean };
  admin: {
    /** Serve the admin console and its /api/admin routes, and accept admin sign-ins (keys, role JWTs). */
    enabled: boolean;
    readOnlyKeys: string[];
    roleClaim: string;
    sampleInterval: number;
    historyMinutes: number;
    maxSessionEvents: number;
  };
  sessions: {
    heartbeatInterval: number;
    closeGracePeriod: number;
    maxBufferedBytes: number;
    maxSubscriptions: number;
    lifetime: { enabled: boolean; min: number; max: number };
  };
  limits: {
    maxFrameBytes: number;
    maxBadFrames: number;
    clientMessagesPerSecond: number;
    clientMessagesBurst: number;
    maxConnections: number;
    maxConnectionsPerIp: number;
    maxJsonDepth: number;
  };
  channels: {
    maxNameLength: number;
    default: NamespaceOptions;
    /** Options each namespace sets; the rest come from channels.default. */
    namespaces: Record<string, Partial<NamespaceOptions>>;
  };
  broker: {
    type: 'memory' | 'redis' | 'nats';
    redis: { url: string; prefix: string; cluster: boolean };
    nats: { servers: string; prefix: string; user: string; pass: string; token: string };
  };
  cluster: { heartbeatInterval: number; nodeTimeout: number; presenceTtl: number; queryTimeout: number; advertiseUrl: string };
  shutdown: { drainWindow: number };
  longPoll: { timeout: number; maxMessages: number };
  compat: { push: { enabled: boolean } };
  bridges: {
    definitions: BridgeDefinition[];
    startAt: 'latest' | 'earliest';
    maxRecordBytes: number;
    retryBackoffMax: number;
    kafka: { brokers: string[]; clientId: string; sessionTimeout: number };
    nats: { servers: string };
    redis: { url: string; claimIdle: number };
  };
  routing: RoutingOptions & { retry: { maxAttempts: number; initialBackoff: number; maxBackoff: number } };
  gateway: {
    enabled: boolean;
    routes: GatewayRoute[];
    services: Record<string, StaticService>;
    trustForwarded: boolean;
    registry: { maxInstances: number; registrationsPerSecond: number; resyncInterval: number };
    health: { interval: number; timeout: number; fall: number; rise: number };
    ejection: { consecutiveFailures: number; baseTime: number; maxTime: number };
    limits: { maxHeaderBytes: number; maxBodyBytes: number };
    upstream: { connections: number; connectTimeout: number; keepAliveTimeout: number };
    grpc: { maxMessageBytes: number };
    graphql: { maxMessageBytes: number; maxOperations: number; maxBufferedBytes: number; connectionInitTimeout: number; keepAlive: number };
  };
  topics: {
    store: 'broker' | 'memory' | 'redis' | 'nats' | 'kafka';
    idempotencyWindow: number;
    cacheEntries: number;
    maxBatchSize: number;
    maxRequestBytes: number;
    maxAttributes: number;
    maxAttributeKeyBytes: number;
    maxAttributeValueBytes: number;
    maxKeyBytes: number;
    maxPullMessages: number;
    maxPullWait: number;
    ackDeadline: number;
    maxAckDeadline: number;
    maxDeliveryAttempts: number;
    retention: number;
    retentionBytes: number;
    quotas: Quotas;
    applications: ApplicationDefinition[];
    push: { timeout: number; minBackoff: number; maxBackoff: number; concurrency: number };
    stream: { maxOutstanding: number };
    kafka: { brokers: string[]; clientId: string; prefix: string; idempotent: boolean; sessionTimeout: number; replicationFactor: number; maxBuffered: number };
  };
  metrics: {
    /** Admin port serving only /metrics; 0: /metrics on server.port. */
    port: number;
  };
  graphql: { enabled: boolean; maxOperations: number; maxQueryBytes: number };
  security: {
    /** Internal addresses push endpoints and runtime-registered gateway instances may reach anyway: CIDRs, addresses, host names. */
    allowedPrivateTargets: string[];
  };
}

/** One leaf setting: how to parse it, its default and a sentence for `config print --describe` and the docs. */
export interface Field {
  parse: (value: unknown) => unknown;
  default: unknown;
  doc: string;
  /** A map or list: given as JSON in an environment variable or flag. */
  structured?: true;
  /**
   * What `config print` masks: true, the whole value (each element of a list, each value of a map);
   * or paths to the secrets inside a structured value, where `*` is any list element or map key.
   * Header values set in the config are all secrets, whatever the header's name.
   */
  secret?: true | readonly string[];
}

export type SchemaNode = Field | { [key: string]: SchemaNode };

export function isField(node: SchemaNode): node is Field {
  return typeof (node as Field).parse === 'function';
}

/** What a NATS server address may start with (a bare host:port is accepted too). */
const natsSchemes = ['nats', 'tls', 'ws', 'wss'] as const;

const namespaceFields = (defaults: NamespaceOptions): Record<string, Field> => ({
  subscribe: {
    parse: (v) => parseEnum(v, accessLevels),
    default: defaults.subscribe,
    doc: 'who may subscribe from a client: public, authenticated, claim, token (a subscription token), hook or server (API only)',
  },
  publish: {
    parse: (v) => parseEnum(v, accessLevels),
    default: defaults.publish,
    doc: 'who may publish from a client: public, authenticated, claim, hook or server (API only)',
  },
  presence: { parse: parseBoolean, default: defaults.presence, doc: 'track members and send join/leave events' },
  historySize: {
    parse: (v) => parseInteger(v, 0, 1_000_000),
    default: defaults.historySize,
    doc: 'publications kept per channel so clients can recover what they missed; 0 turns history off',
  },
  claim: { parse: parseString, default: defaults.claim, doc: 'claim listing the channels a user may use, for the claim level' },
  subscribeHook: { parse: (v) => parseUrl(v, httpSchemes), default: defaults.subscribeHook, doc: 'URL asked before a client subscribes, for the hook level' },
  publishHook: { parse: (v) => parseUrl(v, httpSchemes), default: defaults.publishHook, doc: 'URL asked before a client publishes; it may reject or rewrite the data (hook level)' },
  historyTtl: {
    parse: parseDuration,
    default: defaults.historyTtl,
    doc: 'how long a channel\'s history lives after its last publication; 0: for ever',
  },
});

/** Options a named namespace may set but channels.default may not. */
const namespaceOnlyFields: Record<string, Field> = {
  graphqlType: {
    parse: parseGraphqlTypeDefinition,
    default: '',
    doc: 'GraphQL SDL of the data published on the namespace\'s channels: its first type is the data\'s type, further types and enums may follow (docs/graphql.md)',
  },
};

const defaultNamespace: NamespaceOptions = {
  subscribe: 'public',
  publish: 'server',
  claim: 'channels',
  subscribeHook: '',
  publishHook: '',
  presence: false,
  historySize: 0,
  historyTtl: 300_000,
};

const namespaceNamePattern = /^[A-Za-z0-9_-]{1,64}$/;

function parseNamespaces(value: unknown): Record<string, Partial<NamespaceOptions>> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error('expected a map of namespace name to options');
  }
  const result: Record<string, Partial<NamespaceOptions>> = {};
  for (const [name, raw] of Object.entries(value)) {
    if (!namespaceNamePattern.test(name)) {
      throw new Error(`namespace name ${JSON.stringify(name)} must match ${namespaceNamePattern.source}`);
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      throw new Error(`namespace ${name}: expected an object of options`);
    }
    const fields = { ...namespaceFields(defaultNamespace), ...namespaceOnlyFields };
    const options: Record<string, unknown> = {};
    for (const key of Object.keys(raw)) {
      if (!Object.hasOwn(fields, key)) throw new Error(`namespace ${name}: unknown option ${JSON.stringify(key)}`);
    }
    for (const [key, field] of Object.entries(fields)) {
      const given = (raw as Record<string, unknown>)[key];
      if (given === undefined) continue;
      try {
        options[key] = field.parse(given);
      } catch (err) {
        throw new Error(`namespace ${name}.${key}: ${(err as Error).message}`);
      }
    }
    result[name] = options as Partial<NamespaceOptions>;
  }
  // Typed namespaces become one GraphQL schema: names and types must fit together.
  if (Object.values(result).some((options) => options.graphqlType?.trim())) buildChannelTypes(result);
  return result;
}

/** server.workers: a count, or auto for one worker per CPU this process may use. */
function parseWorkers(value: unknown): number {
  if (value === 'auto') return availableParallelism();
  try {
    return parseInteger(value, 1, 1024);
  } catch (err) {
    throw new Error(`expected auto or ${(err as Error).message.replace(/^expected /, '')}`);
  }
}

export const schema: SchemaNode = {
  server: {
    host: { parse: parseString, default: '0.0.0.0', doc: 'address the HTTP/WebSocket port listens on' },
    port: { parse: (v) => parseInteger(v, 0, 65535), default: 8080, doc: 'the one port for clients, API, metrics and demo (0 picks a free port)' },
    allowedOrigins: {
      parse: parseOrigins,
      default: [],
      doc: 'browser origins (besides the node\'s own) whose pages may use the client endpoints and send cookies: https://app.example.com, https://*.example.com; * allows every origin without credentials',
    },
    tls: {
      cert: { parse: parseString, default: '', doc: 'PEM certificate file (with its CA chain) to serve https and wss on server.port; empty: plain http' },
      key: { parse: parseString, default: '', doc: 'PEM private key file of server.tls.cert' },
      handshakeTimeout: { parse: parseDuration, default: '10s', doc: 'a TLS connection that has not completed its handshake this long after connecting is dropped' },
      watchInterval: { parse: parseDuration, default: '10s', doc: 'how often the certificate and key files are checked for changes and reloaded (SIGHUP reloads at once); 0: only on SIGHUP' },
    },
    http2: { parse: parseBoolean, default: true, doc: 'offer HTTP/2 (ALPN h2) beside HTTP/1.1 when TLS is on' },
    workers: {
      parse: parseWorkers,
      default: 1,
      doc: 'worker processes that share server.port, each a node of its own (NODEID/wN); auto: one per available CPU; 1: this process serves alone',
    },
    trustedProxies: {
      parse: (v) => parseTrustedProxies(parseStringList(v)),
      default: [],
      doc: 'proxies (CIDRs or addresses) whose X-Forwarded-For is believed: from them, the right-most address not itself a trusted proxy is the client address of sessions, logs and limits.maxConnectionsPerIp; from others the header is ignored',
    },
  },
  node: {
    id: { parse: parseString, default: '', doc: 'this node\'s id; empty means a random one at start' },
  },
  log: {
    level: {
      parse: (v) => parseEnum(v, ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
      default: 'info',
      doc: 'minimum level of the JSON log lines written to stdout',
    },
  },
  api: {
    keys: { parse: parseStringList, default: [], secret: true, doc: 'admin API keys: every API call (Authorization: Bearer KEY or X-API-Key: KEY); list several to rotate' },
    publishKeys: { parse: parseStringList, default: [], secret: true, doc: 'API keys limited to the publish scope: publishing, pushing to users, reading history and presence' },
    insecure: { parse: parseBoolean, default: false, doc: 'serve the server API without a key; only for local use' },
    maxBodyBytes: { parse: parseBytes, default: '1MiB', doc: 'largest request body the API accepts (413 too_large above it)' },
    maxBatchSize: { parse: (v) => parseInteger(v, 1, 100_000), default: 10_000, doc: 'most publications in one batch or broadcast request' },
    allowedOrigins: {
      parse: parseOrigins,
      default: [],
      doc: 'browser origins (besides the node\'s own) allowed to call the server API with CORS; empty: none (API keys do not belong in pages)',
    },
  },
  demo: {
    enabled: { parse: parseBoolean, default: false, doc: 'serve the demo page at / (and add the namespace chat it uses, unless configured)' },
  },
  admin: {
    enabled: { parse: parseBoolean, default: false, doc: 'serve the admin console at /admin/ and the /api/admin routes, and accept read-only keys and admin JWTs on the server API and the console\'s live feed; off: none of it exists' },
    readOnlyKeys: { parse: parseStringList, default: [], secret: true, doc: 'API keys of the read-only console role: every GET of the server API and the live feed, nothing that changes state (403 forbidden)' },
    roleClaim: { parse: parseString, default: 'switchboard_role', doc: 'JWT claim naming a console role, admin or read-only; a JWT carrying it signs in to the console and the server API with that role' },
    sampleInterval: { parse: parseDuration, default: '5s', doc: 'how often each node samples its own counters (connections, rates, CPU, memory) for the console\'s charts and the $admin:stats channel' },
    historyMinutes: { parse: (v) => parseInteger(v, 1, 1440), default: 15, doc: 'minutes of samples each node keeps in memory for GET /api/admin/stats' },
    maxSessionEvents: {
      parse: (v) => parseInteger(v, 1, 1_000_000),
      default: 1000,
      doc: 'most session opened/closed events one node publishes to $admin:sessions in its batch of a second; the rest are counted as dropped (switchboard_limit_hits_total{limit="session_events"})',
    },
  },
  auth: {
    anonymous: { parse: parseBoolean, default: false, doc: 'accept connections without a token or connect hook answer, as the anonymous user; --demo makes it true unless it is set' },
    jwt: {
      secrets: { parse: parseStringList, default: [], secret: true, doc: 'HMAC secrets for HS256/HS384/HS512 client tokens; list several to rotate' },
      publicKeys: { parse: parsePublicKeys, default: [], doc: 'PEM public keys (SPKI) for RS256/ES256/EdDSA client tokens' },
      jwksUrl: { parse: (v) => parseUrl(v, httpSchemes), default: '', doc: 'JWKS URL to fetch token keys from (cached, refetched for unknown key ids)' },
      jwksCacheMaxAge: { parse: parseDuration, default: '10m', doc: 'how long fetched JWKS keys are used before they are fetched again' },
      jwksCooldown: { parse: parseDuration, default: '30s', doc: 'least time between two JWKS fetches (rate limit for unknown key ids)' },
      algorithms: {
        parse: (v) => parseStringList(v).map((a) => parseEnum(a, ['HS256', 'HS384', 'HS512', 'RS256', 'ES256', 'EdDSA'] as const)),
        default: ['HS256', 'HS384', 'HS512', 'RS256', 'ES256', 'EdDSA'],
        doc: 'token algorithms accepted; none is never accepted',
      },
      issuer: { parse: parseString, default: '', doc: 'required iss claim; empty: not checked' },
      audience: { parse: parseString, default: '', doc: 'required aud claim; empty: not checked' },
      clockSkew: { parse: parseDuration, default: '30s', doc: 'tolerance for exp and nbf' },
      userClaim: { parse: parseString, default: 'sub', doc: 'claim that names the user' },
      cookie: { parse: parseString, default: 'switchboard_token', doc: 'cookie a browser may carry its token in' },
      maxTokenBytes: { parse: parseBytes, default: '8KiB', doc: 'largest token accepted' },
    },
    firstFrameTimeout: { parse: parseDuration, default: '5s', doc: 'how long a WebSocket may take to send its token in a first connect frame' },
    refreshGrace: { parse: parseDuration, default: '10s', doc: 'after a token expires, how long the client has to send a new one before the session is closed' },
    privilegedClaim: { parse: parseString, default: 'role', doc: 'claim that marks privileged users (they may subscribe to other users\' personal channels)' },
    privilegedValue: { parse: parseString, default: 'admin', doc: 'value of privilegedClaim (or an element of it) that makes a user privileged' },
    personalNamespace: { parse: parseString, default: 'user', doc: 'namespace of personal channels: every session of user U is subscribed to NAMESPACE:U' },
    hookTimeout: { parse: parseDuration, default: '2s', doc: 'timeout of subscribe and publish hook calls (they deny on timeout)' },
    connectHook: {
      url: { parse: (v) => parseUrl(v, httpSchemes), default: '', doc: 'URL asked before a connection is accepted (authorizer); empty: no hook' },
      timeout: { parse: parseDuration, default: '2s', doc: 'timeout of a connect hook call' },
      failOpen: { parse: parseBoolean, default: false, doc: 'accept connections as anonymous when the connect hook fails or times out (default: refuse)' },
    },
    disconnectHook: {
      url: { parse: (v) => parseUrl(v, httpSchemes), default: '', doc: 'URL told when a session ends; empty: no hook' },
      timeout: { parse: parseDuration, default: '2s', doc: 'timeout of one disconnect hook call' },
      retries: { parse: (v) => parseInteger(v, 0, 20), default: 3, doc: 'retries of a failed disconnect hook call, with growing delays' },
    },
  },
  sessions: {
    heartbeatInterval: { parse: parseDuration, default: '30s', doc: 'how often the server sends heartbeats (WebSocket ping, SSE comment)' },
    closeGracePeriod: { parse: parseDuration, default: '4s', doc: 'how long the server waits for a heartbeat answer or a requested close before closing itself' },
    maxBufferedBytes: { parse: parseBytes, default: '4MiB', doc: 'outbound bytes a session may have waiting; above it the session is closed with slow_consumer' },
    maxSubscriptions: { parse: (v) => parseInteger(v, 1, 1_000_000), default: 128, doc: 'channels one session may subscribe to' },
    lifetime: {
      enabled: { parse: parseBoolean, default: false, doc: 'close native sessions after a random lifetime between min and max (Push-compatible sessions always have one)' },
      min: { parse: parseDuration, default: '120s', doc: 'shortest connection lifetime (the Push seed\'s reconnect dither min)' },
      max: { parse: parseDuration, default: '180s', doc: 'longest connection lifetime (the Push seed\'s reconnect dither max)' },
    },
  },
  limits: {
    maxFrameBytes: { parse: parseBytes, default: '64KiB', doc: 'largest client WebSocket frame; larger frames close the connection with 1009' },
    maxBadFrames: { parse: (v) => parseInteger(v, 1, 1_000_000), default: 10, doc: 'invalid client frames tolerated before the session is closed with bad_request' },
    clientMessagesPerSecond: { parse: (v) => parseInteger(v, 1, 1_000_000_000), default: 100, doc: 'sustained client frames per second per session' },
    clientMessagesBurst: { parse: (v) => parseInteger(v, 1, 1_000_000_000), default: 200, doc: 'client frames a session may send at once above the sustained rate' },
    maxConnections: { parse: (v) => parseInteger(v, 0, 100_000_000), default: 0, doc: 'client connections this node accepts at once; 0 means no limit' },
    maxConnectionsPerIp: {
      parse: (v) => parseInteger(v, 0, 100_000_000),
      default: 0,
      doc: 'client connections this node accepts at once from one remote IP address; 0 means no limit',
    },
    maxJsonDepth: {
      parse: (v) => parseInteger(v, 1, 10_000),
      default: 64,
      doc: 'deepest nesting of arrays and objects accepted in any JSON input (client frames, API bodies, hook and backend answers)',
    },
  },
  channels: {
    maxNameLength: { parse: (v) => parseInteger(v, 1, 4096), default: 255, doc: 'longest channel name' },
    default: namespaceFields(defaultNamespace),
    namespaces: {
      parse: parseNamespaces,
      default: {},
      structured: true,
      doc: 'options per namespace (the part of a channel name before ":"); options a namespace leaves out come from channels.default',
    },
  },
  broker: {
    type: {
      parse: (v) => parseEnum(v, ['memory', 'redis', 'nats'] as const),
      default: 'memory',
      doc: 'the broker that carries publications, history, presence and control between nodes: memory (one process), redis or nats',
    },
    redis: {
      url: { parse: (v) => parseUrlList(v, ['redis', 'rediss']), default: 'redis://127.0.0.1:6379', doc: 'Redis URL; rediss:// for TLS, redis://user:password@host:port/db for credentials' },
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
  },
  cluster: {
    heartbeatInterval: { parse: parseDuration, default: '2s', doc: 'how often a node reports itself to the others over the broker' },
    nodeTimeout: { parse: parseDuration, default: '6s', doc: 'a node that has not reported for this long is dropped from the cluster view' },
    presenceTtl: { parse: parseDuration, default: '30s', doc: 'presence entries expire unless their node refreshes them within this time (it does every third of it)' },
    queryTimeout: { parse: parseDuration, default: '1s', doc: 'how long a cluster-wide API answer waits for the other nodes' },
    advertiseUrl: { parse: (v) => parseUrl(v, httpSchemes), default: '', doc: 'the URL other nodes and operators see for this node; empty: http://HOST:PORT, where a HOST of 0.0.0.0 or :: is replaced by the first non-loopback IPv4 address of the machine (or its host name)' },
  },
  shutdown: {
    drainWindow: { parse: parseDuration, default: '10s', doc: 'on SIGTERM, sessions are asked to reconnect spread over this window before the node exits' },
  },
  longPoll: {
    timeout: { parse: parseDuration, default: '25s', doc: 'how long a long-poll request is held open when nothing is waiting' },
    maxMessages: { parse: (v) => parseInteger(v, 1, 100_000), default: 1000, doc: 'most publications one long-poll answer carries' },
  },
  routing: {
    selectionExpression: {
      parse: (v) => new SelectionExpression(parseString(v)).source,
      default: '$.action',
      doc: 'route selection expression: the JSON path into a send frame\'s data whose value is matched against route keys (AWS style, e.g. $.action)',
    },
    backends: {
      parse: parseBackends,
      default: {},
      structured: true,
      secret: ['*.headers'],
      doc: 'backends client messages are routed to: a map of name to a URL, or to {url or service (a gateway service) and path, timeout, maxResponseBytes, connections, headers}',
    },
    routes: {
      parse: parseRoutes,
      default: [],
      structured: true,
      doc: 'ordered list of routes for client send/rpc messages: each with a name, one of key, regex or rules, one of backend or channel, and durable, maxAttempts; the first match wins',
    },
    timeout: { parse: parseDuration, default: '10s', doc: 'a backend\'s time limit to connect, to start its answer, and between the chunks of its answer, unless the backend sets its own' },
    rulesTimeout: { parse: parseDuration, default: '2s', doc: 'how long a rules service may take to choose a destination' },
    maxResponseBytes: { parse: parseBytes, default: '1MiB', doc: 'largest backend answer read; larger answers become backend_error' },
    breaker: {
      failures: { parse: (v) => parseInteger(v, 1, 1_000_000), default: 5, doc: 'consecutive failed calls (unreachable, timeout, 5xx, bad answer) that open a backend\'s circuit breaker' },
      openFor: { parse: parseDuration, default: '10s', doc: 'how long an open breaker refuses calls at once before letting one probe through' },
    },
    retry: {
      maxAttempts: { parse: (v) => parseInteger(v, 1, 1000), default: 5, doc: 'delivery attempts of a durable message before it goes to its route\'s dead letters (a route may set its own)' },
      initialBackoff: { parse: parseDuration, default: '500ms', doc: 'wait before the second attempt of a durable delivery; it doubles with each attempt, with full jitter' },
      maxBackoff: { parse: parseDuration, default: '1m', doc: 'longest wait between two attempts of a durable delivery' },
    },
  },
  compat: {
    push: {
      enabled: { parse: parseBoolean, default: true, doc: 'serve the Push-compatible endpoints /messages, /sse/messages and /ws/messages' },
    },
  },
  bridges: {
    definitions: {
      parse: parseBridgeDefinitions,
      default: [],
      structured: true,
      doc: 'bridges from Kafka topics, NATS subjects, JetStream streams or Redis streams onto channels or users: each with a name, a source and its topic, subject or stream, a group, a target {type, one of value, field or header, prefix} and a payload (docs/bridges.md)',
    },
    startAt: {
      parse: (v) => parseEnum(v, ['latest', 'earliest'] as const),
      default: 'latest',
      doc: 'where a bridge\'s new consumer group starts: latest (records published from now on) or earliest (everything the source still holds)',
    },
    maxRecordBytes: { parse: parseBytes, default: '1MiB', doc: 'largest record a bridge delivers; larger ones are skipped and counted as malformed' },
    retryBackoffMax: { parse: parseDuration, default: '5s', doc: 'longest wait between two attempts to deliver a bridged record while delivery fails (it is not committed meanwhile)' },
    kafka: {
      brokers: { parse: parseStringList, default: [], doc: 'Kafka bootstrap servers (host:port, comma-separated) the kafka bridges read from' },
      clientId: { parse: parseString, default: 'switchboard', doc: 'client id the kafka bridges give the Kafka brokers' },
      sessionTimeout: {
        parse: parseDuration,
        default: '30s',
        doc: 'a node that stops heartbeating to its Kafka consumer group this long (it died) loses its partitions to the other nodes',
      },
    },
    nats: {
      servers: { parse: (v) => parseUrlList(v, natsSchemes, { optional: true, bare: true }), default: '', doc: 'comma-separated NATS server URLs of the nats and jetstream bridges; empty: the broker\'s (broker.nats.*, with its credentials)' },
    },
    redis: {
      url: { parse: (v) => parseUrlList(v, ['redis', 'rediss'], { optional: true }), default: '', doc: 'Redis URL of the redis bridges; empty: broker.redis.url' },
      claimIdle: { parse: parseDuration, default: '30s', doc: 'a stream entry another node read but left unacknowledged this long (it died) is claimed and delivered by a live node' },
    },
  },
  gateway: {
    enabled: { parse: parseBoolean, default: false, doc: 'run the service gateway: the service registry, its API under /api/services and the proxy routes (docs/gateway.md)' },
    routes: {
      parse: parseGatewayRoutes,
      default: [],
      structured: true,
      secret: ['*.apiKeys', '*.headers.*.1'],
      doc: 'proxy routes, tried in order: {name, service, host, path | pathRegex, methods, headers, stripPrefix | rewrite, balance, hashOn, timeout, retries, auth, rateLimit, ...} (docs/gateway.md)',
    },
    services: {
      parse: parseStaticServices,
      default: {},
      structured: true,
      doc: 'services whose instances are listed here rather than registered: a map of name to {instances: [url | {id, url, weight, metadata}], check}',
    },
    trustForwarded: { parse: parseBoolean, default: false, doc: 'keep the X-Forwarded-* and Forwarded headers clients send and append to them (only behind a proxy that sets them)' },
    registry: {
      maxInstances: { parse: (v) => parseInteger(v, 1, 1_000_000), default: 10_000, doc: 'most registered instances, over all services (409 limit_exceeded above it)' },
      registrationsPerSecond: { parse: (v) => parseInteger(v, 1, 1_000_000), default: 100, doc: 'registrations and heartbeats one node accepts per second, in bursts of as many (429 rate_limited above it)' },
      resyncInterval: { parse: parseDuration, default: '10s', doc: 'how often a node reads the whole registry from the broker, in case it missed a change notification' },
    },
    health: {
      interval: { parse: parseDuration, default: '5s', doc: 'time between two active health checks of an instance, unless its check sets one' },
      timeout: { parse: parseDuration, default: '2s', doc: 'how long an active health check may take, unless its check sets one' },
      fall: { parse: (v) => parseInteger(v, 1, 100), default: 2, doc: 'consecutive failed active checks that take an instance out of rotation' },
      rise: { parse: (v) => parseInteger(v, 1, 100), default: 1, doc: 'consecutive passed active checks that bring an instance back' },
    },
    ejection: {
      consecutiveFailures: { parse: (v) => parseInteger(v, 1, 1000), default: 5, doc: 'consecutive failed requests (connect errors, timeouts, resets, 5xx) that eject an instance' },
      baseTime: { parse: parseDuration, default: '5s', doc: 'how long a first ejection lasts; each further one of the same instance lasts twice as long' },
      maxTime: { parse: parseDuration, default: '5m', doc: 'longest ejection' },
    },
    limits: {
      maxHeaderBytes: { parse: parseBytes, default: '16KiB', doc: 'largest request header block a proxied request may have (413 too_large above it)' },
      maxBodyBytes: { parse: parseBytes, default: '64MiB', doc: 'largest request body a proxied request may stream (413 too_large above it); 0: no limit' },
    },
    upstream: {
      connections: { parse: (v) => parseInteger(v, 1, 100_000), default: 128, doc: 'most connections to one upstream instance (kept alive and reused)' },
      connectTimeout: { parse: parseDuration, default: '2s', doc: 'how long connecting to an upstream instance may take before it counts as a connect error' },
      keepAliveTimeout: { parse: parseDuration, default: '30s', doc: 'how long an idle upstream connection is kept open' },
    },
    grpc: {
      maxMessageBytes: { parse: parseBytes, default: '4MiB', doc: 'largest request or response body forwarded to or from a gRPC ForwardingService (413 too_large / 502 backend_error above it)' },
    },
    graphql: {
      maxMessageBytes: { parse: parseBytes, default: '1MiB', doc: 'largest graphql-transport-ws message a client or a service instance may send on a graphql route (the socket is closed with 1009 above it)' },
      maxOperations: { parse: (v) => parseInteger(v, 1, 100_000), default: 100, doc: 'most operations in flight on one client WebSocket of a graphql route (a further one gets a GraphQL error with code limit_exceeded)' },
      maxBufferedBytes: { parse: parseBytes, default: '4MiB', doc: 'outbound bytes a client WebSocket of a graphql route may have waiting; above it the socket is cut (counted in switchboard_limit_hits_total{limit="buffer"})' },
      connectionInitTimeout: { parse: parseDuration, default: '3s', doc: 'how long a client WebSocket of a graphql route may take to send connection_init before it is closed with 4408' },
      keepAlive: { parse: parseDuration, default: '15s', doc: 'interval of the WebSocket pings on both sides of a graphql route; a socket that does not answer one within another interval is closed; 0: no pings' },
    },
  },
  topics: {
    store: {
      parse: (v) => parseEnum(v, ['broker', 'memory', 'redis', 'nats', 'kafka'] as const),
      default: 'broker',
      doc: 'where durable topics live: broker (the broker\'s kind, with its connection settings), memory (lost on restart, one node), redis (Streams), nats (JetStream) or kafka (topics.kafka.*)',
    },
    idempotencyWindow: { parse: parseDuration, default: '2m', doc: 'a message whose idempotency key was seen on its topic within this window is accepted once' },
    cacheEntries: {
      parse: (v) => parseInteger(v, 1, 10_000_000),
      default: 10_000,
      doc: 'most applications (known or not: a key naming an unknown application is remembered for 2 s) and most topic records a node keeps cached for 2 s, each',
    },
    maxBatchSize: { parse: (v) => parseInteger(v, 1, 100_000), default: 1000, doc: 'most messages in one publish request (413 too_large above it)' },
    maxRequestBytes: { parse: parseBytes, default: '16MiB', doc: 'largest publish request body (413 too_large above it); other topic API bodies are bounded by api.maxBodyBytes' },
    maxAttributes: { parse: (v) => parseInteger(v, 1, 10_000), default: 100, doc: 'most attributes one topic message may carry (400 bad_request for that message above it)' },
    maxAttributeKeyBytes: { parse: parseBytes, default: 256, doc: 'longest attribute key of a topic message, in bytes (400 bad_request for that message above it)' },
    maxAttributeValueBytes: { parse: parseBytes, default: '1KiB', doc: 'longest attribute value of a topic message, in bytes (400 bad_request for that message above it)' },
    maxKeyBytes: { parse: parseBytes, default: '1KiB', doc: 'longest ordering key or idempotency key of a topic message, in bytes (400 bad_request for that message above it)' },
    maxPullMessages: { parse: (v) => parseInteger(v, 1, 100_000), default: 1000, doc: 'most messages one pull may ask for' },
    maxPullWait: { parse: parseDuration, default: '30s', doc: 'longest a pull may wait for messages' },
    ackDeadline: { parse: parseDuration, default: '30s', doc: 'ack deadline of a subscription that does not set one' },
    maxAckDeadline: { parse: parseDuration, default: '10m', doc: 'longest ack deadline or deadline extension a subscription may ask for' },
    maxDeliveryAttempts: { parse: (v) => parseInteger(v, 0, 1000), default: 5, doc: 'delivery attempts of a subscription that does not set them, before the message goes to its dead-letter topic; 0: unlimited' },
    retention: { parse: parseDuration, default: '168h', doc: 'how long a topic keeps messages unless it sets its own retention; 0: until the size limit' },
    retentionBytes: { parse: parseBytes, default: '1GiB', doc: 'most bytes a topic keeps unless it sets its own; 0: no size limit' },
    quotas: {
      messagesPerSecond: { parse: (v) => parseInteger(v, 1, 100_000_000), default: 100_000, doc: 'messages an application may publish per second on one node, unless it has its own quota (429 rate_limited above it)' },
      bytesPerSecond: { parse: parseBytes, default: '64MiB', doc: 'message bytes an application may publish per second on one node, unless it has its own quota (429 rate_limited above it)' },
      maxMessageBytes: { parse: parseBytes, default: '256KiB', doc: 'largest message (data and attributes as JSON) an application may publish, unless it has its own quota (413 too_large above it)' },
      maxTopics: { parse: (v) => parseInteger(v, 0, 1_000_000), default: 1000, doc: 'most topics one application may own, unless it has its own quota (409 limit_exceeded above it)' },
      maxSubscriptions: { parse: (v) => parseInteger(v, 0, 1_000_000), default: 1000, doc: 'most subscriptions one application may own, unless it has its own quota (409 limit_exceeded above it)' },
    },
    applications: {
      parse: parseApplicationDefinitions,
      default: [],
      structured: true,
      secret: ['*.keys.*.key'],
      doc: 'applications (tenants) declared in the config: [{id, keys: [{key, scopes: [publish, subscribe, admin]}], quotas}] (docs/topics.md)',
    },
    push: {
      timeout: { parse: parseDuration, default: '10s', doc: 'how long a push subscription\'s webhook may take to answer before the attempt counts as failed' },
      minBackoff: { parse: parseDuration, default: '1s', doc: 'wait before the first redelivery of a message a webhook refused; doubled (with jitter) for each further attempt' },
      maxBackoff: { parse: parseDuration, default: '60s', doc: 'longest wait between two push attempts of one message' },
      concurrency: { parse: (v) => parseInteger(v, 1, 10_000), default: 16, doc: 'webhook calls one node has in flight per push subscription' },
    },
    stream: {
      maxOutstanding: { parse: (v) => parseInteger(v, 1, 100_000), default: 100, doc: 'default and largest number of unacknowledged messages a streaming pull may hold' },
    },
    kafka: {
      brokers: { parse: parseStringList, default: [], doc: 'Kafka bootstrap servers (host:port, comma-separated) of the kafka topic store' },
      clientId: { parse: parseString, default: 'switchboard-topics', doc: 'client id the kafka topic store gives the Kafka brokers' },
      prefix: {
        parse: (v) => {
          const prefix = parseString(v);
          if (!/^[A-Za-z0-9_-]{1,30}$/.test(prefix)) throw new Error('must be 1 to 30 letters, digits, _ or -');
          return prefix;
        },
        default: 'switchboard',
        doc: 'prefix of the Kafka topics and consumer groups the kafka topic store creates (<prefix>.metadata, <prefix>.idempotency, <prefix>.<topic>.<incarnation>)',
      },
      idempotent: { parse: parseBoolean, default: true, doc: 'idempotent Kafka producer (a retried send is stored once); turn off for clusters that grant no producer ids' },
      sessionTimeout: {
        parse: parseDuration,
        default: '30s',
        doc: 'a node that stops heartbeating to a subscription\'s Kafka consumer group this long (it died) loses its partitions, and their unacknowledged messages, to the other nodes',
      },
      replicationFactor: { parse: (v) => parseInteger(v, -1, 100), default: -1, doc: 'replication factor of the Kafka topics the store creates; -1: the cluster\'s default' },
      maxBuffered: { parse: (v) => parseInteger(v, 100, 10_000_000), default: 100_000, doc: 'most messages of one subscription a node holds in memory (fetched, not yet acknowledged); fetching pauses above it' },
    },
  },
  metrics: {
    port: {
      parse: (v) => parseInteger(v, 0, 65535),
      default: 0,
      doc: 'a separate admin port (on server.host) that serves only GET /metrics, which the client port then no longer serves; 0: /metrics on server.port',
    },
  },
  graphql: {
    enabled: { parse: parseBoolean, default: false, doc: 'serve GraphQL subscriptions onto channels at /graphql, over graphql-ws (WebSocket) and graphql-sse (docs/graphql.md)' },
    maxOperations: {
      parse: (v) => parseInteger(v, 1, 100_000),
      default: 100,
      doc: 'GraphQL operations one connection may have running at once (a GraphQL error limit_exceeded above it)',
    },
    maxQueryBytes: { parse: parseBytes, default: '16KiB', doc: 'longest GraphQL document a client may send (a GraphQL error too_large above it)' },
  },
  security: {
    allowedPrivateTargets: {
      parse: (v) => {
        const list = parseStringList(v);
        parseTargetList(list);
        return list;
      },
      default: [],
      doc: 'loopback, private, link-local and other internal addresses that push endpoints and gateway instances registered through the API may reach anyway: CIDRs (10.1.0.0/16), addresses and host names (*.svc.cluster.local); everything else internal is refused with 403 forbidden_target (docs/security.md)',
    },
  },
};
