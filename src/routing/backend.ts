import { Pool } from 'undici';
import { SwitchboardError, type ErrorCode } from '../errors.js';
import { BodyTooLarge, isTimeout, readBody } from '../outbound/read-body.js';
import { CircuitBreaker, type BreakerOptions } from './breaker.js';
import type { CallOutcome, RoutingMetrics } from './metrics.js';

export interface HttpEndpointOptions {
  url: string;
  timeout: number;
  maxResponseBytes: number;
  connections: number;
  headers: Record<string, string>;
}

/** A backend's answer: JSON data for the client, or `later` (202: it answers through the API). */
export type BackendAnswer = { later: false; data: unknown } | { later: true };

/** Status codes whose meaning the client should see as is; every other non-2xx is `backend_error`. */
const codeByStatus: Record<number, ErrorCode> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'limit_exceeded',
  413: 'too_large',
  422: 'bad_request',
  429: 'rate_limited',
  503: 'unavailable',
  504: 'timeout',
};

/** A failed call, with how it is counted; `countsAsFailure` feeds the circuit breaker. */
class CallFailure extends SwitchboardError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly outcome: CallOutcome,
    readonly countsAsFailure: boolean,
  ) {
    super(code, message);
  }
}

/**
 * One HTTP endpoint that takes JSON POSTs (a routing backend or a rules service): a keep-alive
 * connection pool, a whole-call timeout, a cap on the answer's size and a circuit breaker.
 * Redirects are not followed: a 3xx answer is a `backend_error`.
 */
export class HttpEndpoint {
  readonly breaker: CircuitBreaker;
  private readonly pool: Pool;
  private readonly path: string;

  constructor(
    readonly name: string,
    private readonly options: HttpEndpointOptions,
    breaker: BreakerOptions,
    private readonly metrics: RoutingMetrics,
  ) {
    const url = new URL(options.url);
    this.path = `${url.pathname}${url.search}`;
    this.pool = new Pool(url.origin, { connections: options.connections, keepAliveTimeout: 30_000 });
    this.breaker = new CircuitBreaker(breaker, (state) => metrics.breakerState(name, state));
    metrics.breakerState(name, 'closed');
  }

  /** POSTs a JSON body; resolves with the answer or throws a SwitchboardError the client can be given. */
  async post(body: string, headers: Record<string, string>): Promise<BackendAnswer> {
    if (!this.breaker.allow()) {
      this.metrics.call(this.name, 'breaker_open');
      const seconds = Math.ceil(this.breaker.retryAfter() / 1000);
      throw new SwitchboardError('unavailable', `backend ${this.name} is failing; calls resume in about ${seconds} s`);
    }
    const started = performance.now();
    try {
      const answer = await this.exchange(body, headers);
      this.breaker.success();
      this.metrics.call(this.name, answer.later ? 'later' : 'ok', (performance.now() - started) / 1000);
      return answer;
    } catch (err) {
      const failure = err instanceof CallFailure ? err : new CallFailure('internal', 'internal error', 'server_error', true);
      if (failure.countsAsFailure) this.breaker.failure();
      else this.breaker.success();
      this.metrics.call(this.name, failure.outcome, (performance.now() - started) / 1000);
      throw failure;
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private async exchange(body: string, headers: Record<string, string>): Promise<BackendAnswer> {
    const { timeout, maxResponseBytes } = this.options;
    let response;
    try {
      response = await this.pool.request({
        path: this.path,
        method: 'POST',
        headers: { ...this.options.headers, ...headers },
        body,
        signal: AbortSignal.timeout(timeout),
      });
    } catch (err) {
      if (isTimeout(err)) throw new CallFailure('timeout', `backend ${this.name} did not answer within ${timeout} ms`, 'timeout', true);
      throw new CallFailure('unavailable', `backend ${this.name} is unreachable`, 'unreachable', true);
    }
    let raw: Buffer;
    try {
      raw = await readBody(response.body, maxResponseBytes);
    } catch (err) {
      if (err instanceof BodyTooLarge) throw new CallFailure('backend_error', `backend ${this.name} answered more than ${maxResponseBytes} bytes`, 'too_large', true);
      if (isTimeout(err)) throw new CallFailure('timeout', `backend ${this.name} did not finish its answer within ${timeout} ms`, 'timeout', true);
      throw new CallFailure('backend_error', `backend ${this.name} broke off its answer`, 'server_error', true);
    }
    const status = response.statusCode;
    const type = String(response.headers['content-type'] ?? '');
    if (status >= 200 && status < 300) {
      if (status === 202) return { later: true };
      return { later: false, data: this.decode(raw, type) };
    }
    if (status >= 300 && status < 400) {
      throw new CallFailure('backend_error', `backend ${this.name} answered HTTP ${status}; redirects are not followed`, 'redirect', true);
    }
    const serverSide = status >= 500;
    const code = codeByStatus[status] ?? 'backend_error';
    throw new CallFailure(code, errorMessage(raw, type) ?? `backend ${this.name} answered HTTP ${status}`, serverSide ? 'server_error' : 'client_error', serverSide);
  }

  /** 2xx body as client data: JSON as is, text as a string, nothing as null; anything else is refused. */
  private decode(raw: Buffer, type: string): unknown {
    if (raw.length === 0) return null;
    const text = raw.toString('utf8');
    if (/^text\//i.test(type)) return text;
    try {
      return JSON.parse(text);
    } catch {
      throw new CallFailure('backend_error', `backend ${this.name} answered a body that is neither JSON nor text (content-type ${type || 'none'})`, 'bad_body', true);
    }
  }
}

/** The message of an error answer: `{"error": {"message"}}`, `{"message"}`, `{"error": "..."}` or short plain text. */
function errorMessage(raw: Buffer, type: string): string | undefined {
  const text = raw.toString('utf8').trim();
  if (text === '') return undefined;
  let message: unknown = /^text\/plain/i.test(type) ? text : undefined;
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const error = body?.error;
    message = typeof error === 'string' ? error : typeof (error as Record<string, unknown>)?.message === 'string' ? (error as Record<string, unknown>).message : body?.message;
  } catch {
    // not JSON: plain text answers keep their text
  }
  return typeof message === 'string' && message !== '' ? message.slice(0, 200) : undefined;
}
