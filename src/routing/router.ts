import { randomUUID } from 'node:crypto';
import { SwitchboardError, asSwitchboardError } from '../protocol/errors.js';
import type { FrameId } from '../protocol/frames.js';
import { Endpoint, PoolTransport, ServiceTransport, type BackendAnswer, type ServiceSender } from './backend.js';
import type { BackendOptions, RouteOptions, RoutingOptions } from '../config/routing.js';
import { envelopeHeaders, envelopeJson, type RoutedMessage } from './message.js';
import type { RoutingMetrics } from './metrics.js';
import { SelectionExpression } from '../config/selection.js';

/** A client's `send` or `rpc` frame. */
export interface ClientMessage {
  kind: 'send' | 'rpc';
  method?: string;
  data: unknown;
  replyTo?: FrameId;
}

/** The sending session as routing sees it. */
export interface Sender {
  id: string;
  user: string;
  context: Record<string, unknown>;
  transport: string;
}

/** Where a matched message goes. */
type Destination = { route: RouteOptions; backend: string } | { route: RouteOptions; channel: string };

/** Stores a durable route's message and delivers it later, at least once (see DurableDelivery). */
export interface DurableSink {
  enqueue(route: RouteOptions, backend: string, message: RoutedMessage): Promise<void>;
}

export interface RouterDeps {
  node: string;
  /** Publishes data to a channel as the server (a channel route). */
  publish(channel: string, data: unknown): Promise<unknown>;
  metrics: RoutingMetrics;
  /** Deepest JSON nesting accepted in a backend's answer (limits.maxJsonDepth). */
  maxJsonDepth: number;
  /** The service gateway's sender, for backends that name a gateway service (gateway.enabled). */
  sendToService?: ServiceSender;
}

/** What the client gets: data for its reply now, or nothing yet (the backend answers through the API). */
export type RouteResult = { later: false; data: unknown } | { later: true };

/** Lifecycle routes are served by the connect and disconnect hooks, not by message matching. */
const lifecycleKeys = new Set(['$connect', '$disconnect']);

/**
 * Turns client messages into calls: the first route that matches (route key, regex or rules
 * service) names a backend, which gets the message as an HTTP POST, or a channel, which gets it
 * as a publication. Durable routes store the message first and deliver it at least once.
 */
export class Router {
  readonly endpoints = new Map<string, Endpoint>();
  private readonly rulesEndpoints = new Map<string, Endpoint>();
  private readonly routes: RouteOptions[];
  private readonly selection: SelectionExpression;
  private readonly textNeeded: boolean;
  private durable: DurableSink | undefined;

  constructor(
    readonly options: RoutingOptions,
    private readonly deps: RouterDeps,
  ) {
    this.selection = new SelectionExpression(options.selectionExpression);
    this.routes = options.routes.filter((r) => r.key === undefined || !lifecycleKeys.has(r.key));
    this.textNeeded = this.routes.some((r) => r.regex !== undefined);
    for (const [name, backend] of Object.entries(options.backends)) {
      this.endpoints.set(name, this.endpoint(name, backend));
    }
    for (const route of this.routes) {
      if (route.rules) this.rulesEndpoints.set(route.name, this.endpoint(`rules:${route.name}`, { url: route.rules, timeout: options.rulesTimeout }));
    }
  }

  get durableRoutes(): RouteOptions[] {
    return this.routes.filter((r) => r.durable);
  }

  /** Routes for listing in the API. */
  describe(): { name: string; match: string; target: string; durable: boolean }[] {
    return this.options.routes.map((r) => ({
      name: r.name,
      match: r.key !== undefined ? `key ${r.key}` : r.regex ? `regex ${r.regex.source}` : `rules ${r.rules}`,
      target: r.backend !== undefined ? `backend ${r.backend}` : r.channel !== undefined ? `channel ${r.channel}` : 'rules service',
      durable: r.durable,
    }));
  }

  useDurable(sink: DurableSink): void {
    this.durable = sink;
  }

  /** Routes one client message; throws a SwitchboardError the client is answered with. */
  async route(sender: Sender, message: ClientMessage): Promise<RouteResult> {
    const routed: RoutedMessage = {
      id: randomUUID(),
      kind: message.kind,
      method: message.method,
      route: '',
      data: message.data,
      replyTo: message.replyTo,
      session: sender.id,
      user: sender.user,
      context: sender.context,
      transport: sender.transport,
      node: this.deps.node,
      time: Date.now(),
    };
    let destination: Destination | undefined;
    try {
      destination = await this.match(routed, message);
    } catch (err) {
      this.deps.metrics.routedMessage(routed.route || '-', err instanceof UnknownDestination ? 'unknown_destination' : 'error');
      throw err;
    }
    if (!destination) {
      this.deps.metrics.routedMessage('-', 'unmatched');
      throw new SwitchboardError('not_found', message.kind === 'rpc' ? `no route for method ${JSON.stringify(message.method)}` : 'no route matches this message');
    }
    const { route } = destination;
    routed.route = route.name;
    try {
      const result = await this.deliver(destination, routed);
      this.deps.metrics.routedMessage(route.name, route.durable ? 'accepted' : result.later ? 'later' : 'ok');
      return result;
    } catch (err) {
      this.deps.metrics.routedMessage(route.name, 'error');
      throw asSwitchboardError(err);
    }
  }

