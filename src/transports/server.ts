import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { limitJsonBodies } from '../api/json-body.js';
import type { Config } from '../config/schema.js';
import type { Stats } from '../observability/metrics.js';
import { CertificateReloader, readTlsFiles, type SecureContextTarget } from './tls.js';

/**
 * Fastify's server options: plain HTTP/1.1, or with server.tls HTTPS on the same port, with
 * HTTP/2 offered by ALPN beside HTTP/1.1 (which WebSocket upgrades and older clients use).
 */
function serverOptions(server: Config['server']): object {
  if (!server.tls.cert) return {};
  const https = { ...readTlsFiles(server.tls), handshakeTimeout: server.tls.handshakeTimeout };
  return server.http2 ? { http2: true, https: { ...https, allowHTTP1: true } } : { https };
}

/** The node's HTTP server, with its certificate reloader when it serves TLS. */
export function createServer(config: Config, stats: Stats, log: Logger): { app: FastifyInstance; certificates: CertificateReloader | undefined } {
  const app = Fastify({
    logger: false,
    bodyLimit: config.api.maxBodyBytes,
    forceCloseConnections: true,
    // Body schemas check JSON as sent: a number is not a string, "4000" is not a close code. They
    // are the API description's, which uses `type: [...]` (JSON Schema 2020-12) where a value may be either.
    ajv: { customOptions: { coerceTypes: false, allowUnionTypes: true } },
    ...serverOptions(config.server),
  });
  limitJsonBodies(app, config.limits.maxJsonDepth, stats);
  const certificates = config.server.tls.cert ? new CertificateReloader(app.server as unknown as SecureContextTarget, config.server.tls, log) : undefined;
  return { app, certificates };
}
