import { randomUUID } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Authenticator } from '../auth/authenticator.js';
import { clientOriginPolicy } from '../auth/origins.js';
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
import { limitedBody, proxyHttp } from './http-proxy.js';
import { GatewayFailures, RateLimited } from './failures.js';
import { idempotentMethods, InstanceAttempts } from './instance-attempts.js';
import { ServiceCalls, type SendOptions, type ServiceRequest } from './service-calls.js';
import { GatewayMetrics } from './metrics.js';
import type { RateLimiter } from './rate-limit.js';
import { ServiceRegistry } from './registry.js';
import { RouteAuth, type RouteIdentity } from './route-auth.js';
import { RouteTable, type RouteMatch } from './route-table.js';
import { BodyTooLarge, readBody } from '../outbound/read-body.js';
import type { TargetPolicy } from '../outbound/targets.js';
import { Upstreams, type Upstream } from './upstreams.js';
import { proxyUpgrade } from './ws-proxy.js';

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

interface RouteState {
  balancer: Balancer;
  auth: RouteAuth;
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
  private readonly calls: ServiceCalls;
  private readonly rateLimiter: RateLimiter;
  private readonly attempts: InstanceAttempts;
  private readonly failures: GatewayFailures;
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
    this.attempts = new InstanceAttempts(this.upstreams, this.metrics);
    this.failures = new GatewayFailures(this.metrics, deps.stats, deps.log);
    this.calls = new ServiceCalls(this.attempts, this.failures, this.config.grpc.maxMessageBytes);
    this.table = new RouteTable(this.config.routes);
    this.graphql = deps.graphql && { support: deps.graphql, sockets: new deps.graphql.GraphqlSockets(this.config.graphql, deps.stats, deps.log) };
    this.claimHeaderNames = new Set(this.config.routes.flatMap((route) => route.claimHeaders.map(([, header]) => header)));
    const cookieOrigins = clientOriginPolicy(deps.config.server);
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
          this.failures.answer(res, '', err);
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

  /** Sends one request to a service and resolves with its whole answer (see ServiceCalls.send). */
  send(service: string, request: ServiceRequest, options: SendOptions = {}): Promise<ForwardingResponse> {
    return this.calls.send(service, request, options);
  }

  /** Takes a WebSocket (Upgrade) request a gateway route matches; false when none does. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    let match: RouteMatch | undefined;
    try {
      match = this.table.match(req.method ?? 'GET', req.url ?? '/', req.headers);
    } catch (err) {
      this.failures.refuseUpgrade(socket, '', err);
      return true;
    }
    if (!match) return false;
    void (match.route.kind === 'graphql' ? this.acceptGraphql(req, socket, head, match) : this.proxyUpgrade(req, socket, head, match));
    return true;
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
      const retriable = idempotentMethods.has(req.method!) && (!hasBody || small || grpcOnly);
      await this.attempts.run(route.service, route.name, state.balancer, this.hashKey(route, req), retriable, route.retries, async (up) => {
        const headers = this.headersFor(req, route, up, state, identity, false);
        if (up.grpc) {
          buffered ??= readRequestBody(req, this.config.grpc.maxMessageBytes, 'gateway.grpc.maxMessageBytes');
          const response = await up.grpc.send(this.forwardingRequest(req, match, headers, await buffered, identity), route.timeout);
          observe();
          this.attempts.settle(up, route.name, response.statusCode);
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
            this.attempts.settle(up, route.name, status);
          },
        );
      });
    } catch (err) {
      observe();
      this.failures.answer(res, route.name, err);
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
      await this.attempts.run(route.service, route.name, state.balancer, this.hashKey(route, req), true, route.retries, async (up) => {
        if (up.grpc) throw new SwitchboardError('bad_request', `service ${route.service} is a gRPC service; it cannot take a WebSocket`);
        const headers = this.headersFor(req, route, up, state, identity, true);
        const status = await proxyUpgrade(up, `${up.basePath}${match.path}${match.query ? `?${match.query}` : ''}`, headers, route.timeout, socket, head);
        stopTimer();
        this.attempts.settle(up, route.name, status);
      });
    } catch (err) {
      stopTimer();
      this.failures.refuseUpgrade(socket, route.name, err);
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
        choose: (open) => this.attempts.run(route.service, route.name, state.balancer, hashKey, true, route.retries, open),
        answered: (up, status) => this.attempts.settle(up, route.name, status),
        lost: (up, failure) => {
          this.metrics.upstreamErrors.inc({ route: route.name, service: up.instance.service, instance: up.instance.id, reason: failure.reason });
          this.upstreams.failed(up);
          this.log.warn(
            { event: 'gateway.graphql_lost', route: route.name, service: up.instance.service, id: up.instance.id, err: failure.message },
            'GraphQL connection to an instance lost',
          );
        },
        asError: (err) => this.failures.asError(err, route.name) ?? new SwitchboardError('internal', 'internal error'),
        limitHit: () => this.stats.limit('subscriptions'),
      });
      stopTimer();
      graphql.sockets.accept(req, socket, head, connection);
    } catch (err) {
      stopTimer();
      this.failures.refuseUpgrade(socket, route.name, err);
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
}
