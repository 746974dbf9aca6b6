import { parseBoolean, parseBytes, parseDuration, parseEnum, parseInteger, parseString, parseStringList } from '../values.js';
import type { SchemaNode } from '../field.js';
import { parseApplicationDefinitions } from '../topics.js';

/** Durable topics: their store, limits, quotas, applications and push delivery (docs/topics.md). */
export const topics = {
  store: {
    parse: (v) => parseEnum(v, ['broker', 'memory', 'redis', 'nats', 'kafka'] as const),
    default: 'broker',
    doc: "where durable topics live: broker (the broker's kind, with its connection settings), memory (lost on restart, one node), redis (Streams), nats (JetStream) or kafka (topics.kafka.*)",
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
  maxDeliveryAttempts: {
    parse: (v) => parseInteger(v, 0, 1000),
    default: 5,
    doc: 'delivery attempts of a subscription that does not set them, before the message goes to its dead-letter topic; 0: unlimited',
  },
  retention: { parse: parseDuration, default: '168h', doc: 'how long a topic keeps messages unless it sets its own retention; 0: until the size limit' },
  retentionBytes: { parse: parseBytes, default: '1GiB', doc: 'most bytes a topic keeps unless it sets its own; 0: no size limit' },
  quotas: {
    messagesPerSecond: {
      parse: (v) => parseInteger(v, 1, 100_000_000),
      default: 100_000,
      doc: 'messages an application may publish per second on one node, unless it has its own quota (429 rate_limited above it)',
    },
    bytesPerSecond: {
      parse: parseBytes,
      default: '64MiB',
      doc: 'message bytes an application may publish per second on one node, unless it has its own quota (429 rate_limited above it)',
    },
    maxMessageBytes: {
      parse: parseBytes,
      default: '256KiB',
      doc: 'largest message (data and attributes as JSON) an application may publish, unless it has its own quota (413 too_large above it)',
    },
    maxTopics: {
      parse: (v) => parseInteger(v, 0, 1_000_000),
      default: 1000,
      doc: 'most topics one application may own, unless it has its own quota (409 limit_exceeded above it)',
    },
    maxSubscriptions: {
      parse: (v) => parseInteger(v, 0, 1_000_000),
      default: 1000,
      doc: 'most subscriptions one application may own, unless it has its own quota (409 limit_exceeded above it)',
    },
  },
  applications: {
    parse: parseApplicationDefinitions,
    default: [],
    structured: true,
    secret: ['*.keys.*.key'],
    doc: 'applications (tenants) declared in the config: [{id, keys: [{key, scopes: [publish, subscribe, admin]}], quotas}] (docs/topics.md)',
  },
  push: {
    timeout: { parse: parseDuration, default: '10s', doc: "how long a push subscription's webhook may take to answer before the attempt counts as failed" },
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
      doc: "a node that stops heartbeating to a subscription's Kafka consumer group this long (it died) loses its partitions, and their unacknowledged messages, to the other nodes",
    },
    replicationFactor: { parse: (v) => parseInteger(v, -1, 100), default: -1, doc: "replication factor of the Kafka topics the store creates; -1: the cluster's default" },
    maxBuffered: {
      parse: (v) => parseInteger(v, 100, 10_000_000),
      default: 100_000,
      doc: 'most messages of one subscription a node holds in memory (fetched, not yet acknowledged); fetching pauses above it',
    },
  },
} satisfies SchemaNode;
