import { randomUUID } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { errorBody, refuseUpgrade } from '../http/errors.js';
import type { Authenticator } from '../auth/authenticator.js';
import { OriginPolicy } from '../auth/origins.js';
import type { Config } from '../config/schema.js';
import { SwitchboardError } from '../protocol/errors.js';
import type { Stats } from '../observability/metrics.js';
import { Balancer } from './balancer.js';
import type { GatewayRoute } from '../config/gateway.js';
import type { GatewayStores } from './create.js';
import { acceptGraphqlAnswer } from './graphql-http.js';
import type { GraphqlSockets } from './graphql-sockets.js';
import type { ForwardingRequest, ForwardingResponse } from './grpc.js';
import { cookieValue, downstreamHeaders, headerBytes, headerLists, upstreamHeaders } from './headers.js';
import { ClientGone, classify, limitedBody, proxyHttp } from './http-proxy.js';
import { GatewayMetrics } from './metrics.js';
import type { RateLimiter } from './rate-limit.js';
import { ServiceRegistry } from './registry.js';
import { RouteAuth, type RouteIdentity } from './route-auth.js';
import { RouteTable, type RouteMatch } from './route-table.js';
import { BodyTooLarge, readBody } from '../outbound/read-body.js';
import { UpstreamError } from './upstream-error.js';
import type { TargetPolicy } from '../outbound/targets.js';
import { Upstreams, type Upstream } from './upstreams.js';
import { proxyUpgrade } from './ws-proxy.js';

/** Methods that may be sent again: retried on another instance after a connect error. */
const idempotent = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** No instance of the service can take the request: 503 with Retry-After. */
class NoInstance extends SwitchboardError {
  constructor(
    service: string,
    readonly retryAfter: number,
  ) {
    super('unavailable', `no instance of service ${service} is available; retry after ${retryAfter} s`);
  }
}

class RateLimited extends SwitchboardError {
  constructor(
    route: string,
    readonly retryAfter: number,
  ) {
    super('rate_limited', `too many requests on route ${route}; retry after ${retryAfter} s`);
  }
}

export interface GatewayDeps {
  config: Config;
  nodeId: string;
  stats: Stats;
  registry: Registry;
  log: Logger;
  authenticator: Authenticator;
  targets: TargetPolicy;
  /** From createGatewayStores. */
  stores: GatewayStores;
  /** graphql-support.ts, loaded when a route is of kind `graphql`. */
  graphql?: GraphqlSupport;
}

export type GraphqlSupport = typeof import('./graphql-support.js');

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

interface RouteState {
  balancer: Balancer;
  auth: RouteAuth;
}

function statusClass(status: number): string {
  return status === 101 ? '101' : `${Math.floor(status / 100)}xx`;
}

/** Largest request body of known length read whole before it is sent upstream. */
const SMALL_BODY = 64 * 1024;

/** Reads a whole body, failing with `too_large` past `max` bytes (the setting named by `limit`). */
async function readRequestBody(req: IncomingMessage, max: number, limit: string): Promise<Buffer> {
  try {
    return await readBody(req, max);
  } catch (err) {
    if (err instanceof BodyTooLarge) throw new SwitchboardError('too_large', `request body is larger than ${limit} (${max} bytes)`);
    throw err;
  }
}

/** Whether the node has an endpoint of its own for the path (find-my-way answers a malformed escape with its error handler). */
function ownEndpoint(app: FastifyInstance, method: string, path: string): boolean {
  try {
    decodeURIComponent(path);
  } catch {
    return false;
  }
  return app.findRoute({ method: method as 'GET', url: path }) !== null;
}

/**
 * The service gateway: the registry shared through the broker, the proxy routes, balancing,
 * passive ejection and active checks, streaming HTTP, WebSocket and gRPC forwarding, per-route
 * authentication and rate limits (docs/gateway.md).
 */
