import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Transform, type Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { SwitchboardError } from '../protocol/errors.js';
import { ForbiddenTarget } from '../outbound/targets.js';
import { downstreamRawHeaders } from './headers.js';
import { UpstreamError } from './upstream-error.js';
import type { Upstream } from './upstreams.js';

export interface HttpAttempt {
  method: string;
  /** Path and query as sent upstream. */
  path: string;
  headers: OutgoingHttpHeaders;
  body: Readable | Buffer | null;
  headersTimeout: number;
  bodyTimeout: number;
  /** Checks the instance's answer before anything reaches the client; throws an UpstreamError to refuse it. */
  accept?: (status: number, headers: string[]) => void;
}

/** The client went away before the answer was complete; nobody's failure to count. */
export class ClientGone extends Error {}

const connectCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT', 'ECONNABORTED']);
const resetCodes = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'UND_ERR_CLOSED']);

/** An undici or socket error as an UpstreamError (or ClientGone, or the body limit's own error). */
export function classify(err: unknown, responded: boolean): Error {
  // The instance's address is internal: like a connection that could not be made, without the attempt.
  if (err instanceof ForbiddenTarget) return new UpstreamError('forbidden_target', `the instance is not connected to: ${err.message}`, true);
  if (err instanceof SwitchboardError || err instanceof UpstreamError || err instanceof ClientGone) return err;
  const code = (err as { code?: string }).code ?? '';
  if (code === 'UND_ERR_ABORTED' || (err as Error).name === 'AbortError') return new ClientGone('the client went away');
  if (connectCodes.has(code)) return new UpstreamError('connect', `could not connect to the instance (${code})`, !responded);
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return new UpstreamError('timeout', 'the instance did not answer in time');
  if (code === 'UND_ERR_HEADERS_OVERFLOW' || code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE')
    return new UpstreamError('too_large', 'the instance answered with headers that are too large');
  if (resetCodes.has(code)) return new UpstreamError('reset', `the instance closed the connection (${code})`);
  return new UpstreamError('reset', `the request to the instance failed: ${(err as Error).message}`);
}

/** The request body, failing with `too_large` once more than `max` bytes came through. */
export function limitedBody(body: Readable, max: number, exceeded: () => void): Readable {
  let seen = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen <= max) {
        done(null, chunk);
        return;
      }
      exceeded();
      done(new SwitchboardError('too_large', `request body is larger than gateway.limits.maxBodyBytes (${max} bytes)`));
    },
  });
  body.on('error', (err) => counter.destroy(err));
  counter.on('error', () => body.resume());
  return body.pipe(counter);
}

/** Response headers that make the answer a stream whose first bytes may come much later (SSE, chunked). */
function isOpenEnded(headers: string[]): boolean {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === 'content-length') return false;
  return true;
}

/**
 * One proxied exchange as an undici dispatch handler: response headers and body chunks go to the
 * client as they arrive; a full client socket pauses the upstream (onData returns false) until it
 * drains. The client going away aborts the upstream request.
 */
class ProxyHandler implements Dispatcher.DispatchHandler {
  responded = false;
  private wrote = false;
  private abortUpstream: ((err?: Error) => void) | undefined;
  private resumeUpstream: (() => void) | undefined;
  private readonly onClientClose = () => {
    if (!this.res.writableFinished) this.abortUpstream?.(new ClientGone('the client went away'));
  };
  private readonly onDrain = () => this.resumeUpstream?.();

  constructor(
    private readonly res: ServerResponse,
    private readonly onStatus: (status: number) => void,
    private readonly done: (err?: Error) => void,
    private readonly accept: HttpAttempt['accept'],
  ) {
    res.once('close', this.onClientClose);
    res.on('drain', this.onDrain);
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortUpstream = abort;
    if (this.res.destroyed) abort(new ClientGone('the client went away'));
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    // 1xx (100 Continue, 103 Early Hints): the final answer follows.
    if (statusCode < 200) return true;
    const headers = downstreamRawHeaders(rawHeaders);
    try {
      this.accept?.(statusCode, headers);
    } catch (err) {
      this.abortUpstream?.(err as Error);
      return false;
    }
    this.responded = true;
    this.resumeUpstream = resume;
    this.onStatus(statusCode);
    this.res.writeHead(statusCode, headers);
    // A stream (SSE, chunked) may send its first bytes much later: unless they came with the
    // headers, the client gets the headers at once. Otherwise headers and body leave in one write.
    if (isOpenEnded(headers)) queueMicrotask(this.flushIfIdle);
    return true;
  }

  private readonly flushIfIdle = () => {
    if (!this.wrote && !this.res.writableEnded) this.res.flushHeaders();
  };

  onData(chunk: Buffer): boolean {
    this.wrote = true;
    return this.res.write(chunk);
  }

  onComplete(): void {
    this.release();
    this.res.end();
    this.done();
  }

  onError(err: Error): void {
    this.release();
    this.done(classify(err, this.responded));
  }

  private release(): void {
    this.res.off('close', this.onClientClose);
    this.res.off('drain', this.onDrain);
  }
}

/**
 * Sends one request to an HTTP instance and streams its answer into `res` as it arrives: the
 * request body is read from the client as the instance takes it, the response body written to
 * the client as it comes, with backpressure both ways; nothing is held whole. `onStatus` is
 * called with the status before anything is written to the client.
 */
export function proxyHttp(up: Upstream, attempt: HttpAttempt, res: ServerResponse, onStatus: (status: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const handler = new ProxyHandler(res, onStatus, (err) => (err ? reject(err) : resolve()), attempt.accept);
    up.pool!.dispatch(
      {
        path: attempt.path,
        method: attempt.method as Dispatcher.HttpMethod,
        headers: attempt.headers as Record<string, string | string[]>,
        body: attempt.body,
        headersTimeout: attempt.headersTimeout,
        bodyTimeout: attempt.bodyTimeout,
      },
      handler,
    );
  });
}
