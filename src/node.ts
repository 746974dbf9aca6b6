import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Broker } from './brokers/broker.js';
import { RevocationList } from './auth/revocations.js';
import { askToReconnectOnLostGap, feedFromBroker } from './broker-feed.js';
import { Cluster } from './cluster/cluster.js';
import { Bridges } from './bridges/bridges.js';
import { ChannelRules } from './channels/channels.js';
import type { Config } from './config/schema.js';
import { Hub } from './hub/hub.js';
import type { MachineView } from './workers/ops-channel.js';
import type { MetricsServer } from './observability/metrics-server.js';
import type { Authenticator } from './auth/authenticator.js';
import type { Permissions } from './auth/permissions.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { wireFormatNames } from './protocol/wire.js';
import { SessionRegistry } from './sessions/registry.js';
import { SessionService } from './sessions/service.js';
import type { Session } from './sessions/session.js';
import type { ClientCommands } from './sessions/client-commands.js';
import { ClusterActions } from './cluster/actions.js';
import { Lifecycle } from './cluster/lifecycle.js';
import { mountRoutes } from './node-http.js';
import type { NodeOptions } from './node-options.js';
import { loadNodeParts, type NodeParts } from './node-parts.js';
import { createAuth } from './node-auth.js';
import { startParts, stopParts } from './node-run.js';
import type { CertificateReloader } from './transports/tls.js';
import { createServer } from './transports/server.js';
import { nodeReloaders, type Reloaders } from './reloaders.js';
import { Gateway } from './gateway/gateway.js';
import type { DurableDelivery } from './routing/durable.js';
import type { Router } from './routing/router.js';
import { createRouting } from './routing/create.js';
import type { ServiceSender } from './routing/backend.js';
import { principalResolver } from './topics/access.js';
import { TopicService } from './topics/service.js';
import { TopicStreams } from './topics/stream.js';
import { TargetPolicy } from './outbound/targets.js';
import type { AdminConsole } from './admin/console.js';
import { createAdminConsole } from './admin/create.js';
import { CpuMeter } from './observability/cpu.js';

/** One Switchboard process: composes the parts and owns start, drain and stop. */
export class SwitchboardNode {
  readonly id: string;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly broker: Broker;
  readonly hub: Hub<Session>;
  readonly registry = new SessionRegistry();
  readonly sessions: SessionService;
  readonly commands: ClientCommands;
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
    return new SwitchboardNode(config, options, await loadNodeParts(config, options));
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
    const onLostGap = askToReconnectOnLostGap(this.log, (session) => this.sessions.askToReconnect(session, 'insufficient_state'));
    this.hub = new Hub<Session>(this.broker, this.metrics.stats, onLostGap);
    this.revocations = new RevocationList(this.broker, (revocation) => this.sessions.closeRevoked(revocation));
    feedFromBroker(this.broker, this.hub, this.revocations, this.metrics.stats, this.log);
    const { authenticator, permissions, disconnectHook, consoleCredentials } = createAuth(config, this.revocations, this.metrics.stats, this.log);
    this.authenticator = authenticator;
    this.permissions = permissions;
    // What most parts are built with.
    const context = { config, nodeId: this.id, log: this.log, stats: this.metrics.stats, registry: this.metrics.registry };
    // Which internal addresses push endpoints and registered gateway instances may reach.
    const targets = new TargetPolicy(config.security.allowedPrivateTargets, this.metrics.registry);
    const { gatewayStores: stores, gatewayGraphql: graphql } = parts;
    this.gateway = stores && new Gateway({ ...context, authenticator, targets, stores, graphql });
    this.rules = new ChannelRules(config.channels, config.auth.personalNamespace);
    const publishAs = (source: 'client' | 'bridge') => (channel: string, data: unknown) => this.sessions.publish(this.rules.resolve(channel), data, source);
    const sendToUser = (user: string, data: unknown) => this.cluster.command({ kind: 'send', target: { user }, data });
    this.bridges = new Bridges({ ...context, outlet: { publish: async (channel, data) => void (await publishAs('bridge')(channel, data)), sendToUser } });
    this.topics = new TopicService(parts.topicStore, config.topics, this.metrics.registry, this.log, targets);
    this.topicStreams = new TopicStreams(this.topics, principalResolver(config.api, this.topics.applications), (code) => this.metrics.stats.error(code));
    const gauges = { connections: () => this.registry.size, subscriptions: () => this.hub.subscriptions };
    this.console =
      consoleCredentials && createAdminConsole({ ...context, credentials: consoleCredentials, gauges, broker: this.broker, topics: this.topics, gateway: this.gateway });
    this.sessions = new SessionService({
      ...context,
      broker: this.broker,
      hub: this.hub,
      registry: this.registry,
      rules: this.rules,
      authenticator: this.authenticator,
      permissions: this.permissions,
      disconnectHook,
      watcher: this.console,
      route: (session, message) => this.router.route({ id: session.id, user: session.user, context: session.context, transport: wireFormatNames[session.format]! }, message),
      reserved: this.console?.channels,
      accepting: () => this.lifecycle.running,
    });
    this.commands = this.sessions.commands;
    this.clusterActions = new ClusterActions({
      ...context,
      broker: this.broker,
      hub: this.hub,
      sessions: this.sessions,
      lifecycle: this.lifecycle,
      cpu: new CpuMeter(),
      port: () => this.port,
      nodeStats: this.console && ((query) => this.console!.answer(query)),
      query: (query) => this.cluster.query(query),
    });
    this.cluster = new Cluster(this.id, this.broker, this.clusterActions, config.cluster, this.log);
    const sendToService: ServiceSender | undefined = this.gateway && ((service, request, timeout) => this.gateway!.send(service, request, { timeout }));
    const routingOutlet = { node: this.id, publish: publishAs('client'), sendToService };
    ({ router: this.router, durable: this.durable } = createRouting(config, routingOutlet, this.topics.store, this.metrics.registry, this.log));
    ({ app: this.app, certificates: this.certificates } = createServer(config, this.metrics.stats, this.log));
    mountRoutes(this, parts.graphql?.registerGraphql);
    this.reloaders = nodeReloaders(this.log, this.certificates);
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
    this.metricsServer = await startParts(this);
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

  stop(): Promise<void> {
    return stopParts(this, this.metricsServer);
  }
}
