import {
  parseBoolean,
  parseBytes,
  parseDuration,
  parseEnum,
  parseInteger,
  parseString,
  parseStringList,
} from './values.js';

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
}

export interface Config {
  server: { host: string; port: number };
  node: { id: string };
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
  api: { keys: string[]; publishKeys: string[]; insecure: boolean; maxBodyBytes: number; maxBatchSize: number };
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
}

/** One leaf setting: how to parse it, its default and a sentence for `config print --describe` and the docs. */
export interface Field {
  parse: (value: unknown) => unknown;
  default: unknown;
  doc: string;
  /** A map or list: given as JSON in an environment variable or flag. */
  structured?: true;
}

export type SchemaNode = Field | { [key: string]: SchemaNode };

export function isField(node: SchemaNode): node is Field {
  return typeof (node as Field).parse === 'function';
}

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
  subscribeHook: { parse: parseString, default: defaults.subscribeHook, doc: 'URL asked before a client subscribes, for the hook level' },
  publishHook: { parse: parseString, default: defaults.publishHook, doc: 'URL asked before a client publishes; it may reject or rewrite the data (hook level)' },
  historyTtl: {
    parse: parseDuration,
    default: defaults.historyTtl,
    doc: 'how long a channel\'s history lives after its last publication; 0: for ever',
  },
});

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
    const fields = namespaceFields(defaultNamespace);
    const options: Record<string, unknown> = {};
    for (const key of Object.keys(raw)) {
      if (!(key in fields)) throw new Error(`namespace ${name}: unknown option ${JSON.stringify(key)}`);
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
  return result;
}

export const schema: SchemaNode = {
  server: {
    host: { parse: parseString, default: '0.0.0.0', doc: 'address the HTTP/WebSocket port listens on' },
    port: { parse: (v) => parseInteger(v, 0, 65535), default: 8080, doc: 'the one port for clients, API, metrics and demo (0 picks a free port)' },
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
    keys: { parse: parseStringList, default: [], doc: 'admin API keys: every API call (Authorization: Bearer KEY or X-API-Key: KEY); list several to rotate' },
    publishKeys: { parse: parseStringList, default: [], doc: 'API keys limited to the publish scope: publishing, pushing to users, reading history and presence' },
    insecure: { parse: parseBoolean, default: false, doc: 'serve the server API without a key; only for local use' },
    maxBodyBytes: { parse: parseBytes, default: '1MiB', doc: 'largest request body the API accepts (413 too_large above it)' },
    maxBatchSize: { parse: (v) => parseInteger(v, 1, 100_000), default: 10_000, doc: 'most publications in one batch or broadcast request' },
  },
  demo: {
    enabled: { parse: parseBoolean, default: false, doc: 'serve the demo page at /' },
  },
  auth: {
    anonymous: { parse: parseBoolean, default: true, doc: 'accept connections without a token or connect hook answer, as the anonymous user' },
    jwt: {
      secrets: { parse: parseStringList, default: [], doc: 'HMAC secrets for HS256/HS384/HS512 client tokens; list several to rotate' },
      publicKeys: { parse: parseStringList, default: [], doc: 'PEM public keys (SPKI) for RS256/ES256/EdDSA client tokens' },
      jwksUrl: { parse: parseString, default: '', doc: 'JWKS URL to fetch token keys from (cached, refetched for unknown key ids)' },
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
      url: { parse: parseString, default: '', doc: 'URL asked before a connection is accepted (authorizer); empty: no hook' },
      timeout: { parse: parseDuration, default: '2s', doc: 'timeout of a connect hook call' },
      failOpen: { parse: parseBoolean, default: false, doc: 'accept connections as anonymous when the connect hook fails or times out (default: refuse)' },
    },
    disconnectHook: {
      url: { parse: parseString, default: '', doc: 'URL told when a session ends; empty: no hook' },
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
      url: { parse: parseString, default: 'redis://127.0.0.1:6379', doc: 'Redis URL; rediss:// for TLS, redis://user:password@host:port/db for credentials' },
      prefix: { parse: parseString, default: 'switchboard:', doc: 'prefix of every Redis key and pub/sub channel, so several deployments can share one Redis' },
      cluster: {
        parse: parseBoolean,
        default: false,
        doc: 'the server is a Redis Cluster: broker.redis.url may list several comma-separated seed URLs, and live publications use sharded pub/sub',
      },
    },
    nats: {
      servers: { parse: parseString, default: 'nats://127.0.0.1:4222', doc: 'comma-separated NATS server URLs (tls:// for TLS)' },
      prefix: { parse: parseString, default: 'switchboard', doc: 'prefix of every NATS subject, stream and bucket name' },
      user: { parse: parseString, default: '', doc: 'NATS user name' },
      pass: { parse: parseString, default: '', doc: 'NATS password' },
      token: { parse: parseString, default: '', doc: 'NATS authentication token' },
    },
  },
  cluster: {
    heartbeatInterval: { parse: parseDuration, default: '2s', doc: 'how often a node reports itself to the others over the broker' },
    nodeTimeout: { parse: parseDuration, default: '6s', doc: 'a node that has not reported for this long is dropped from the cluster view' },
    presenceTtl: { parse: parseDuration, default: '30s', doc: 'presence entries expire unless their node refreshes them within this time (it does every third of it)' },
    queryTimeout: { parse: parseDuration, default: '1s', doc: 'how long a cluster-wide API answer waits for the other nodes' },
    advertiseUrl: { parse: parseString, default: '', doc: 'the URL other nodes and operators see for this node; empty: http://HOST:PORT' },
  },
  shutdown: {
    drainWindow: { parse: parseDuration, default: '10s', doc: 'on SIGTERM, sessions are asked to reconnect spread over this window before the node exits' },
  },
  longPoll: {
    timeout: { parse: parseDuration, default: '25s', doc: 'how long a long-poll request is held open when nothing is waiting' },
    maxMessages: { parse: (v) => parseInteger(v, 1, 100_000), default: 1000, doc: 'most publications one long-poll answer carries' },
  },
  compat: {
    push: {
      enabled: { parse: parseBoolean, default: true, doc: 'serve the Push-compatible endpoints /messages, /sse/messages and /ws/messages' },
    },
  },
};
