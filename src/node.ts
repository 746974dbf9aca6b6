import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Broker } from './brokers/broker.js';
import { Authenticator } from './auth/authenticator.js';
import { DisconnectHook } from './auth/disconnect-hook.js';
import { Permissions } from './auth/permissions.js';
import { RevocationList } from './auth/revocations.js';
import { feedFromBroker } from './broker-feed.js';
import { TokenVerifier } from './auth/tokens.js';
import { createBroker } from './create-broker.js';
import { Cluster } from './cluster/cluster.js';
import { Bridges } from './bridges/bridges.js';
import { ChannelRules } from './channels/channels.js';
import type { Config } from './config/schema.js';
import { Hub } from './hub/hub.js';
import { registerApiRoutes } from './api/routes.js';
import { metricsSource, registerOpsRoutes } from './api/ops-routes.js';
import type { MachineView } from './workers/ops-channel.js';
import { MetricsServer } from './observability/metrics-server.js';
import { createLogger } from './observability/log.js';
import type { NodeOptions } from './node-options.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { wireFormatNames } from './protocol/wire.js';
import { SessionRegistry } from './sessions/registry.js';
import { SessionService } from './sessions/service.js';
import type { Session } from './sessions/session.js';
import { ClusterActions } from './cluster/actions.js';
import { Lifecycle } from './cluster/lifecycle.js';
import { registerClientRoutes } from './transports/routes.js';
import { registerBrowserAccess } from './transports/browser-access.js';
import type { CertificateReloader } from './transports/tls.js';
import { createServer } from './transports/server.js';
import { Reloaders } from './reloaders.js';
import { registerDemoRoutes } from './demo/routes.js';
import { loadConsolePage } from './admin/page-assets.js';
import { registerConsolePageRoutes } from './admin/page-routes.js';
import { Gateway, type GraphqlSupport } from './gateway/gateway.js';
import { createGatewayStores, type GatewayStores } from './gateway/create.js';
import type { DurableDelivery } from './routing/durable.js';
import type { Router } from './routing/router.js';
import { createRouting } from './routing/create.js';
import type { ServiceSender } from './routing/backend.js';
import { principalResolver } from './topics/access.js';
import { createTopicStore } from './topics/create.js';
import { TopicService } from './topics/service.js';
import type { TopicStore } from './topics/store.js';
import { TopicStreams } from './topics/stream.js';
import { TargetPolicy } from './outbound/targets.js';
import { AdminConsole } from './admin/console.js';
import { ConsoleCredentials } from './admin/credentials.js';
import { CpuMeter } from './observability/cpu.js';

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

