import Fastify, { type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Broker, Publication, StreamPosition } from './brokers/broker.js';
import { MemoryBroker, MemoryBus } from './brokers/memory.js';
import { ChannelRules, type ResolvedChannel } from './channels/channels.js';
import type { Config } from './config/schema.js';
import { CloseCodes, SwitchboardError } from './errors.js';
import { Hub } from './hub/hub.js';
import { registerApiRoutes } from './api/routes.js';
import { registerOpsRoutes } from './observability/ops-routes.js';
import { createLogger } from './observability/log.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import type { Cursor } from './protocol/cursor.js';
import type { FrameId, ServerFrame } from './protocol/frames.js';
import { WireFormat, encodeForSession } from './protocol/wire.js';
import { ClientCommands } from './sessions/client-commands.js';
import { HeartbeatClock } from './sessions/heartbeat.js';
import { SessionRegistry } from './sessions/registry.js';
import { Session } from './sessions/session.js';
import type { Sink } from './sessions/sink.js';
import { registerClientRoutes } from './transports/routes.js';
import { registerDemoRoutes } from './demo/routes.js';

export interface NodeOptions {
  /** Share an in-process bus with other nodes (tests); each node gets its own otherwise. */
  bus?: MemoryBus;
  logger?: Logger;
}

type NodeState = 'created' | 'running' | 'draining' | 'stopped';

export interface OpenSessionInit {
  format: WireFormat;
  sink: Sink;
  remote: string;
  channels: ResolvedChannel[];
  /** Positions to recover from, by channel (SSE Last-Event-ID). */
  cursor?: Cursor;
}

export interface PublishResult {
  subscribers: number;
  offset?: number;
  epoch?: string;
}

/** One Switchboard process: composes the parts and owns start, drain and stop. */
export class SwitchboardNode {
  readonly id: string;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly broker: Broker;
  readonly hub: Hub;
  readonly registry = new SessionRegistry();
  readonly rules: ChannelRules;
  readonly commands: ClientCommands;
  readonly app: FastifyInstance;
  private readonly clock: HeartbeatClock;
  private state: NodeState = 'created';
  private readonly startedAt = Date.now();

  constructor(
    readonly config: Config,
    options: NodeOptions = {},
  ) {
    this.id = config.node.id;
    this.log = options.logger ?? createLogger(config.log.level, this.id);
    this.metrics = createMetrics({
      sessionsByFormat: () => this.registry.countsByFormat(),
      subscriptions: () => this.hub.subscriptions,
      channels: () => this.hub.channelCount,
    });
    this.broker = new MemoryBroker(options.bus);
    this.hub = new Hub(this.broker, this.metrics.stats);
    this.rules = new ChannelRules(config.channels);
    this.commands = new ClientCommands({
      rules: this.rules,
      hub: this.hub,
      stats: this.metrics.stats,
      maxSubscriptions: config.sessions.maxSubscriptions,
      maxBadFrames: config.limits.maxBadFrames,
      publish: (channel, data, source) => this.publish(channel, data, source),
      subscribe: (session, channel, since, id) => this.subscribe(session, channel, since, id),
      onError: (session, err) => this.log.error({ event: 'session.command_failed', session: session.id, err }, 'client command failed'),
    });
    this.clock = new HeartbeatClock(
      this.registry,
      { interval: config.sessions.heartbeatInterval, closeGracePeriod: config.sessions.closeGracePeriod },
      (session) => this.askToReconnect(session, 'lifetime'),
    );
    this.app = Fastify({
      logger: false,
      bodyLimit: config.api.maxBodyBytes,
      forceCloseConnections: true,
    });
    registerOpsRoutes(this);
    registerApiRoutes(this);
    registerClientRoutes(this);
    if (config.demo.enabled) registerDemoRoutes(this.app);
  }

  get isReady(): boolean {
    return this.state === 'running';
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
    await this.app.listen({ host: this.config.server.host, port: this.config.server.port });
    this.clock.start();
    this.state = 'running';
    this.log.info(
      { event: 'node.started', host: this.config.server.host, port: this.port, broker: this.broker.name, demo: this.config.demo.enabled },
      `listening on http://${this.config.server.host}:${this.port}`,
    );
  }

  /**
   * Accepts a publication and fans it out; resolves with the number of local subscribers reached
   * and, on channels with history, the publication's stream position.
   */
  async publish(channel: ResolvedChannel, data: unknown, source: 'api' | 'client'): Promise<PublishResult> {
    if (data === undefined) throw new SwitchboardError('bad_request', 'data is required');
    const pub: Publication = { channel: channel.name, data, time: Date.now() };
    const { historySize, historyTtl } = channel.options;
    const position = await this.broker.publish(pub, historySize > 0 ? { history: { size: historySize, ttl: historyTtl } } : undefined);
    if (source === 'api') this.metrics.stats.publicationsApi += 1;
    else this.metrics.stats.publicationsClient += 1;
    const subscribers = this.hub.subscriberCount(channel.name);
    return position ? { subscribers, offset: position.offset, epoch: position.epoch } : { subscribers };
  }