export class Gateway {
  readonly registry: ServiceRegistry;
  readonly upstreams: Upstreams;
  readonly metrics: GatewayMetrics;
  private readonly table: RouteTable;
  /** The claim headers of every route: they come from the gateway only, never from the client, on any route. */
  private readonly claimHeaderNames: ReadonlySet<string>;
  private readonly routeState = new Map<string, RouteState>();
  /** Balancers of `send` callers, by service. */
  private readonly sendBalancers = new Map<string, Balancer>();
  private readonly rateLimiter: RateLimiter;
  /** With `graphql` routes only (their libraries are loaded for them). */
  private readonly graphql: { support: GraphqlSupport; sockets: GraphqlSockets } | undefined;
  private readonly config: Config['gateway'];
  private readonly log: Logger;
  private readonly stats: Stats;

  constructor(deps: GatewayDeps) {
    this.config = deps.config.gateway;
    this.log = deps.log;
    this.stats = deps.stats;
    this.metrics = new GatewayMetrics(deps.registry, deps.stats, () => this.upstreams.states());
    this.rateLimiter = deps.stores.rateLimiter;
    this.registry = new ServiceRegistry(deps.stores.registry, this.config.registry, this.config.services, deps.nodeId, this.metrics, deps.log, deps.targets);
    this.upstreams = new Upstreams(this.registry, this.config, this.metrics, deps.log, deps.targets);
    this.table = new RouteTable(this.config.routes);
    this.graphql = deps.graphql && { support: deps.graphql, sockets: new deps.graphql.GraphqlSockets(this.config.graphql, deps.stats, deps.log) };
    this.claimHeaderNames = new Set(this.config.routes.flatMap((route) => route.claimHeaders.map(([, header]) => header)));
    const cookieOrigins = new OriginPolicy(deps.config.server.allowedOrigins, deps.config.server.tls.cert !== '');
    for (const route of this.config.routes) {
      this.routeState.set(route.name, {
        balancer: new Balancer(route.balance),
        auth: new RouteAuth(route, deps.config.api.keys, deps.authenticator, deps.config.auth.jwt.cookie, cookieOrigins),
      });
    }
  }