/** One Switchboard process: composes the parts and owns start, drain and stop. */
export class SwitchboardNode {
  readonly id: string;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly broker: Broker;
  readonly hub: Hub<Session>;
  readonly registry = new SessionRegistry();
  readonly sessions: SessionService;
  readonly clusterActions: ClusterActions;
  readonly rules: ChannelRules;
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
  readonly lifecycle = new Lifecycle();
  /** Set in a worker: every worker of the machine answers /metrics and /readyz together. */
  readonly machine: MachineView | undefined;
  /** Reloads server.tls.* (TLS only). */
  readonly certificates: CertificateReloader | undefined;
  private metricsServer: MetricsServer | undefined;
  private readonly reloaders: Reloaders;

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
    this.log = parts.log;
    this.metrics = createMetrics({
      sessionsByFormat: () => this.registry.countsByFormat(),
      subscriptions: () => this.hub.subscriptions,
      channels: () => this.hub.channelCount,
    });
    this.broker = parts.broker;
    this.machine = options.machine;
    this.hub = new Hub<Session>(this.broker, this.metrics.stats, (channel, sessions) => {
      this.log.warn({ event: 'broker.gap_lost', channel, sessions: sessions.length }, 'history no longer holds what this node missed; its subscribers are asked to reconnect');
      for (const session of sessions) this.sessions.askToReconnect(session, 'insufficient_state');
    });
    this.revocations = new RevocationList(this.broker, (revocation) => this.sessions.closeRevoked(revocation));
    feedFromBroker(this.broker, this.hub, this.revocations, this.metrics.stats, this.log);
    const verifier = new TokenVerifier(config.auth.jwt);
    const disconnectHook = new DisconnectHook(config.auth.disconnectHook, config.limits.maxJsonDepth, this.metrics.stats, this.log);
    const consoleCredentials = config.admin.enabled ? new ConsoleCredentials(config.api.keys, config.admin, verifier.enabled ? (token) => this.authenticator.verify(token) : undefined) : undefined;
    this.authenticator = new Authenticator(config.auth, verifier, this.revocations, this.metrics.stats, this.log, config.limits.maxJsonDepth, consoleCredentials);
    // Which internal addresses push endpoints and registered gateway instances may reach.
    const targets = new TargetPolicy(config.security.allowedPrivateTargets, this.metrics.registry);
    this.gateway = parts.gatewayStores
      ? new Gateway({ config, nodeId: this.id, stats: this.metrics.stats, registry: this.metrics.registry, log: this.log, authenticator: this.authenticator, targets, stores: parts.gatewayStores, graphql: parts.gatewayGraphql })
      : undefined;
    this.permissions = new Permissions(config.auth, (token) => this.authenticator.verify(token), this.metrics.stats, this.log, config.limits.maxJsonDepth);
    this.rules = new ChannelRules(config.channels, config.auth.personalNamespace);
    this.bridges = new Bridges({
      config,
      nodeId: this.id,
      log: this.log,
      registry: this.metrics.registry,
      outlet: {
        publish: async (channel, data) => void (await this.sessions.publish(this.rules.resolve(channel), data, 'bridge')),
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
    this.sessions = new SessionService({
      config,
      nodeId: this.id,
      broker: this.broker,
      hub: this.hub,
      registry: this.registry,
      rules: this.rules,
      authenticator: this.authenticator,
      permissions: this.permissions,
      disconnectHook,
      stats: this.metrics.stats,
      log: this.log,
      watcher: this.console,
      route: (session, message) => this.router.route({ id: session.id, user: session.user, context: session.context, transport: wireFormatNames[session.format]! }, message),
      reserved: this.console?.channels,
      accepting: () => this.lifecycle.running,
    });
    this.clusterActions = new ClusterActions({
      nodeId: this.id,
      config,
      broker: this.broker,
      hub: this.hub,
      sessions: this.sessions,
      lifecycle: this.lifecycle,
      cpu: new CpuMeter(),
      port: () => this.port,
      nodeStats: this.console && ((query) => this.console!.answer(query)),
      query: (query) => this.cluster.query(query),
      log: this.log,
    });
    this.cluster = new Cluster(this.id, this.broker, this.clusterActions, config.cluster, this.log);
    const publishAsServer = (channel: string, data: unknown) => this.sessions.publish(this.rules.resolve(channel), data, 'client');
    const sendToService: ServiceSender | undefined = this.gateway && ((service, request, timeout) => this.gateway!.send(service, request, { timeout }));
    ({ router: this.router, durable: this.durable } = createRouting(config, { node: this.id, publish: publishAsServer, sendToService }, this.topics.store, this.metrics.registry, this.log));
    ({ app: this.app, certificates: this.certificates } = createServer(config, this.metrics.stats, this.log));
    const origins = registerBrowserAccess(this.app, config);
    const routeParts = {
      app: this.app, config, log: this.log, metrics: this.metrics, machine: this.machine, id: this.id, ready: () => this.isReady, draining: () => this.isDraining,
      console: this.console, gateway: this.gateway, topics: this.topics, topicStreams: this.topicStreams, rules: this.rules, broker: this.broker, hub: this.hub,
      registry: this.registry, lifecycle: this.lifecycle, sessions: this.sessions, commands: this.sessions.commands, cluster: this.cluster, clusterActions: this.clusterActions,
      authenticator: this.authenticator, permissions: this.permissions, revocations: this.revocations, router: this.router, durable: this.durable,
    };
    registerOpsRoutes(routeParts);
    registerApiRoutes(routeParts);
    registerClientRoutes(routeParts, origins, parts.graphql?.registerGraphql);
    this.gateway?.mount(this.app);
    if (config.demo.enabled) registerDemoRoutes(this.app);
    if (config.admin.enabled) registerConsolePageRoutes(this.app, loadConsolePage());
    this.reloaders = new Reloaders(this.log);
    this.reloaders.add('log.level', (fresh) => {
      this.log.level = fresh.log.level;
    });
    const certificates = this.certificates;
    if (certificates) this.reloaders.add('server.tls', () => void certificates.reload());
  }

  /** Hands a freshly read configuration to the parts that can take it (see Reloaders). */
  reload(fresh: Config): Promise<string[]> {
    return this.reloaders.reload(fresh);
  }

  /** Running, connected to the broker, and holding every revocation the cluster has. */
  get isReady(): boolean {
    return this.lifecycle.running && this.broker.healthy && this.revocations.inStep;
  }

  get isDraining(): boolean {
    return this.lifecycle.draining;
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
    this.sessions.start();
    this.lifecycle.state = 'running';
    this.cluster.start();
    this.console?.start();
    await this.bridges.start();
    this.log.info(
      { event: 'node.started', host: this.config.server.host, port: this.port, broker: this.broker.name, demo: this.config.demo.enabled, pid: process.pid },
      `listening on ${this.config.server.tls.cert ? 'https' : 'http'}://${this.config.server.host}:${this.port}`,
    );
  }

  /**
   * Graceful shutdown: readiness turns false and new client connections are refused (503) at
   * once, while the API keeps serving so publications still reach the remaining sessions; open
   * sessions are asked to reconnect, spread over the drain window so they do not all come back
   * at the same moment; then the node stops.
   */
  async drain(): Promise<void> {
    if (!this.lifecycle.running) return;
    this.lifecycle.state = 'draining';
    await this.sessions.drain(this.config.shutdown.drainWindow);
    await this.stop();
  }

  async stop(): Promise<void> {
    if (this.lifecycle.state === 'stopped') return;
    const wasRunning = this.lifecycle.state !== 'created';
    this.lifecycle.state = 'stopped';
    this.sessions.stop();
    this.console?.stop();
    this.revocations.stop();
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
