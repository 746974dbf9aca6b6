import { Pool } from 'undici';
import { SwitchboardError, type ErrorCode } from '../protocol/errors.js';
import { BodyTooLarge, isTimeout, readBody } from '../outbound/read-body.js';
import type { BreakerOptions } from '../config/routing.js';
import { CircuitBreaker } from './breaker.js';
import type { CallOutcome, RoutingMetrics } from './metrics.js';
import { jsonNestedDeeperThan } from '../protocol/json-depth.js';

/** A backend's raw answer, before it is read as client data or an error. */
export interface RawAnswer {
  status: number;
  contentType: string;
  body: Buffer;
}

/** Carries one POST to a backend; throws a CallFailure when no answer came. */
export interface BackendTransport {
  exchange(body: string, headers: Record<string, string>, timeout: number, maxResponseBytes: number): Promise<RawAnswer>;
  close(): Promise<void>;
}

export interface EndpointOptions {
  timeout: number;
  maxResponseBytes: number;
  headers: Record<string, string>;
  /** Deepest JSON nesting accepted in an answer (limits.maxJsonDepth). */
  maxJsonDepth: number;
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
export class CallFailure extends SwitchboardError {
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
 * One backend that takes JSON POSTs (an HTTP endpoint, a gateway service or a rules service): a
 * time limit, a cap on the answer's size, a circuit breaker, and the reading of its answer
 * as client data or an error. Redirects are not followed: a 3xx answer is a `backend_error`.
 */
export class Endpoint {
  readonly breaker: CircuitBreaker;

  constructor(
    readonly name: string,
    private readonly transport: BackendTransport,
    private readonly options: EndpointOptions,
    breaker: BreakerOptions,
    private readonly metrics: RoutingMetrics,
  ) {
    this.breaker = new CircuitBreaker(breaker, (state) => metrics.breakerState(name, state));
    metrics.breakerState(name, 'closed');
  }

