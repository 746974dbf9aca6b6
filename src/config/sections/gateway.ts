import { parseBoolean, parseBytes, parseDuration, parseInteger } from '../values.js';
import type { SchemaNode } from '../field.js';
import { parseRoutes, parseStaticServices } from '../gateway.js';

/** The service gateway: registry, health, proxy routes and their limits (docs/gateway.md). */
export const gateway = {
  enabled: { parse: parseBoolean, default: false, doc: 'run the service gateway: the service registry, its API under /api/services and the proxy routes (docs/gateway.md)' },
  routes: {
    parse: parseRoutes,
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
    registrationsPerSecond: {
      parse: (v) => parseInteger(v, 1, 1_000_000),
      default: 100,
      doc: 'registrations and heartbeats one node accepts per second, in bursts of as many (429 rate_limited above it)',
    },
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
    maxMessageBytes: {
      parse: parseBytes,
      default: '4MiB',
      doc: 'largest request or response body forwarded to or from a gRPC ForwardingService (413 too_large / 502 backend_error above it)',
    },
  },
  graphql: {
    maxMessageBytes: {
      parse: parseBytes,
      default: '1MiB',
      doc: 'largest graphql-transport-ws message a client or a service instance may send on a graphql route (the socket is closed with 1009 above it)',
    },
    maxOperations: {
      parse: (v) => parseInteger(v, 1, 100_000),
      default: 100,
      doc: 'most operations in flight on one client WebSocket of a graphql route (a further one gets a GraphQL error with code limit_exceeded)',
    },
    maxBufferedBytes: {
      parse: parseBytes,
      default: '4MiB',
      doc: 'outbound bytes a client WebSocket of a graphql route may have waiting; above it the socket is cut (counted in switchboard_limit_hits_total{limit="buffer"})',
    },
    connectionInitTimeout: {
      parse: parseDuration,
      default: '3s',
      doc: 'how long a client WebSocket of a graphql route may take to send connection_init before it is closed with 4408',
    },
    keepAlive: {
      parse: parseDuration,
      default: '15s',
      doc: 'interval of the WebSocket pings on both sides of a graphql route; a socket that does not answer one within another interval is closed; 0: no pings',
    },
  },
} satisfies SchemaNode;
