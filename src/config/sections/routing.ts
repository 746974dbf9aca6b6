import { parseBytes, parseDuration, parseInteger, parseString } from '../values.js';
import type { SchemaNode } from '../field.js';
import { parseBackends, parseRoutes } from '../routing.js';
import { SelectionExpression } from '../selection.js';

/** Routing client messages to backends (docs/routing.md). */
export const routing = {
  selectionExpression: {
    parse: (v) => new SelectionExpression(parseString(v)).source,
    default: '$.action',
    doc: "route selection expression: the JSON path into a send frame's data whose value is matched against route keys (AWS style, e.g. $.action)",
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
  timeout: {
    parse: parseDuration,
    default: '10s',
    doc: "a backend's time limit to connect, to start its answer, and between the chunks of its answer, unless the backend sets its own",
  },
  rulesTimeout: { parse: parseDuration, default: '2s', doc: 'how long a rules service may take to choose a destination' },
  maxResponseBytes: { parse: parseBytes, default: '1MiB', doc: 'largest backend answer read; larger answers become backend_error' },
  breaker: {
    failures: {
      parse: (v) => parseInteger(v, 1, 1_000_000),
      default: 5,
      doc: "consecutive failed calls (unreachable, timeout, 5xx, bad answer) that open a backend's circuit breaker",
    },
    openFor: { parse: parseDuration, default: '10s', doc: 'how long an open breaker refuses calls at once before letting one probe through' },
  },
  retry: {
    maxAttempts: {
      parse: (v) => parseInteger(v, 1, 1000),
      default: 5,
      doc: "delivery attempts of a durable message before it goes to its route's dead letters (a route may set its own)",
    },
    initialBackoff: { parse: parseDuration, default: '500ms', doc: 'wait before the second attempt of a durable delivery; it doubles with each attempt, with full jitter' },
    maxBackoff: { parse: parseDuration, default: '1m', doc: 'longest wait between two attempts of a durable delivery' },
  },
} satisfies SchemaNode;
