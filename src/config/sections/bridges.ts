import { parseBytes, parseDuration, parseEnum, parseString, parseStringList, parseUrlList } from '../values.js';
import type { SchemaNode } from '../field.js';
import { parseBridgeDefinitions } from '../bridges.js';
import { natsSchemes } from './broker.js';

/** Bridges from Kafka, NATS and Redis streams onto channels and users (docs/bridges.md). */
export const bridges = {
  definitions: {
    parse: parseBridgeDefinitions,
    default: [],
    structured: true,
    doc: 'bridges from Kafka topics, NATS subjects, JetStream streams or Redis streams onto channels or users: each with a name, a source and its topic, subject or stream, a group, a target {type, one of value, field or header, prefix} and a payload (docs/bridges.md)',
  },
  startAt: {
    parse: (v) => parseEnum(v, ['latest', 'earliest'] as const),
    default: 'latest',
    doc: "where a bridge's new consumer group starts: latest (records published from now on) or earliest (everything the source still holds)",
  },
  maxRecordBytes: { parse: parseBytes, default: '1MiB', doc: 'largest record a bridge delivers; larger ones are skipped and counted as malformed' },
  retryBackoffMax: {
    parse: parseDuration,
    default: '5s',
    doc: 'longest wait between two attempts to deliver a bridged record while delivery fails (it is not committed meanwhile)',
  },
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
    servers: {
      parse: (v) => parseUrlList(v, natsSchemes, { optional: true, bare: true }),
      default: '',
      doc: "comma-separated NATS server URLs of the nats and jetstream bridges; empty: the broker's (broker.nats.*, with its credentials)",
    },
  },
  redis: {
    url: { parse: (v) => parseUrlList(v, ['redis', 'rediss'], { optional: true }), default: '', doc: 'Redis URL of the redis bridges; empty: broker.redis.url' },
    claimIdle: {
      parse: parseDuration,
      default: '30s',
      doc: 'a stream entry another node read but left unacknowledged this long (it died) is claimed and delivered by a live node',
    },
  },
} satisfies SchemaNode;