  /** POSTs a JSON body; resolves with the answer or throws a SwitchboardError the client can be given. */
  async post(body: string, headers: Record<string, string>): Promise<BackendAnswer> {
    if (!this.breaker.allow()) {
      this.metrics.call(this.name, 'breaker_open');
      const seconds = Math.ceil(this.breaker.retryAfter() / 1000);
      throw new CallFailure('unavailable', `backend ${this.name} is failing; calls resume in about ${seconds} s`, 'breaker_open', false);
    }
    const started = performance.now();
    try {
      const { timeout, maxResponseBytes } = this.options;
      const raw = await this.transport.exchange(body, { ...this.options.headers, ...headers }, timeout, maxResponseBytes);
      const answer = this.interpret(raw);
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
    return this.transport.close();
  }

  private interpret({ status, contentType, body }: RawAnswer): BackendAnswer {
    if (status >= 200 && status < 300) {
      if (status === 202) return { later: true };
      return { later: false, data: this.decode(body, contentType) };
    }
    if (status >= 300 && status < 400) {
      throw new CallFailure('backend_error', `backend ${this.name} answered HTTP ${status}; redirects are not followed`, 'redirect', true);
    }
    const serverSide = status >= 500;
    const code = codeByStatus[status] ?? 'backend_error';
    throw new CallFailure(code, errorMessage(body, contentType) ?? `backend ${this.name} answered HTTP ${status}`, serverSide ? 'server_error' : 'client_error', serverSide);
  }

  /** 2xx body as client data: JSON as is, text as a string, nothing as null; anything else is refused. */
  private decode(raw: Buffer, type: string): unknown {
    if (raw.length === 0) return null;
    const text = raw.toString('utf8');
    if (/^text\//i.test(type)) return text;
    if (jsonNestedDeeperThan(text, this.options.maxJsonDepth)) {
      throw new CallFailure('backend_error', `backend ${this.name} answered JSON nested deeper than ${this.options.maxJsonDepth} levels (limits.maxJsonDepth)`, 'bad_body', true);
    }
    try {
      return JSON.parse(text);
    } catch {
      throw new CallFailure('backend_error', `backend ${this.name} answered a body that is neither JSON nor text (content-type ${type || 'none'})`, 'bad_body', true);
    }
  }
}

/** POSTs to one URL over a keep-alive connection pool. */
export class PoolTransport implements BackendTransport {
  private readonly pool: Pool;
  private readonly path: string;

  constructor(
    private readonly name: string,
    url: string,
    connections: number,
    timeout: number,
  ) {
    const parsed = new URL(url);
    this.path = `${parsed.pathname}${parsed.search}`;
    this.pool = new Pool(parsed.origin, { connections, keepAliveTimeout: 30_000, connect: { timeout } });
  }

  async exchange(body: string, headers: Record<string, string>, timeout: number, maxResponseBytes: number): Promise<RawAnswer> {
    let response;
    try {
      // undici's own timers (no AbortSignal per call): connecting, the answer's headers, and each wait for its body.
      response = await this.pool.request({ path: this.path, method: 'POST', headers, body, headersTimeout: timeout, bodyTimeout: timeout });
    } catch (err) {
      if (isTimeout(err)) throw new CallFailure('timeout', `backend ${this.name} did not answer within ${timeout} ms`, 'timeout', true);
      throw new CallFailure('unavailable', `backend ${this.name} is unreachable`, 'unreachable', true);
    }
    try {
      const raw = await readBody(response.body, maxResponseBytes);
      return { status: response.statusCode, contentType: String(response.headers['content-type'] ?? ''), body: raw };
    } catch (err) {
      if (err instanceof BodyTooLarge) throw new CallFailure('backend_error', `backend ${this.name} answered more than ${maxResponseBytes} bytes`, 'too_large', true);
      if (isTimeout(err)) throw new CallFailure('timeout', `backend ${this.name} did not finish its answer within ${timeout} ms`, 'timeout', true);
      throw new CallFailure('backend_error', `backend ${this.name} broke off its answer`, 'server_error', true);
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** What the service gateway answers for a request to one of its services (HTTP or gRPC instances). */
export type ServiceSender = (
  service: string,
  request: { method: string; path: string; headers: Record<string, string[]>; body: Buffer },
  timeout: number,
) => Promise<{ statusCode: number; headers: Record<string, string[]>; body: Buffer }>;

/** POSTs to a service of the gateway, which picks a healthy instance (HTTP, or gRPC through ForwardingService). */
export class ServiceTransport implements BackendTransport {
  constructor(
    private readonly name: string,
    private readonly service: string,
    private readonly path: string,
    private readonly send: ServiceSender,
  ) {}

  async exchange(body: string, headers: Record<string, string>, timeout: number, maxResponseBytes: number): Promise<RawAnswer> {
    let answer;
    try {
      const lists = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]]));
      answer = await this.send(this.service, { method: 'POST', path: this.path, headers: lists, body: Buffer.from(body) }, timeout);
    } catch (err) {
      const code = err instanceof SwitchboardError ? err.code : 'internal';
      const message = `backend ${this.name}: ${err instanceof SwitchboardError ? err.message : 'internal error'}`;
      if (code === 'timeout') throw new CallFailure('timeout', message, 'timeout', true);
      if (code === 'too_large') throw new CallFailure('backend_error', message, 'too_large', true);
      if (code === 'unavailable') throw new CallFailure('unavailable', message, 'unreachable', true);
      throw new CallFailure('backend_error', message, 'server_error', true);
    }
    if (answer.body.length > maxResponseBytes) throw new CallFailure('backend_error', `backend ${this.name} answered more than ${maxResponseBytes} bytes`, 'too_large', true);
    return { status: answer.statusCode, contentType: answer.headers['content-type']?.[0] ?? '', body: answer.body };
  }

  async close(): Promise<void> {}
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
