import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance } from 'fastify';
import { SwitchboardError, causeOf, type ErrorCode } from '../protocol/errors.js';
import type { Stats } from '../observability/metrics.js';
import type { Logger } from 'pino';

/** Fastify's own errors mapped onto our stable codes. */
function fromFastify(err: FastifyError): SwitchboardError | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new SwitchboardError('too_large', 'request body is larger than api.maxBodyBytes');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new SwitchboardError('bad_request', 'send the body as application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new SwitchboardError('bad_request', 'request body is empty');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new SwitchboardError('bad_request', 'request body is not valid JSON');
  }
  if (err instanceof SyntaxError || err.statusCode === 400) return new SwitchboardError('bad_request', 'request body is not valid JSON');
  return undefined;
}

export function errorBody(code: ErrorCode, message: string): { error: { code: ErrorCode; message: string } } {
  return { error: { code, message } };
}

/** Answers a refused WebSocket upgrade on its raw socket, with the same JSON error body as the API. */
export function refuseUpgrade(socket: Duplex, status: number, body: object, extraHeaders = ''): void {
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n${extraHeaders}Connection: close\r\n\r\n${text}`,
  );
}

/** Every HTTP error answer has the shape {"error":{"code","message"}} and is counted by code. */
export function installErrorHandling(app: FastifyInstance, stats: Stats, log: Logger): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const known = err instanceof SwitchboardError ? err : fromFastify(err);
    const error = known ?? new SwitchboardError('internal', 'internal error');
    if (!known) log.error({ event: 'api.failed', method: req.method, url: req.url, err }, 'request failed');
    else if (known.code === 'unavailable' && known.cause !== undefined)
      log.warn({ event: 'api.unavailable', method: req.method, url: req.url, err: causeOf(known) }, known.message);
    // Other too_large answers (batch size) count their own limit where they are raised.
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') stats.limit('body_size');
    stats.error(error.code);
    reply.code(error.httpStatus).send(errorBody(error.code, error.message));
  });
  app.setNotFoundHandler((req, reply) => {
    stats.error('not_found');
    reply.code(404).send(errorBody('not_found', `no route for ${req.method} ${req.url.split('?')[0]}`));
  });
}