  /** Calls a backend with a message once (durable delivery uses this for every attempt). */
  async call(backend: string, message: RoutedMessage, attempt: number): Promise<BackendAnswer> {
    const endpoint = this.endpoints.get(backend);
    if (!endpoint) throw new UnknownDestination(`backend ${JSON.stringify(backend)} is not configured`);
    return endpoint.post(envelopeJson(message, attempt), envelopeHeaders(message, attempt));
  }

  async close(): Promise<void> {
    await Promise.all([...this.endpoints.values(), ...this.rulesEndpoints.values()].map((e) => e.close()));
  }

  private endpoint(name: string, backend: Partial<BackendOptions>): Endpoint {
    const transport =
      backend.service !== undefined
        ? new ServiceTransport(name, backend.service, backend.path ?? '/', this.serviceSender())
        : new PoolTransport(name, backend.url!, backend.connections ?? 16, backend.timeout || this.options.timeout);
    const options = {
      timeout: backend.timeout || this.options.timeout,
      maxResponseBytes: backend.maxResponseBytes || this.options.maxResponseBytes,
      headers: backend.headers ?? {},
      maxJsonDepth: this.deps.maxJsonDepth,
    };
    return new Endpoint(name, transport, options, this.options.breaker, this.deps.metrics);
  }

  private serviceSender(): ServiceSender {
    const send = this.deps.sendToService;
    if (!send) throw new Error('a routing backend names a gateway service, but the gateway is off');
    return send;
  }

  private async match(routed: RoutedMessage, message: ClientMessage): Promise<Destination | undefined> {
    const key = message.kind === 'rpc' ? message.method : this.selection.keyOf(message.data);
    const text = !this.textNeeded ? '' : message.kind === 'rpc' ? message.method! : typeof message.data === 'string' ? message.data : JSON.stringify(message.data);
    for (const route of this.routes) {
      if (route.key !== undefined) {
        if (route.key === '$default' || route.key === key) return this.target(route);
      } else if (route.regex) {
        if (route.regex.test(text)) return this.target(route);
      } else {
        routed.route = route.name;
        const chosen = await this.askRules(route, routed);
        if (chosen) return chosen;
      }
    }
    return undefined;
  }

  private target(route: RouteOptions): Destination {
    return route.backend !== undefined ? { route, backend: route.backend } : { route, channel: route.channel! };
  }

  /** Asks a rules service; `{"backend": name}` or `{"channel": name}` chooses, `{}` passes to the next route. */
  private async askRules(route: RouteOptions, routed: RoutedMessage): Promise<Destination | undefined> {
    const answer = await this.rulesEndpoints.get(route.name)!.post(envelopeJson(routed, 1), envelopeHeaders(routed, 1));
    const chosen = answer.later ? undefined : answer.data;
    if (chosen === null || typeof chosen !== 'object' || Array.isArray(chosen)) {
      throw new UnknownDestination(`the rules service of route ${route.name} did not answer a JSON object`);
    }
    const { backend, channel } = chosen as Record<string, unknown>;
    if (typeof backend === 'string') {
      if (!this.endpoints.has(backend))
        throw new UnknownDestination(`the rules service of route ${route.name} chose backend ${JSON.stringify(backend).slice(0, 80)}, which is not configured`);
      return { route, backend };
    }
    if (typeof channel === 'string') {
      if (route.durable) throw new UnknownDestination(`the rules service of durable route ${route.name} chose a channel; durable routes deliver to backends`);
      return { route, channel };
    }
    // Only `{}` or null choices mean "no choice"; any other field makes it an answer of no known shape.
    const otherFields = Object.keys(chosen).some((field) => field !== 'backend' && field !== 'channel');
    if (!otherFields && (backend ?? null) === null && (channel ?? null) === null) return undefined;
    throw new UnknownDestination(`the rules service of route ${route.name} answered neither a backend nor a channel name`);
  }

  private async deliver(destination: Destination, routed: RoutedMessage): Promise<RouteResult> {
    if ('channel' in destination) return { later: false, data: await this.deps.publish(destination.channel, routed.data) };
    if (destination.route.durable) {
      if (!this.durable) throw new SwitchboardError('unavailable', 'durable delivery is not running on this node');
      await this.durable.enqueue(destination.route, destination.backend, routed);
      return { later: false, data: { messageId: routed.id, durable: true } };
    }
    return this.call(destination.backend, routed, 1);
  }
}

/** A rules service chose a destination that does not exist, or answered something that is not a choice. */
class UnknownDestination extends SwitchboardError {
  constructor(message: string) {
    super('backend_error', message);
  }
}