  /**
   * Proxies requests for which the node has no endpoint of its own and a gateway route matches;
   * the node's endpoints always win. Such requests are taken from the HTTP server before fastify
   * sees them (it would only answer 404), so bodies stream untouched and the hot path stays short.
   */
  mount(app: FastifyInstance): void {
    if (this.table.empty) return;
    const server = app.server;
    const fastifyHandlers = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      let match: RouteMatch | undefined;
      try {
        match = this.table.match(req.method!, req.url!, req.headers);
      } catch (err) {
        // An ambiguous path is refused unless it is one of the node's own endpoints (an encoded `/` in a channel name).
        if (!ownEndpoint(app, req.method!, req.url!.split('?', 1)[0]!)) {
          this.answer(res, '', err);
          return;
        }
      }
      if (match && !app.findRoute({ method: req.method as 'GET', url: match.originalPath })) {
        void this.proxy(req, res, match);
        return;
      }
      for (const handler of fastifyHandlers) handler.call(server, req, res);
    });
  }

  async start(): Promise<void> {
    await this.registry.start();
    this.upstreams.start();
  }

  async stop(): Promise<void> {
    this.graphql?.sockets.close();
    this.upstreams.stop();
    await this.registry.stop();
  }

  /** Takes a WebSocket (Upgrade) request a gateway route matches; false when none does. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    let match: RouteMatch | undefined;
    try {
      match = this.table.match(req.method ?? 'GET', req.url ?? '/', req.headers);
    } catch (err) {
      this.refuseUpgrade(socket, '', err);
      return true;
    }
    if (!match) return false;
    void (match.route.kind === 'graphql' ? this.acceptGraphql(req, socket, head, match) : this.proxyUpgrade(req, socket, head, match));
    return true;
  }

  /**
   * Sends one request to a service and resolves with its whole answer: to an HTTP instance as an
   * HTTP request, to a gRPC instance through ForwardingService.Send. Instances are chosen, ejected
   * and retried as for proxy routes. Rejects with `unavailable` (no instance), `timeout`,
   * `backend_error` or `too_large` (SwitchboardError). For callers such as client-message routing.
   */
  async send(service: string, request: ServiceRequest, options: SendOptions = {}): Promise<ForwardingResponse> {
    let balancer = this.sendBalancers.get(service);
    // Hashing when the caller gives a key, round robin when it does not.
    if (!balancer) this.sendBalancers.set(service, (balancer = new Balancer('hash')));
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
      return await this.attempt(service, '', balancer, options.hashKey, idempotent.has(full.method), options.retries ?? 1, async (up) => {
        const response = up.grpc ? await up.grpc.send(full, timeout) : await this.sendHttp(up, full, timeout);
        this.settle(up, '', response.statusCode);
        return response;
      });
    } catch (err) {
      throw this.asError(err) ?? new SwitchboardError('internal', 'internal error');
    }
  }

  private async sendHttp(up: Upstream, request: ForwardingRequest, timeout: number): Promise<ForwardingResponse> {
    const max = this.config.grpc.maxMessageBytes;
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

  private async proxy(req: IncomingMessage, res: ServerResponse, match: RouteMatch): Promise<void> {
    const { route } = match;
    const state = this.routeState.get(route.name)!;
    const stopTimer = this.metrics.duration.startTimer({ route: route.name });
    let timed = false;
    const observe = () => {
      if (timed) return;
      timed = true;
      stopTimer();
    };
    try {
      const declared = Number(req.headers['content-length'] ?? 0);
      const hasBody = declared > 0 || req.headers['transfer-encoding'] !== undefined;
      this.checkLimits(req, declared);
      const identity = await state.auth.check(req.headers);
      await this.admitRate(route, req);
      // A small body of known length is read first: it goes upstream in one write with the
      // headers, and the request may be retried. Larger ones stream.
      const small = declared > 0 && declared <= SMALL_BODY;
      let buffered: Promise<Buffer> | undefined = small ? readRequestBody(req, declared, 'gateway.limits.maxBodyBytes') : undefined;
      if (buffered) await buffered;
      const grpcOnly = this.upstreams.of(route.service).every((up) => up.grpc);
      const retriable = idempotent.has(req.method!) && (!hasBody || small || grpcOnly);
      await this.attempt(route.service, route.name, state.balancer, this.hashKey(route, req), retriable, route.retries, async (up) => {
        const headers = this.headersFor(req, route, up, state, identity, false);
        if (up.grpc) {
          buffered ??= readRequestBody(req, this.config.grpc.maxMessageBytes, 'gateway.grpc.maxMessageBytes');
          const response = await up.grpc.send(this.forwardingRequest(req, match, headers, await buffered, identity), route.timeout);
          observe();
          this.settle(up, route.name, response.statusCode);
          res.writeHead(response.statusCode, downstreamHeaders(Object.fromEntries(Object.entries(response.headers).map(([k, v]) => [k, v.length === 1 ? v[0] : v]))));
          res.end(response.body);
          return;
        }
        const max = this.config.limits.maxBodyBytes;
        const body = buffered ? await buffered : !hasBody ? null : max > 0 && !(declared > 0) ? limitedBody(req, max, () => this.stats.limit('body_size')) : req;
        await proxyHttp(
          up,
          {
            method: req.method!,
            path: `${up.basePath}${match.path}${match.query ? `?${match.query}` : ''}`,
            headers,
            body,
            headersTimeout: route.timeout,
            bodyTimeout: route.idleTimeout,
            accept: route.kind === 'graphql' && (req.method === 'GET' || req.method === 'POST') ? acceptGraphqlAnswer : undefined,
          },
          res,
          (status) => {
            observe();
            this.settle(up, route.name, status);
          },
        );
      });
    } catch (err) {
      observe();
      this.answer(res, route.name, err);
    }
  }

  /** A WebSocket handshake's checks on any route: header limits, the route's auth, its rate limit. */
  private async admitHandshake(req: IncomingMessage, route: GatewayRoute, state: RouteState): Promise<RouteIdentity | undefined> {
    this.checkLimits(req, 0);
    const identity = await state.auth.check(req.headers);
    await this.admitRate(route, req);
    return identity;
  }

  private async proxyUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, match: RouteMatch): Promise<void> {
    const { route } = match;
    const state = this.routeState.get(route.name)!;
    const stopTimer = this.metrics.duration.startTimer({ route: route.name });
    try {
      const identity = await this.admitHandshake(req, route, state);
      await this.attempt(route.service, route.name, state.balancer, this.hashKey(route, req), true, route.retries, async (up) => {
        if (up.grpc) throw new SwitchboardError('bad_request', `service ${route.service} is a gRPC service; it cannot take a WebSocket`);
        const headers = this.headersFor(req, route, up, state, identity, true);
        const status = await proxyUpgrade(up, `${up.basePath}${match.path}${match.query ? `?${match.query}` : ''}`, headers, route.timeout, socket, head);
        stopTimer();
        this.settle(up, route.name, status);
      });
    } catch (err) {
      stopTimer();
      this.refuseUpgrade(socket, route.name, err);
    }
  }

  /**
   * A graphql route's WebSocket: the route's checks apply to the handshake, then the socket is
   * terminated here and each operation is forwarded to an instance (graphql-connection.ts).
   */
  private async acceptGraphql(req: IncomingMessage, socket: Duplex, head: Buffer, match: RouteMatch): Promise<void> {
    const { route } = match;
    const state = this.routeState.get(route.name)!;
    const stopTimer = this.metrics.duration.startTimer({ route: route.name });
    try {
      const identity = await this.admitHandshake(req, route, state);
      const hashKey = this.hashKey(route, req);
      const graphql = this.graphql!;
      const connection = new graphql.support.GraphqlConnection({
        settings: this.config.graphql,
        target: `${match.path}${match.query ? `?${match.query}` : ''}`,
        timeout: route.timeout,
        headersFor: (up) => {
          const headers = this.headersFor(req, route, up, state, identity, false);
          // The link's handshake is its own.
          for (const name of Object.keys(headers)) if (name.startsWith('sec-websocket-')) delete headers[name];
          return headers;
        },
        admit: () => this.admitRate(route, req),
        choose: (open) => this.attempt(route.service, route.name, state.balancer, hashKey, true, route.retries, open),
        answered: (up, status) => this.settle(up, route.name, status),
        lost: (up, failure) => {
          this.metrics.upstreamErrors.inc({ route: route.name, service: up.instance.service, instance: up.instance.id, reason: failure.reason });
          this.upstreams.failed(up);
          this.log.warn({ event: 'gateway.graphql_lost', route: route.name, service: up.instance.service, id: up.instance.id, err: failure.message }, 'GraphQL connection to an instance lost');
        },
        asError: (err) => this.asError(err, route.name) ?? new SwitchboardError('internal', 'internal error'),
        limitHit: () => this.stats.limit('subscriptions'),
      });
      stopTimer();
      graphql.sockets.accept(req, socket, head, connection);
    } catch (err) {
      stopTimer();
      this.refuseUpgrade(socket, route.name, err);
    }
  }

  /** Answers a WebSocket handshake the gateway refuses on its raw socket. */
  private refuseUpgrade(socket: Duplex, route: string, err: unknown): void {
    const error = this.asError(err, route);
    if (!error || socket.destroyed) return;
    const retryAfter = error instanceof NoInstance || error instanceof RateLimited ? `Retry-After: ${error.retryAfter}\r\n` : '';
    refuseUpgrade(socket, error.httpStatus, errorBody(error.code, error.message), retryAfter);
  }

  /**
   * Runs `run` on an instance chosen by the balancer. A failure before the request was sent
   * (connect error, gRPC UNAVAILABLE) is tried again on another instance when `retriable`. Every
   * failure counts towards the instance's ejection. When no instance is left the service is
   * marked down on every node and NoInstance is thrown.
   */
  private async attempt<T>(service: string, route: string, balancer: Balancer, hashKey: string | undefined, retriable: boolean, retries: number, run: (up: Upstream) => Promise<T>): Promise<T> {
    const tried = new Set<Upstream>();
    for (;;) {
      const all = this.upstreams.of(service);
      const now = Date.now();
      const up = balancer.pick(
        all.filter((u) => u.available(now) && !tried.has(u)),
        all,
        hashKey,
      );
      if (!up) throw this.noInstance(service, all);
      tried.add(up);
      up.outstanding += 1;
      try {
        return await run(up);
      } catch (err) {
        if (!(err instanceof UpstreamError)) throw err;
        this.metrics.upstreamErrors.inc({ route, service, instance: up.instance.id, reason: err.reason });
        this.upstreams.failed(up);
        if (!err.beforeSending) throw err;
        const left = this.upstreams.of(service).filter((u) => u.available(Date.now()) && !tried.has(u));
        if (left.length === 0 && !this.upstreams.of(service).some((u) => u.available(Date.now()))) throw this.noInstance(service, all);
        if (!retriable || tried.size > retries || left.length === 0) throw err;
        this.metrics.retries.inc({ route, service });
      } finally {
        up.outstanding -= 1;
      }
    }
  }

  private noInstance(service: string, all: Upstream[]): NoInstance {
    if (all.length > 0) this.upstreams.noneLeft(service);
    return new NoInstance(service, this.upstreams.retryAfter(service));
  }

  /** An instance answered: 5xx counts towards its ejection, anything else clears its failures. */
  private settle(up: Upstream, route: string, status: number): void {
    this.metrics.requests.inc({ route, service: up.instance.service, instance: up.instance.id, status: statusClass(status) });
    if (status >= 500) {
      this.metrics.upstreamErrors.inc({ route, service: up.instance.service, instance: up.instance.id, reason: 'status_5xx' });
      this.upstreams.failed(up);
    } else {
      this.upstreams.succeeded(up);
    }
  }

  private checkLimits(req: IncomingMessage, declared: number): void {
    const { maxHeaderBytes, maxBodyBytes } = this.config.limits;
    if (headerBytes(req) > maxHeaderBytes) {
      this.stats.limit('header_size');
      throw new SwitchboardError('too_large', `request headers are larger than gateway.limits.maxHeaderBytes (${maxHeaderBytes} bytes)`);
    }
    if (maxBodyBytes > 0 && declared > maxBodyBytes) {
      this.stats.limit('body_size');
      throw new SwitchboardError('too_large', `request body is larger than gateway.limits.maxBodyBytes (${maxBodyBytes} bytes)`);
    }
  }

  private async admitRate(route: GatewayRoute, req: IncomingMessage): Promise<void> {
    const limit = route.rateLimit;
    if (!limit) return;
    const by = limit.by;
    const key = by.kind === 'header' ? `${route.name}:${String(req.headers[by.name] ?? '')}` : by.kind === 'ip' ? `${route.name}:${req.socket.remoteAddress}` : route.name;
    const decision = await this.rateLimiter.take(key, limit.requests, limit.window);
    if (decision.allowed) return;
    this.stats.limit('rate');
    throw new RateLimited(route.name, Math.max(1, Math.ceil(decision.resetIn / 1000)));
  }

  private hashKey(route: GatewayRoute, req: IncomingMessage): string | undefined {
    const source = route.hashOn;
    if (route.balance !== 'hash' || !source) return undefined;
    if (source.from === 'cookie') return cookieValue(req.headers.cookie, source.name);
    const value = req.headers[source.name];
    return Array.isArray(value) ? value.join(',') : value;
  }

  private headersFor(req: IncomingMessage, route: GatewayRoute, up: Upstream, state: RouteState, identity: RouteIdentity | undefined, upgrade: boolean): OutgoingHttpHeaders {
    const headers = upstreamHeaders(req, {
      trustForwarded: this.config.trustForwarded,
      upstreamHost: route.preserveHost ? undefined : up.host,
      prefix: route.stripPrefix || route.rewrite !== '' ? route.path : undefined,
      extra: state.auth.claimHeaders(identity),
      gatewayOnly: this.claimHeaderNames,
      upgrade,
    });
    headers['x-request-id'] ??= randomUUID();
    return headers;
  }

  private forwardingRequest(req: IncomingMessage, match: RouteMatch, headers: OutgoingHttpHeaders, body: Buffer, identity: RouteIdentity | undefined): ForwardingRequest {
    return {
      method: req.method!,
      path: match.path,
      query: match.query,
      headers: headerLists(headers),
      body,
      remoteAddress: `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? ''}`,
      user: identity?.user ?? '',
      context: JSON.stringify(identity?.claims ?? {}),
      host: req.headers.host ?? '',
      scheme: String(headers['x-forwarded-proto'] ?? 'http'),
      route: match.route.name,
      service: match.route.service,
      originalPath: match.originalPath,
      requestId: String(headers['x-request-id']),
    };
  }

  /** Any failure as the error to answer with, counted; undefined when there is nobody to answer (client gone). */
  private asError(err: unknown, route = ''): SwitchboardError | undefined {
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

  private answer(res: ServerResponse, route: string, err: unknown): void {
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
}
