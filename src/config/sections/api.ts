import { parseBoolean, parseBytes, parseDuration, parseInteger, parseString, parseStringList } from '../values.js';
import type { SchemaNode } from '../field.js';
import { parseOrigins } from '../origins.js';

/** The server API, the demo page, the admin console and the Push-compatible endpoints. */
export const api = {
  keys: { parse: parseStringList, default: [], secret: true, doc: 'admin API keys: every API call (Authorization: Bearer KEY or X-API-Key: KEY); list several to rotate' },
  publishKeys: { parse: parseStringList, default: [], secret: true, doc: 'API keys limited to the publish scope: publishing, sending to users, reading history and presence' },
  insecure: { parse: parseBoolean, default: false, doc: 'serve the server API without a key; only for local use' },
  maxBodyBytes: { parse: parseBytes, default: '1MiB', doc: 'largest request body the API accepts (413 too_large above it)' },
  maxBatchSize: { parse: (v) => parseInteger(v, 1, 100_000), default: 10_000, doc: 'most publications in one batch or broadcast request' },
  allowedOrigins: {
    parse: parseOrigins,
    default: [],
    doc: "browser origins (besides the node's own) allowed to call the server API with CORS; empty: none (API keys do not belong in pages)",
  },
} satisfies SchemaNode;

export const demo = {
  enabled: { parse: parseBoolean, default: false, doc: 'serve the demo page at / (and add the namespace chat it uses, unless configured)' },
} satisfies SchemaNode;

export const admin = {
  enabled: {
    parse: parseBoolean,
    default: false,
    doc: "serve the admin console at /admin/ and the /api/admin routes, and accept read-only keys and admin JWTs on the server API and the console's live feed; off: none of it exists",
  },
  readOnlyKeys: {
    parse: parseStringList,
    default: [],
    secret: true,
    doc: 'API keys of the read-only console role: every GET of the server API and the live feed, nothing that changes state (403 forbidden)',
  },
  roleClaim: {
    parse: parseString,
    default: 'switchboard_role',
    doc: 'JWT claim naming a console role, admin or read-only; a JWT carrying it signs in to the console and the server API with that role',
  },
  sampleInterval: {
    parse: parseDuration,
    default: '5s',
    doc: "how often each node samples its own counters (connections, rates, CPU, memory) for the console's charts and the $admin:stats channel",
  },
  historyMinutes: { parse: (v) => parseInteger(v, 1, 1440), default: 15, doc: 'minutes of samples each node keeps in memory for GET /api/admin/stats' },
  maxSessionEvents: {
    parse: (v) => parseInteger(v, 1, 1_000_000),
    default: 1000,
    doc: 'most session opened/closed events one node publishes to $admin:sessions in its batch of a second; the rest are counted as dropped (switchboard_limit_hits_total{limit="session_events"})',
  },
} satisfies SchemaNode;

export const compat = {
  push: {
    enabled: { parse: parseBoolean, default: true, doc: 'serve the Push-compatible endpoints /messages, /sse/messages and /ws/messages' },
  },
} satisfies SchemaNode;
