import { randomUUID } from 'node:crypto';
import { BodyTooLarge, readBody } from '../outbound/read-body.js';
import { SwitchboardError } from '../protocol/errors.js';
import { Balancer } from './balancer.js';
import type { GatewayFailures } from './failures.js';
import type { ForwardingRequest, ForwardingResponse } from './grpc.js';
import { downstreamHeaders, headerLists } from './headers.js';
import { classify } from './http-proxy.js';
import { idempotentMethods, type InstanceAttempts } from './instance-attempts.js';
import { UpstreamError } from './upstream-error.js';
import type { Upstream } from './upstreams.js';

/** What a caller outside the proxy (client-message routing) sends to a service. */
export type ServiceRequest = Pick<ForwardingRequest, 'method' | 'path'> & Partial<ForwardingRequest>;

export interface SendOptions {
  /** ms to the answer; default 30 s. */
  timeout?: number;
  /** Key for consistent hashing; without it instances are used in turn. */
  hashKey?: string;
  /** Further instances tried after a connect error (idempotent methods only); default 1. */
  retries?: number;
}

/** Requests to a service from callers outside the proxy routes, answered whole. */
export class ServiceCalls {
  /** Balancers of `send` callers, by service. */
  private readonly balancers = new Map<string, Balancer>();

  constructor(
    private readonly attempts: InstanceAttempts,
    private readonly failures: GatewayFailures,
    /** gateway.grpc.maxMessageBytes: the largest answer taken. */
    private readonly maxAnswerBytes: number,
  ) {}

  /**
   * Sends one request to a service and resolves with its whole answer: to an HTTP instance as an
   * HTTP request, to a gRPC instance through ForwardingService.Send. Instances are chosen, ejected
   * and retried as for proxy routes. Rejects with `unavailable` (no instance), `timeout`,
   * `backend_error` or `too_large` (SwitchboardError). For callers such as client-message routing.
   */
  async send(service: string, request: ServiceRequest, options: SendOptions = {}): Promise<ForwardingResponse> {
    let balancer = this.balancers.get(service);
    // Hashing when the caller gives a key, round robin when it does not.
    if (!balancer) this.balancers.set(service, (balancer = new Balancer('hash')));
    const timeout = options.timeout ?? 30_000;
    const full: ForwardingRequest = {
      query: '',
      headers: {},
      body: Buffer.alloc(0),
      remoteAddress: '',
      user: '',
      context: '{}',
      host: '',
      scheme: 'http',
      route: '',
      service,
      originalPath: request.path,
      requestId: randomUUID(),
      ...request,
    };
    try {
      return await this.attempts.run(service, '', balancer, options.hashKey, idempotentMethods.has(full.method), options.retries ?? 1, async (up) => {
        const response = up.grpc ? await up.grpc.send(full, timeout) : await this.sendHttp(up, full, timeout);
        this.attempts.settle(up, '', response.statusCode);
        return response;
      });
    } catch (err) {
      throw this.failures.asError(err) ?? new SwitchboardError('internal', 'internal error');
    }
  }

  private async sendHttp(up: Upstream, request: ForwardingRequest, timeout: number): Promise<ForwardingResponse> {
    const max = this.maxAnswerBytes;
    try {
      const res = await up.pool!.request({
        path: `${up.basePath}${request.path}${request.query ? `?${request.query}` : ''}`,
        method: request.method as 'GET',
        headers: Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, v.length === 1 ? v[0]! : v])),
        body: request.body.length > 0 ? request.body : null,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
      const body = await readBody(res.body, max);
      const headers = headerLists(downstreamHeaders(res.headers));
      return { statusCode: res.statusCode, headers, body };
    } catch (err) {
      if (err instanceof BodyTooLarge) throw new UpstreamError('too_large', `the instance answered with more than ${max} bytes`);
      throw classify(err, false);
    }
  }
}
