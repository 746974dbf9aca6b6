import { availableParallelism } from 'node:os';
import { parseBoolean, parseDuration, parseEnum, parseInteger, parseString, parseStringList } from '../values.js';
import type { SchemaNode } from '../field.js';
import { parseOrigins } from '../origins.js';
import { parseTargetList } from '../../outbound/targets.js';
import { parseTrustedProxies } from '../trusted-proxies.js';

/** server.workers: a count, or auto for one worker per CPU this process may use. */
function parseWorkers(value: unknown): number {
  if (value === 'auto') return availableParallelism();
  try {
    return parseInteger(value, 1, 1024);
  } catch (err) {
    throw new Error(`expected auto or ${(err as Error).message.replace(/^expected /, '')}`);
  }
}

/** The listening port, TLS and workers; the node, its log, shutdown, metrics port and outbound address rules. */
export const server = {
  host: { parse: parseString, default: '0.0.0.0', doc: 'address the HTTP/WebSocket port listens on' },
  port: { parse: (v) => parseInteger(v, 0, 65535), default: 8080, doc: 'the one port for clients, API, metrics and demo (0 picks a free port)' },
  allowedOrigins: {
    parse: parseOrigins,
    default: [],
    doc: "browser origins (besides the node's own) whose pages may use the client endpoints and send cookies: https://app.example.com, https://*.example.com; * allows every origin without credentials",
  },
  tls: {
    cert: { parse: parseString, default: '', doc: 'PEM certificate file (with its CA chain) to serve https and wss on server.port; empty: plain http' },
    key: { parse: parseString, default: '', doc: 'PEM private key file of server.tls.cert' },
    handshakeTimeout: { parse: parseDuration, default: '10s', doc: 'a TLS connection that has not completed its handshake this long after connecting is dropped' },
    watchInterval: {
      parse: parseDuration,
      default: '10s',
      doc: 'how often the certificate and key files are checked for changes and reloaded (SIGHUP reloads at once); 0: only on SIGHUP',
    },
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
} satisfies SchemaNode;

export const node = {
  id: { parse: parseString, default: '', doc: "this node's id; empty means a random one at start" },
} satisfies SchemaNode;

export const log = {
  level: {
    parse: (v) => parseEnum(v, ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
    default: 'info',
    doc: 'minimum level of the JSON log lines written to stdout',
  },
} satisfies SchemaNode;

export const shutdown = {
  drainWindow: { parse: parseDuration, default: '10s', doc: 'on SIGTERM, sessions are asked to reconnect spread over this window before the node exits' },
} satisfies SchemaNode;

export const metrics = {
  port: {
    parse: (v) => parseInteger(v, 0, 65535),
    default: 0,
    doc: 'a separate admin port (on server.host) that serves only GET /metrics, which the client port then no longer serves; 0: /metrics on server.port',
  },
} satisfies SchemaNode;

export const security = {
  allowedPrivateTargets: {
    parse: (v) => {
      const list = parseStringList(v);
      parseTargetList(list);
      return list;
    },
    default: [],
    doc: 'loopback, private, link-local and other internal addresses that push endpoints and gateway instances registered through the API may reach anyway: CIDRs (10.1.0.0/16), addresses and host names (*.svc.cluster.local); everything else internal is refused with 403 forbidden_target (docs/security.md)',
  },
} satisfies SchemaNode;