  /** Validates the channels a connection asks for in its URL; throws before the connection is accepted. */
  admit(channelNames: string[]): ResolvedChannel[] {
    if (this.state !== 'running') throw new SwitchboardError('unavailable', 'this node is shutting down; connect to another node');
    const max = this.config.limits.maxConnections;
    if (max > 0 && this.registry.size >= max) {
      this.metrics.stats.limit('connections');
      throw new SwitchboardError('unavailable', 'this node is at its connection limit; connect to another node');
    }
    if (channelNames.length > this.config.sessions.maxSubscriptions) {
      this.metrics.stats.limit('subscriptions');
      throw new SwitchboardError('limit_exceeded', `a session may subscribe to at most ${this.config.sessions.maxSubscriptions} channels`);
    }
    const channels = channelNames.map((name) => this.rules.resolve(name));
    for (const channel of channels) this.rules.checkClientSubscribe(channel, '');
    return channels;
  }

  /** Registers a new session and subscribes it to the channels it was admitted with. */
  openSession(init: OpenSessionInit): Session {
    const { sessions, limits } = this.config;
    const session = new Session({
      format: init.format,
      sink: init.sink,
      user: '',
      context: {},
      remote: init.remote,
      limits: {
        maxBufferedBytes: sessions.maxBufferedBytes,
        closeGracePeriod: sessions.closeGracePeriod,
        messagesPerSecond: limits.clientMessagesPerSecond,
        messagesBurst: limits.clientMessagesBurst,
      },
      onEnd: (s, reason) => this.endSession(s, reason),
    });
    const now = Date.now();
    session.nextHeartbeatAt = this.clock.firstHeartbeatAt(now);
    const pushFormat = init.format === WireFormat.pushWs || init.format === WireFormat.pushSse;
    if (pushFormat || sessions.lifetime.enabled) {
      session.expiresAt = now + sessions.lifetime.min + Math.random() * (sessions.lifetime.max - sessions.lifetime.min);
    }
    this.registry.add(session);
    this.metrics.stats.connections[init.format]! += 1;
    session.send({
      type: 'welcome',
      session: session.id,
      user: session.user,
      node: this.id,
      heartbeat: sessions.heartbeatInterval,
      channels: init.channels.map((c) => c.name),
    });
    for (const channel of init.channels) {
      this.subscribe(session, channel, init.cursor?.get(channel.name)).catch((err) => {
        this.log.error({ event: 'session.subscribe_failed', session: session.id, channel: channel.name, err }, 'subscribe failed');
        session.send({ type: 'unsubscribed', channel: channel.name, reason: 'unavailable' });
      });
    }
    this.log.debug({ event: 'session.opened', session: session.id, format: init.format, remote: init.remote, channels: session.channels.size });
    return session;
  }

  /**
   * Subscribes a session. The `subscribed` frame, then the replayed publications (recovery from
   * `since`), are queued at the moment the session joins the live stream, so nothing is missed or
   * doubled at the hand-over.
   */
  async subscribe(session: Session, channel: ResolvedChannel, since?: StreamPosition, id?: FrameId): Promise<void> {
    const history = channel.options.historySize > 0;
    await this.hub.subscribe(session, channel.name, { history, since: history ? since : undefined }, (result) => {
      const frame: ServerFrame = { type: 'subscribed', id, channel: channel.name };
      if (since) frame.recovered = result.recovered ?? false;
      if (result.position) {
        frame.offset = result.position.offset;
        frame.epoch = result.position.epoch;
      }
      if (result.publications.length > 0) frame.replayed = result.publications.length;
      session.send(frame);
      for (const pub of result.publications) session.enqueue(encodeForSession(session.format, pub));
      if (result.added && channel.options.presence) {
        this.hub.sendControl(channel.name, { type: 'join', channel: channel.name, user: session.user, session: session.id }, session);
      }
    });
  }

  private endSession(session: Session, reason: string): void {
    this.registry.remove(session);
    for (const channel of this.hub.unsubscribeAll(session)) {
      const resolved = this.tryResolve(channel);
      if (resolved?.options.presence) {
        this.hub.sendControl(channel, { type: 'leave', channel, user: session.user, session: session.id });
      }
    }
    const { stats } = this.metrics;
    stats.disconnect(reason);
    if (reason === 'slow_consumer') {
      stats.error('slow_consumer');
      stats.limit('buffer');
      stats.droppedBytes += session.droppedBytes;
    }
    this.log.debug({ event: 'session.closed', session: session.id, reason, seconds: (Date.now() - session.connectedAt) / 1000 });
  }

  private tryResolve(channel: string): ResolvedChannel | undefined {
    try {
      return this.rules.resolve(channel);
    } catch {
      return undefined;
    }
  }

  /** Closes a session by id; false when no such session lives on this node. */
  disconnect(sessionId: string, reason: string): boolean {
    const session = this.registry.get(sessionId);
    if (!session) return false;
    session.close(CloseCodes.reconnect, reason, { type: 'disconnect', code: CloseCodes.reconnect, reason });
    return true;
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
    this.state = 'stopped';
    this.clock.stop();
    for (const session of [...this.registry.all()]) session.terminate('shutdown');
    await this.app.close();
    await this.broker.close();
    this.log.info({ event: 'node.stopped' }, 'stopped');
  }
}
