import Fastify, { type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { type Broker, type ClusterQuery, type ControlMessage, type ControlTarget, type NodeReport, type PresenceMember, type Publication, type StreamPosition } from './brokers/broker.js';
import { Authenticator, type ConnectRequest } from './auth/authenticator.js';
import { DisconnectHook } from './auth/disconnect-hook.js';
import type { Identity } from './auth/identity.js';
import { Permissions } from './auth/permissions.js';
import { RevocationList, revocationChannel, type Revocation } from './auth/revocations.js';
import { TokenVerifier } from './auth/tokens.js';
import { createBroker } from './brokers/create.js';
import type { MemoryBus } from './brokers/memory.js';
import { Cluster } from './cluster/cluster.js';
import { Bridges } from './bridges/bridges.js';
import { ChannelRules, type ResolvedChannel } from './channels/channels.js';
import type { Config } from './config/schema.js';
import { CloseCodes, SwitchboardError } from './errors.js';
import { Hub } from './hub/hub.js';
import { registerApiRoutes } from './api/routes.js';
import { limitJsonBodies } from './api/json-body.js';
import { metricsSource, registerOpsRoutes, type MachineView } from './observability/ops-routes.js';
import { MetricsServer } from './observability/metrics-server.js';
import { createLogger } from './observability/log.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import type { Cursor } from './protocol/cursor.js';
import type { FrameId, ServerFrame } from './protocol/frames.js';
import { WireFormat, wireFormatNames } from './protocol/wire.js';
import { ClientCommands, EndsSession } from './sessions/client-commands.js';
import { HeartbeatClock } from './sessions/heartbeat.js';
import { SessionRegistry } from './sessions/registry.js';
import { SessionSecrets, secretDigest } from './sessions/session-secrets.js';
import { Session, type SessionLimits } from './sessions/session.js';
import type { Sink } from './sessions/sink.js';
import { registerClientRoutes } from './transports/routes.js';
import { registerBrowserAccess } from './transports/browser-access.js';
import { CertificateReloader, readTlsFiles, type SecureContextTarget } from './transports/tls.js';
import { registerDemoRoutes } from './demo/routes.js';
import { loadConsolePage } from './admin/page-assets.js';
import { registerConsolePageRoutes } from './admin/page-routes.js';
import { Gateway, type GraphqlSupport } from './gateway/gateway.js';
import { createGatewayStores, type GatewayStores } from './gateway/stores.js';
import { RoutingMetrics } from './routing/metrics.js';
import { DurableDelivery, longestCall } from './routing/durable.js';
import { Router } from './routing/router.js';
import { principalResolver } from './topics/access.js';
import { createTopicStore } from './topics/create-store.js';
import { TopicService } from './topics/service.js';
import type { TopicStore } from './topics/store.js';
import { TopicStreams } from './topics/stream.js';
import { TargetPolicy } from './outbound/targets.js';
import { reachableHost } from './cluster/reachable-host.js';
import { AdminConsole } from './admin/console.js';
import { ConsoleCredentials } from './admin/credentials.js';
import { answerSessions, mergeSessionPages, type PageRequest, type SessionListing, type SessionsQuery } from './sessions/listing.js';
import { CpuMeter } from './observability/cpu.js';
import { version } from './version.js';

export type { SessionListing } from './sessions/listing.js';

export interface NodeOptions {
  /** Share an in-process bus with other nodes (tests); each node gets its own otherwise. */
  bus?: MemoryBus;
  logger?: Logger;
  /** A worker's broker (src/workers/): instead of the one broker.type names. */
  broker?: Broker;
  /** A worker's view of all the workers of its machine, for /metrics and /readyz. */
  machine?: MachineView;
}

/** What SwitchboardNode.create loads for the configuration: only the configured clients' libraries. */
export interface NodeParts {
  log: Logger;
  broker: Broker;
  topicStore: TopicStore;
  gatewayStores: GatewayStores | undefined;
  /** Loaded only for what the configuration turns on: graphql-js and graphql-ws are not small. */
  gatewayGraphql: GraphqlSupport | undefined;
  graphql: typeof import('./transports/graphql.js') | undefined;
}

type NodeState = 'created' | 'running' | 'draining' | 'stopped';

export interface OpenSessionInit {
  format: WireFormat;
  sink: Sink;
  remote: string;
  channels: ResolvedChannel[];
  identity: Identity;
  /** Positions to recover from, by channel (SSE Last-Event-ID). */
  cursor?: Cursor;
}

export interface PublishResult {
  subscribers: number;
  offset?: number;
  epoch?: string;
}

/**
 * Fastify's server options: plain HTTP/1.1, or with server.tls HTTPS on the same port, with
 * HTTP/2 offered by ALPN beside HTTP/1.1 (which WebSocket upgrades and older clients use).
 */
function serverOptions(server: Config['server']): object {
  if (!server.tls.cert) return {};
  const https = { ...readTlsFiles(server.tls), handshakeTimeout: server.tls.handshakeTimeout };
  return server.http2 ? { http2: true, https: { ...https, allowHTTP1: true } } : { https };
}

/** A part of the node that re-applies its settings from a freshly read configuration. */
export type Reloader = (config: Config) => void | Promise<void>;

/** One Switchboard process: composes the parts and owns start, drain and stop. */
export class SwitchboardNode {
  readonly id: string;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly broker: Broker;
  readonly hub: Hub;
  readonly registry = new SessionRegistry();
  private readonly sessionSecrets = new SessionSecrets();
  readonly rules: ChannelRules;
  readonly commands: ClientCommands;
  readonly app: FastifyInstance;
  readonly cluster: Cluster;
  readonly authenticator: Authenticator;
  readonly permissions: Permissions;
  readonly revocations: RevocationList;
  /** The service gateway (gateway.enabled). */
  readonly gateway: Gateway | undefined;
  readonly bridges: Bridges;
  readonly router: Router;
  /** Stores and delivers the messages of durable routes. */
  readonly durable: DurableDelivery;
  /** Durable topics (docs/topics.md); also the durable queues of Switchboard's own features. */
  readonly topics: TopicService;
  readonly topicStreams: TopicStreams;
  /** The admin console's sign-ins, samples and live feed (admin.enabled). */
  readonly console: AdminConsole | undefined;
  private readonly cpu = new CpuMeter();
  private readonly clock: HeartbeatClock;
  private state: NodeState = 'created';
  private readonly startedAt = Date.now();
  private presenceTimer: NodeJS.Timeout | undefined;
  private readonly disconnectHook: DisconnectHook;
  /** Shared by every session (one object, not one per connection). */
  private readonly sessionLimits: SessionLimits;
  /** Set in a worker: every worker of the machine answers /metrics and /readyz together. */
  readonly machine: MachineView | undefined;
  /** Reloads server.tls.* (TLS only). */
  readonly certificates: CertificateReloader | undefined;
  private metricsServer: MetricsServer | undefined;
  private readonly onSessionEnd = (session: Session, reason: string, cause: string) => this.endSession(session, reason, cause);
  /** What `reload` re-applies, by the name of the setting or part it reloads. */
  private readonly reloaders = new Map<string, Reloader>();

  /** Builds a node for `config`, loading the modules of the broker, topic store and gateway stores it names. */
  static async create(config: Config, options: NodeOptions = {}): Promise<SwitchboardNode> {
    const log = options.logger ?? createLogger(config.log.level, config.node.id);
    const [broker, topicStore, gatewayStores, gatewayGraphql, graphql] = await Promise.all([
      options.broker ?? createBroker(config.broker, options.bus),
      createTopicStore(config, log),
      config.gateway.enabled ? createGatewayStores(config.broker, log) : undefined,
      config.gateway.enabled && config.gateway.routes.some((route) => route.kind === 'graphql') ? import('./gateway/graphql-support.js') : undefined,
      config.graphql.enabled ? import('./transports/graphql.js') : undefined,
    ]);
    return new SwitchboardNode(config, options, { log, broker, topicStore, gatewayStores, gatewayGraphql, graphql });
  }

  private constructor(
    readonly config: Config,
    options: NodeOptions,
    parts: NodeParts,
  ) {
    this.id = config.node.id;
    this.sessionLimits = {
      maxBufferedBytes: config.sessions.maxBufferedBytes,
      closeGracePeriod: config.sessions.closeGracePeriod,
      messagesPerSecond: config.limits.clientMessagesPerSecond,
      messagesBurst: config.limits.clientMessagesBurst,
    };
    this.log = parts.log;
    this.metrics = createMetrics({
      sessionsByFormat: () => this.registry.countsByFormat(),
      subscriptions: () => this.hub.subscriptions,
      channels: () => this.hub.channelCount,
    });
    this.broker = parts.broker;
    this.machine = options.machine;
    this.broker.onReconnect(() => this.resync());
    this.hub = new Hub(this.broker, this.metrics.stats, (channel, sessions) => {
      this.log.warn({ event: 'broker.gap_lost', channel, sessions: sessions.length }, 'history no longer holds what this node missed; its subscribers are asked to reconnect');
      for (const session of sessions) this.askToReconnect(session, 'insufficient_state');
    });
    this.revocations = new RevocationList(this.broker, (revocation) => this.closeRevoked(revocation));
    this.broker.onPublication((pub) => {
      // A publication of the wrong shape must not throw into the broker client and end the process.
      try {
        if (pub.channel === revocationChannel) this.revocations.receive(pub);
        else this.hub.dispatch(pub);
      } catch (err) {
        this.metrics.stats.error('internal');
        this.log.error({ event: 'broker.bad_publication', channel: String(pub.channel).slice(0, 200), err }, 'publication from the broker dropped');
      }
    });
    const verifier = new TokenVerifier(config.auth.jwt);
    this.disconnectHook = new DisconnectHook(config.auth.disconnectHook, config.limits.maxJsonDepth, this.metrics.stats, this.log);
    const consoleCredentials = config.admin.enabled ? new ConsoleCredentials(config.api.keys, config.admin, verifier.enabled ? (token) => this.authenticator.verify(token) : undefined) : undefined;
    this.authenticator = new Authenticator(config.auth, verifier, this.revocations, this.metrics.stats, this.log, config.limits.maxJsonDepth, consoleCredentials);
    // Which internal addresses push endpoints and registered gateway instances may reach.
    const targets = new TargetPolicy(config.security.allowedPrivateTargets, this.metrics.registry);
    this.gateway = parts.gatewayStores
      ? new Gateway({ config, nodeId: this.id, stats: this.metrics.stats, registry: this.metrics.registry, log: this.log, authenticator: this.authenticator, targets, stores: parts.gatewayStores, graphql: parts.gatewayGraphql })
      : undefined;
    this.permissions = new Permissions(config.auth, (token) => this.authenticator.verify(token), this.metrics.stats, this.log, config.limits.maxJsonDepth);
    this.cluster = new Cluster(
      this.id,
      this.broker,
      { report: () => this.report(), answer: (query) => this.answer(query), act: (message) => this.act(message) },
      config.cluster,
      this.log,
    );
    this.rules = new ChannelRules(config.channels, config.auth.personalNamespace);
    this.bridges = new Bridges({
      config,
      nodeId: this.id,
      log: this.log,
      registry: this.metrics.registry,
      outlet: {
        publish: async (channel, data) => void (await this.publish(this.rules.resolve(channel), data, 'bridge')),
        sendToUser: (user, data) => this.cluster.command({ kind: 'send', target: { user }, data }),
      },
    });
    this.topics = new TopicService(parts.topicStore, config.topics, this.metrics.registry, this.log, targets);
    this.topicStreams = new TopicStreams(this.topics, principalResolver(config.api, this.topics.applications), (code) => this.metrics.stats.error(code));
    this.console = consoleCredentials && new AdminConsole({
      nodeId: this.id,
      config,
      credentials: consoleCredentials,
      stats: this.metrics.stats,
      gauges: { connections: () => this.registry.size, subscriptions: () => this.hub.subscriptions },
      publish: (pub) => this.broker.publish(pub),
      onFailure: (what, err) => this.log.warn({ event: 'admin.feed_failed', what, err: (err as Error).message }, 'admin console feed failed'),
      topics: this.topics,
      gateway: this.gateway && { registry: this.gateway.registry, upstreams: this.gateway.upstreams, routes: config.gateway.routes, metrics: this.gateway.metrics },
    });
    const routingMetrics = new RoutingMetrics(this.metrics.registry);
    this.router = new Router(config.routing, {
      node: this.id,
      publish: (channel, data) => this.publish(this.rules.resolve(channel), data, 'client'),
      metrics: routingMetrics,
      maxJsonDepth: config.limits.maxJsonDepth,
      sendToService: this.gateway && ((service, request, timeout) => this.gateway!.send(service, request, { timeout })),
    });
    const { retry } = config.routing;
    this.durable = new DurableDelivery(
      this.topics.store,
      this.router,
      { ...retry, callTimeout: longestCall(config.routing), retention: { ms: config.topics.retention, bytes: config.topics.retentionBytes } },
      routingMetrics,
      this.log,
    );
    this.router.useDurable(this.durable);
    this.commands = new ClientCommands({
      rules: this.rules,
      permissions: this.permissions,
      stats: this.metrics.stats,
      maxSubscriptions: config.sessions.maxSubscriptions,
      maxBadFrames: config.limits.maxBadFrames,
      maxJsonDepth: config.limits.maxJsonDepth,
      publish: (channel, data, source) => this.publish(channel, data, source),
      route: (session, message) => this.router.route({ id: session.id, user: session.user, context: session.context, transport: wireFormatNames[session.format]! }, message),
      subscribe: (session, channel, since, id) => this.subscribe(session, channel, since, id),
      refresh: (session, token) => this.refresh(session, token),
      presence: (channel) => this.broker.presence.list(channel.name),
      unsubscribe: (session, channel, id) => this.unsubscribe(session, channel, id),
      onError: (session, err) => this.log.error({ event: 'session.command_failed', session: session.id, err }, 'client command failed'),
      reserved: this.console?.channels,
    });
    this.clock = new HeartbeatClock(
      this.registry,
      { interval: config.sessions.heartbeatInterval, closeGracePeriod: config.sessions.closeGracePeriod },
      (session) => this.askToReconnect(session, 'lifetime'),
      (session, now) => this.credentialsExpired(session, now),
    );
    this.app = Fastify({
      logger: false,
      bodyLimit: config.api.maxBodyBytes,
      forceCloseConnections: true,
      ...serverOptions(config.server),
    });
    limitJsonBodies(this.app, config.limits.maxJsonDepth, this.metrics.stats);
    if (config.server.tls.cert) this.certificates = new CertificateReloader(this.app.server as unknown as SecureContextTarget, config.server.tls, this.log);
    const origins = registerBrowserAccess(this.app, config);
    registerOpsRoutes(this);
    registerApiRoutes(this);
    registerClientRoutes(this, origins, parts.graphql?.registerGraphql);
    this.gateway?.mount(this.app);
    if (config.demo.enabled) registerDemoRoutes(this.app);
    if (config.admin.enabled) registerConsolePageRoutes(this.app, loadConsolePage());
    this.onReload('log.level', (fresh) => {
      this.log.level = fresh.log.level;
    });
    const certificates = this.certificates;
    if (certificates) {
      this.onReload('server.tls', () => {
        certificates.reload();
      });
    }
  }

  /** Registers a part that can take a freshly read configuration without a restart (on SIGHUP). */
  onReload(name: string, reload: Reloader): void {
    this.reloaders.set(name, reload);
  }

  /**
   * Hands a freshly read configuration to every registered part; the rest of the configuration
   * takes effect at the next start. Sessions stay open. Answers the names of the parts reloaded.
   */
  async reload(fresh: Config): Promise<string[]> {
    const reloaded: string[] = [];
    for (const [name, reload] of this.reloaders) {
      try {
        await reload(fresh);
        reloaded.push(name);
      } catch (err) {
        this.log.error({ event: 'node.reload_failed', part: name, err }, `could not reload ${name}`);
      }
    }
    this.log.info({ event: 'node.reloaded', parts: reloaded }, reloaded.length > 0 ? `reloaded ${reloaded.join(', ')}` : 'nothing was reloaded');
    return reloaded;
  }

  /** Running, connected to the broker, and holding every revocation the cluster has. */
  get isReady(): boolean {
    return this.state === 'running' && this.broker.healthy && this.revocations.inStep;
  }

  /** The lifecycle state this node reports to the cluster and in /api/info (readiness is apart). */
  get reportedState(): Exclude<NodeState, 'created'> {
    return this.state === 'created' ? 'running' : this.state;
  }

  get isDraining(): boolean {
    return this.state === 'draining';
  }

  get uptimeSeconds(): number {
    return (Date.now() - this.startedAt) / 1000;
  }

  /** The port the node listens on (useful with port 0). */
  get port(): number {
    return (this.app.server.address() as AddressInfo).port;
  }

  async start(): Promise<void> {
    await this.broker.connect();
    await this.gateway?.start();
    await this.revocations.start();
    await this.topics.start();
    await this.durable.start();
    await this.app.listen({ host: this.config.server.host, port: this.config.server.port });
    if (this.config.metrics.port !== 0) {
      this.metricsServer = new MetricsServer(metricsSource(this));
      await this.metricsServer.listen(this.config.server.host, this.config.metrics.port);
    }
    this.certificates?.start();
    this.clock.start();
    this.state = 'running';
    this.cluster.start();
    this.console?.start();
    await this.bridges.start();
    const presenceRefresh = this.config.cluster.presenceTtl / 3;
    this.presenceTimer = setInterval(() => this.refreshPresence(), presenceRefresh);
    this.presenceTimer.unref();
    this.log.info(
      { event: 'node.started', host: this.config.server.host, port: this.port, broker: this.broker.name, demo: this.config.demo.enabled, pid: process.pid },
      `listening on ${this.config.server.tls.cert ? 'https' : 'http'}://${this.config.server.host}:${this.port}`,
    );
  }

  /**
   * Accepts a publication and fans it out; resolves with the number of local subscribers reached
   * and, on channels with history, the publication's stream position.
   */
  async publish(channel: ResolvedChannel, data: unknown, source: 'api' | 'client' | 'bridge'): Promise<PublishResult> {
    if (data === undefined) throw new SwitchboardError('bad_request', 'data is required');
    const pub: Publication = { channel: channel.name, data, time: Date.now() };
    const { historySize, historyTtl } = channel.options;
    const position = await this.broker.publish(pub, historySize > 0 ? { history: { size: historySize, ttl: historyTtl } } : undefined);
    if (source === 'api') this.metrics.stats.publicationsApi += 1;
    else if (source === 'bridge') this.metrics.stats.publicationsBridge += 1;
    else this.metrics.stats.publicationsClient += 1;
    const subscribers = this.hub.subscriberCount(channel.name);
    return position ? { subscribers, offset: position.offset, epoch: position.epoch } : { subscribers };
  }

  /** Checks a connection from `remoteIp` may be accepted at all and validates the channels it names; throws before accepting it. */
  admit(channelNames: string[], remoteIp: string): ResolvedChannel[] {
    if (this.state !== 'running') throw new SwitchboardError('unavailable', 'this node is shutting down; connect to another node');
    const max = this.config.limits.maxConnections;
    if (max > 0 && this.registry.size >= max) {
      this.metrics.stats.limit('connections');
      throw new SwitchboardError('unavailable', 'this node is at its connection limit; connect to another node');
    }
    const perIp = this.config.limits.maxConnectionsPerIp;
    if (perIp > 0 && this.registry.countOfIp(remoteIp) >= perIp) {
      this.metrics.stats.limit('connections_per_ip');
      throw new SwitchboardError('rate_limited', `this node accepts at most ${perIp} connections from one address; close one first`);
    }
    if (channelNames.length > this.config.sessions.maxSubscriptions) {
      this.metrics.stats.limit('subscriptions');
      throw new SwitchboardError('limit_exceeded', `a session may subscribe to at most ${this.config.sessions.maxSubscriptions} channels`);
    }
    return channelNames.map((name) => this.rules.resolve(name));
  }

  /**
   * Authenticates a connection and checks it may subscribe to what it asked for; resolves with
   * its identity and every channel to subscribe (asked for, from the connect hook, personal).
   */
  async authorize(req: ConnectRequest, asked: ResolvedChannel[], firstFrameToken?: string): Promise<{ identity: Identity; channels: ResolvedChannel[] }> {
    const identity = await this.authenticator.authenticate(req, firstFrameToken);
    const subject = { id: '', ...identity };
    for (const channel of asked) await this.permissions.checkSubscribe(subject, channel);
    const channels = new Map(asked.map((c) => [c.name, c]));
    for (const name of identity.channels) channels.set(name, this.rules.resolve(name));
    const personal = this.config.auth.personalNamespace;
    if (identity.user !== '' && personal) {
      const name = `${personal}:${identity.user}`;
      try {
        channels.set(name, this.rules.resolve(name));
      } catch {
        this.log.warn({ event: 'session.no_personal_channel', user: identity.user }, 'user id cannot form a channel name; no personal channel');
      }
    }
    return { identity, channels: [...channels.values()] };
  }

  /** Registers a new session and subscribes it to the channels it was admitted with. */
  openSession(init: OpenSessionInit): Session {
    const { sessions } = this.config;
    const session = new Session({
      format: init.format,
      sink: init.sink,
      identity: init.identity,
      remote: init.remote,
      limits: this.sessionLimits,
      onEnd: this.onSessionEnd,
    });
    const now = Date.now();
    session.nextHeartbeatAt = this.clock.firstHeartbeatAt(now);
    const pushFormat = init.format === WireFormat.pushWs || init.format === WireFormat.pushSse;
    if (pushFormat || sessions.lifetime.enabled) {
      session.expiresAt = now + sessions.lifetime.min + Math.random() * (sessions.lifetime.max - sessions.lifetime.min);
    }
    if (init.identity.channels.length > 0) session.serverChannels = new Set(init.identity.channels);
    this.registry.add(session);
    this.console?.sessionOpened(session);
    this.metrics.stats.connections[init.format]! += 1;
    const welcome: ServerFrame = {
      type: 'welcome',
      session: session.id,
      user: session.user,
      node: this.id,
      heartbeat: sessions.heartbeatInterval,
      channels: init.channels.map((c) => c.name),
    };
    // Clients of one-way transports send their frames with POST /frames?session=, which needs it.
    if (init.format === WireFormat.sse || init.format === WireFormat.ndjson) welcome.sessionSecret = this.sessionSecrets.of(session.id);
    session.send(welcome);
    for (const channel of init.channels) {
      this.subscribe(session, channel, init.cursor?.get(channel.name)).catch((err) => {
        this.log.error({ event: 'session.subscribe_failed', session: session.id, channel: channel.name, err }, 'subscribe failed');
        session.send({ type: 'unsubscribed', channel: channel.name, reason: 'unavailable' });
      });
    }
    this.log.debug({ event: 'session.opened', session: session.id, transport: wireFormatNames[init.format], remote: init.remote, channels: session.channels.size });
    return session;
  }

  /**
   * Subscribes a session. The `subscribed` frame, then the replayed publications (recovery from
   * `since`), are queued at the moment the session joins the live stream, so nothing is missed or
   * doubled at the hand-over.
   */
  async subscribe(session: Session, channel: ResolvedChannel, since?: StreamPosition, id?: FrameId): Promise<void> {
    const history = channel.options.historySize > 0;
    let added = false;
    await this.hub.subscribe(session, channel.name, { history, since: history ? since : undefined }, (result) => {
      added = result.added;
      const frame: ServerFrame = { type: 'subscribed', id, channel: channel.name };
      if (since) frame.recovered = result.recovered ?? false;
      if (result.position) {
        frame.offset = result.position.offset;
        frame.epoch = result.position.epoch;
      }
      if (result.publications.length > 0) frame.replayed = result.publications.length;
      session.send(frame);
      for (const pub of result.publications) this.hub.deliverTo(session, pub);
    });
    if (added && channel.options.presence) await this.announce(channel.name, session, 'join');
  }

  /** Unsubscribes a session; answers with `unsubscribed` when asked with a frame id or by the server. */
  async unsubscribe(session: Session, channel: ResolvedChannel, id?: FrameId, reason?: string): Promise<void> {
    const removed = this.hub.unsubscribe(session, channel.name);
    session.serverChannels?.delete(channel.name);
    session.send({ type: 'unsubscribed', id, channel: channel.name, reason });
    if (removed && channel.options.presence) await this.announce(channel.name, session, 'leave');
  }

  /** Records presence and tells every subscriber, on every node, that a session joined or left. */
  private async announce(channel: string, session: Session, type: 'join' | 'leave'): Promise<void> {
    if (type === 'join') await this.broker.presence.add(channel, [this.memberOf(session)], this.config.cluster.presenceTtl);
    else await this.broker.presence.remove(channel, [session.id]);
    await this.broker.publish({ channel, data: null, time: Date.now(), presence: { type, user: session.user, session: session.id } });
  }

  private memberOf(session: Session): PresenceMember {
    return { session: session.id, user: session.user, node: this.id };
  }

  /** Refreshes the presence entries of this node's sessions before they expire: one write per channel with presence. */
  private refreshPresence(): void {
    for (const { channel } of this.hub.list()) {
      if (!this.tryResolve(channel)?.options.presence) continue;
      const members = this.hub.subscribers(channel).map((session) => this.memberOf(session));
      this.broker.presence.add(channel, members, this.config.cluster.presenceTtl).catch((err) => {
        this.log.warn({ event: 'presence.refresh_failed', channel, err: (err as Error).message }, 'presence not refreshed');
      });
    }
  }

  /**
   * After the broker connection came back: publications of the gap are read from history and
   * delivered in order, before live ones; sessions on a channel whose gap history cannot cover are
   * asked to reconnect (they will be told `recovered: false`). See Hub.resync. Revocations of the
   * outage are read too, before the node reports ready again, and close the sessions they name.
   */
  private resync(): void {
    this.log.info({ event: 'broker.reconnected', broker: this.broker.name }, 'broker connection is back');
    this.hub.resync();
    this.revocations.catchUp();
  }

  private endSession(session: Session, reason: string, cause: string): void {
    this.registry.remove(session);
    this.console?.sessionClosed(session, reason);
    for (const channel of this.hub.unsubscribeAll(session)) {
      if (!this.tryResolve(channel)?.options.presence) continue;
      this.announce(channel, session, 'leave').catch((err) => {
        this.log.warn({ event: 'presence.leave_failed', channel, err: (err as Error).message }, 'leave not recorded');
      });
    }
    const { stats } = this.metrics;
    stats.disconnect(cause);
    if (cause === 'slow_consumer') {
      stats.error('slow_consumer');
      stats.limit('buffer');
      stats.droppedBytes += session.droppedBytes;
    }
    this.log.debug({ event: 'session.closed', session: session.id, reason, seconds: (Date.now() - session.connectedAt) / 1000 });
    if (this.config.auth.disconnectHook.url && session.format !== WireFormat.longPoll) this.disconnectHook.notify(session, reason, this.id);
  }

  /**
   * The client sent a new token. It must be for the same user: another user's token is refused and
   * ends the session (4502 user_mismatch). Everything the old token gave is replaced by what the new
   * one gives (context, privilege, jti, expiry), and the client's subscriptions it no longer allows
   * are dropped with `unsubscribed {reason: "forbidden"}`.
   */
  private async refresh(session: Session, token: string): Promise<void> {
    const identity = this.authenticator.identityOf(await this.authenticator.verify(token));
    if (identity.user !== session.user) {
      this.metrics.stats.authFailure('user_mismatch');
      throw new EndsSession('forbidden', 'a refreshed token must be for the same user; the session ends', 'user_mismatch');
    }
    session.context = identity.context;
    session.privileged = identity.privileged;
    session.jti = identity.jti;
    session.issuedAt = identity.issuedAt;
    session.credentialsExpireAt = identity.expiresAt ?? 0;
    session.refreshDeadline = 0;
    for (const name of [...session.channels]) {
      if (session.serverChannels?.has(name)) continue;
      const channel = this.tryResolve(name);
      if (!channel || this.permissions.stillAllows(session, channel)) continue;
      await this.unsubscribe(session, channel, undefined, 'forbidden');
    }
  }

  /**
   * Credentials ran out: a bidirectional session is asked to refresh within the grace time; when
   * that passes (or the transport cannot send a token) the session is closed to reconnect with a new one.
   */
  private credentialsExpired(session: Session, now: number): void {
    if (session.refreshDeadline === 0 && session.format === WireFormat.ws) {
      const grace = this.config.auth.refreshGrace;
      session.refreshDeadline = now + grace;
      session.send({ type: 'refresh', within: grace });
      return;
    }
    this.metrics.stats.authFailure('expired');
    session.close(CloseCodes.tokenExpired, 'token_expired', { type: 'disconnect', code: CloseCodes.tokenExpired, reason: 'token_expired' });
  }

  /** A revocation arrived: live sessions it names are closed at once. */
  private closeRevoked(revocation: Revocation): void {
    const sessions = revocation.user !== undefined ? this.registry.ofUser(revocation.user) : this.registry.all();
    for (const session of [...sessions]) {
      if (!RevocationList.matches(revocation, { user: session.user, jti: session.jti, issuedAt: session.issuedAt })) continue;
      session.close(CloseCodes.revoked, 'revoked', { type: 'disconnect', code: CloseCodes.revoked, reason: 'revoked' });
    }
  }

  private tryResolve(channel: string): ResolvedChannel | undefined {
    try {
      return this.rules.resolve(channel);
    } catch {
      return undefined;
    }
  }

  /** This node's sessions a control target names. */
  private localSessions(target: ControlTarget): Session[] {
    if ('session' in target) {
      const session = this.registry.get(target.session);
      return session ? [session] : [];
    }
    return [...this.registry.ofUser(target.user)];
  }

  /** Carries out a control command on this node's sessions. */
  private act(message: Exclude<ControlMessage, { kind: 'node' | 'query' | 'answer' }>): void {
    const sessions = this.localSessions(message.target);
    switch (message.kind) {
      case 'disconnect':
        for (const session of sessions) session.close(message.code, message.reason, { type: 'disconnect', code: message.code, reason: message.reason }, 'api_disconnect');
        return;
      case 'send':
        for (const session of sessions) session.send({ type: 'message', data: message.data });
        return;
      case 'reply':
        for (const session of sessions) session.send({ type: 'reply', id: message.id, data: message.data, error: message.error });
        return;
      case 'subscribe':
      case 'unsubscribe': {
        const channel = this.tryResolve(message.channel);
        if (!channel) return;
        for (const session of sessions) {
          if (message.kind === 'subscribe') (session.serverChannels ??= new Set()).add(channel.name);
          const done = message.kind === 'subscribe' ? this.subscribe(session, channel) : this.unsubscribe(session, channel, undefined, 'server');
          done.catch((err) => this.log.warn({ event: 'session.server_subscribe_failed', session: session.id, err: (err as Error).message }, 'server-side subscription change failed'));
        }
        return;
      }
    }
  }

  /**
   * The user of a live session on any node, and whether `secret` is the session's (see
   * SessionSecrets); undefined when no node holds the session.
   */
  async streamSession(id: string, secret: string): Promise<{ user: string; secretMatches: boolean } | undefined> {
    type Found = { user: string; secretMatches: boolean };
    // Nodes without the session answer null (nodes of an older version a list): only its holder's answer counts.
    const isFound = (a: unknown): a is Found => typeof a === 'object' && a !== null && typeof (a as Found).secretMatches === 'boolean';
    const query: ClusterQuery = { what: 'stream-session', session: id, secretDigest: secretDigest(secret) };
    const local = this.answer(query);
    if (isFound(local)) return local;
    const answers = await this.cluster.query(query);
    return [...answers.values()].find(isFound);
  }

  /** This node's answer to a cluster query. */
  private answer(query: ClusterQuery): unknown {
    if (query.what === 'channels') return this.hub.list(query.prefix);
    if (query.what === 'stream-session') {
      const session = this.registry.get(query.session);
      return session ? { user: session.user, secretMatches: this.sessionSecrets.matches(session.id, query.secretDigest) } : null;
    }
    if (query.what === 'node-stats') return this.console?.answer(query) ?? null;
    return answerSessions(this.registry, this.id, query);
  }

  private report(): NodeReport {
    return {
      id: this.id,
      url: this.config.cluster.advertiseUrl || `${this.config.server.tls.cert ? 'https' : 'http'}://${reachableHost(this.config.server.host)}:${this.state === 'created' ? this.config.server.port : this.port}`,
      state: this.reportedState,
      sessions: this.registry.size,
      subscriptions: this.hub.subscriptions,
      channels: this.hub.channelCount,
      startedAt: this.startedAt,
      time: Date.now(),
      version,
      uptimeSeconds: Math.round(this.uptimeSeconds),
      cpu: this.cpu.read(),
      rss: process.memoryUsage.rss(),
      broker: { type: this.broker.name, connected: this.broker.healthy },
    };
  }

  /** Sessions on every live node matching the filter. */
  async clusterSessions(filter: Omit<SessionsQuery, 'what' | 'page'>): Promise<SessionListing[]> {
    const answers = await this.cluster.query({ what: 'sessions', ...filter });
    return [...answers.values()].flatMap((list) => (Array.isArray(list) ? (list as SessionListing[]) : []));
  }

  /** One page of the sessions on every live node matching the filter, ordered by id. */
  async clusterSessionPage(filter: Omit<SessionsQuery, 'what' | 'page'>, page: PageRequest): Promise<{ sessions: SessionListing[]; total: number; next: string | null }> {
    return mergeSessionPages((await this.cluster.query({ what: 'sessions', ...filter, page })).values(), page);
  }

  /** Tells a session to reconnect (to any node) and closes it. */
  private askToReconnect(session: Session, reason: string, after = 0): void {
    const code = session.format === WireFormat.pushWs ? CloseCodes.goingAway : CloseCodes.reconnect;
    session.close(code, reason, { type: 'reconnect', after: Math.round(after), reason });
  }

  /**
   * Graceful shutdown: readiness turns false and new client connections are refused (503) at
   * once, while the API keeps serving so publications still reach the remaining sessions; open
   * sessions are asked to reconnect, spread over the drain window so they do not all come back
   * at the same moment; then the node stops.
   */
  async drain(): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'draining';
    const window = this.config.shutdown.drainWindow;
    const sessions = [...this.registry.all()];
    this.log.info({ event: 'node.draining', sessions: sessions.length, windowMs: window }, 'draining');
    const spread = sessions.length > 1 ? window * 0.8 : 0;
    const timers = sessions.map((session) => {
      const at = Math.random() * spread;
      return setTimeout(() => this.askToReconnect(session, 'shutdown', Math.random() * 1000), at);
    });
    const deadline = Date.now() + window + this.config.sessions.closeGracePeriod;
    while (this.registry.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    for (const timer of timers) clearTimeout(timer);
    await this.stop();
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    const wasRunning = this.state !== 'created';
    this.state = 'stopped';
    this.clock.stop();
    this.console?.stop();
    this.revocations.stop();
    clearInterval(this.presenceTimer);
    if (wasRunning) await this.bridges.stop();
    for (const session of [...this.registry.all()]) session.terminate('shutdown');
    if (wasRunning) await this.cluster.stop();
    this.topicStreams.close();
    this.certificates?.stop();
    await this.app.close();
    await this.metricsServer?.close();
    await this.durable.stop();
    await this.topics.stop();
    await this.gateway?.stop();
    await this.router.close();
    await this.broker.close();
    this.log.info({ event: 'node.stopped' }, 'stopped');
  }
}
