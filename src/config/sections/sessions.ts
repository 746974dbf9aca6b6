import { parseBoolean, parseBytes, parseDuration, parseInteger } from '../values.js';
import type { SchemaNode } from '../field.js';

/** Client sessions: heartbeats, buffers and lifetimes, per-client limits, long polling and GraphQL subscriptions. */
export const sessions = {
  heartbeatInterval: { parse: parseDuration, default: '30s', doc: 'how often the server sends heartbeats (WebSocket ping, SSE comment)' },
  closeGracePeriod: { parse: parseDuration, default: '4s', doc: 'how long the server waits for a heartbeat answer or a requested close before closing itself' },
  maxBufferedBytes: { parse: parseBytes, default: '4MiB', doc: 'outbound bytes a session may have waiting; above it the session is closed with slow_consumer' },
  maxSubscriptions: { parse: (v) => parseInteger(v, 1, 1_000_000), default: 128, doc: 'channels one session may subscribe to' },
  lifetime: {
    enabled: { parse: parseBoolean, default: false, doc: 'close native sessions after a random lifetime between min and max (Push-compatible sessions always have one)' },
    min: { parse: parseDuration, default: '120s', doc: 'shortest connection lifetime; each session draws one between min and max, which spreads reconnects over time' },
    max: { parse: parseDuration, default: '180s', doc: 'longest connection lifetime' },
  },
} satisfies SchemaNode;

export const limits = {
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
} satisfies SchemaNode;

export const longPoll = {
  timeout: { parse: parseDuration, default: '25s', doc: 'how long a long-poll request is held open when nothing is waiting' },
  maxMessages: { parse: (v) => parseInteger(v, 1, 100_000), default: 1000, doc: 'most publications one long-poll answer carries' },
} satisfies SchemaNode;

export const graphql = {
  enabled: { parse: parseBoolean, default: false, doc: 'serve GraphQL subscriptions onto channels at /graphql, over graphql-ws (WebSocket) and graphql-sse (docs/graphql.md)' },
  maxOperations: {
    parse: (v) => parseInteger(v, 1, 100_000),
    default: 100,
    doc: 'GraphQL operations one connection may have running at once (a GraphQL error limit_exceeded above it)',
  },
  maxQueryBytes: { parse: parseBytes, default: '16KiB', doc: 'longest GraphQL document a client may send (a GraphQL error too_large above it)' },
} satisfies SchemaNode;
