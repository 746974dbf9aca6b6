import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { errorBody, refuseUpgrade } from '../http/errors.js';
import { SwitchboardError } from '../protocol/errors.js';
import type { Stats } from '../observability/metrics.js';
import { ClientGone } from './http-proxy.js';
import type { GatewayMetrics } from './metrics.js';
import { UpstreamError } from './upstream-error.js';

/** No instance of the service can take the request: 503 with Retry-After. */
export class NoInstance extends SwitchboardError {
  constructor(
    service: string,
    readonly retryAfter: number,
  ) {
    super('unavailable', `no instance of service ${service} is available; retry after ${retryAfter} s`);
  }
}

/** A route's rate limit is reached: 429 with Retry-After. */
export class RateLimited extends SwitchboardError {
  constructor(
    route: string,
    readonly retryAfter: number,
  ) {
    super('rate_limited', `too many requests on route ${route}; retry after ${retryAfter} s`);
  }
}

/** Turns the gateway's failures into counted answers: an HTTP error response or a refused WebSocket handshake. */
export class GatewayFailures {
  constructor(
    private readonly metrics: GatewayMetrics,
    private readonly stats: Stats,
    private readonly log: Logger,
  ) {}

  /** Any failure as the error to answer with, counted; undefined when there is nobody to answer (client gone). */
  asError(err: unknown, route = ''): SwitchboardError | undefined {
    if (err instanceof ClientGone) return undefined;
    let error: SwitchboardError;
    if (err instanceof SwitchboardError) {
      error = err;
      this.metrics.refused.inc({ route, reason: err instanceof NoInstance ? 'no_instance' : err.code });
    } else if (err instanceof UpstreamError) {
      const timeout = err.reason === 'timeout' || err.reason === 'grpc_deadline';
      this.metrics.refused.inc({ route, reason: timeout ? 'timeout' : 'bad_gateway' });
      error = timeout ? new SwitchboardError('timeout', `the service did not answer in time: ${err.message}`) : new SwitchboardError('backend_error', err.message);
    } else {
      this.log.error({ event: 'gateway.failed', route, err }, 'proxied request failed');
      error = new SwitchboardError('internal', 'internal error');
    }
    this.stats.error(error.code);
    return error;
  }

  /** Answers an HTTP request with the failure, or drops the connection when the answer has begun. */
  answer(res: ServerResponse, route: string, err: unknown): void {
    const error = this.asError(err, route);
    if (!error || res.headersSent) {
      res.destroy();
      return;
    }
    const text = JSON.stringify(errorBody(error.code, error.message));
    const headers: OutgoingHttpHeaders = { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) };
    if (error instanceof NoInstance || error instanceof RateLimited) headers['retry-after'] = String(error.retryAfter);
    res.writeHead(error.httpStatus, headers);
    res.end(text);
  }

  /** Answers a WebSocket handshake the gateway refuses on its raw socket. */
  refuseUpgrade(socket: Duplex, route: string, err: unknown): void {
    const error = this.asError(err, route);
    if (!error || socket.destroyed) return;
    const retryAfter = error instanceof NoInstance || error instanceof RateLimited ? `Retry-After: ${error.retryAfter}\r\n` : '';
    refuseUpgrade(socket, error.httpStatus, errorBody(error.code, error.message), retryAfter);
  }
}
