import { setTimeout as sleep } from 'node:timers/promises';
import type { Authenticator, ConnectRequest } from '../auth/authenticator.js';
import type { DisconnectHook } from '../auth/disconnect-hook.js';
import type { Identity } from '../auth/identity.js';
import type { Permissions } from '../auth/permissions.js';
import { RevocationList, type Revocation } from '../auth/revocations.js';
import type { Broker, PresenceMember, Publication, StreamPosition } from '../brokers/broker.js';
import type { ChannelRules, ResolvedChannel } from '../channels/channels.js';
import type { Config } from '../config/schema.js';
import { CloseCodes, SwitchboardError } from '../protocol/errors.js';
import type { Hub } from '../hub/hub.js';
import type { Logger } from 'pino';
import type { Stats } from '../observability/metrics.js';
import type { Cursor } from '../protocol/cursor.js';
import type { FrameId, ServerFrame } from '../protocol/frames.js';
import { WireFormat, wireFormatNames } from '../protocol/wire.js';
import { ClientCommands, EndsSession, type CommandDeps } from './client-commands.js';
import { HeartbeatClock } from './heartbeat.js';
import type { SessionRegistry } from './registry.js';
import { SessionSecrets } from './session-secrets.js';
import { Session, type SessionLimits } from './session.js';
import type { Sink } from './sink.js';

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

/** The admin console's view of sessions coming and going (admin.enabled). */
export interface SessionWatcher {
  sessionOpened(session: Session): void;
  sessionClosed(session: Session, reason: string): void;
}

export interface SessionServiceDeps {
  config: Config;
  nodeId: string;
  broker: Broker;
  hub: Hub<Session>;
  registry: SessionRegistry;
  rules: ChannelRules;
  authenticator: Authenticator;
  permissions: Permissions;
  disconnectHook: DisconnectHook;
  stats: Stats;
  log: Logger;
  watcher: SessionWatcher | undefined;
  /** Routes a client's send and rpc frames (src/routing). */
  route: CommandDeps['route'];
  /** The admin console's reserved channels (admin.enabled). */
  reserved: CommandDeps['reserved'];
  /** False while the node is not running (starting, draining, stopped): new connections are refused. */
  accepting: () => boolean;
}

/**
 * The life of this node's sessions: admission, authorization, opening, subscriptions with
 * presence, token refresh, expiry, revocation and the end; and publishing to channels.
 */
export class SessionService {
  readonly registry: SessionRegistry;
  readonly secrets = new SessionSecrets();
  readonly clock: HeartbeatClock;
  /** Carries out the frames clients send. */
  readonly commands: ClientCommands;
  /** Shared by every session (one object, not one per connection). */
  private readonly limits: SessionLimits;
  private presenceTimer: NodeJS.Timeout | undefined;
  private readonly onSessionEnd = (session: Session, reason: string, cause: string) => this.end(session, reason, cause);

  constructor(private readonly deps: SessionServiceDeps) {
    const { config } = deps;
    this.registry = deps.registry;
    this.limits = {
      maxBufferedBytes: config.sessions.maxBufferedBytes,
      closeGracePeriod: config.sessions.closeGracePeriod,
      messagesPerSecond: config.limits.clientMessagesPerSecond,
      messagesBurst: config.limits.clientMessagesBurst,
    };
    this.clock = new HeartbeatClock(
      this.registry,
      { interval: config.sessions.heartbeatInterval, closeGracePeriod: config.sessions.closeGracePeriod },
      (session) => this.askToReconnect(session, 'lifetime'),
      (session, now) => this.credentialsExpired(session, now),
    );
    this.commands = new ClientCommands({
      rules: deps.rules,
      permissions: deps.permissions,
      stats: deps.stats,
      maxSubscriptions: config.sessions.maxSubscriptions,
      maxBadFrames: config.limits.maxBadFrames,
      maxJsonDepth: config.limits.maxJsonDepth,
      publish: (channel, data, source) => this.publish(channel, data, source),
      route: deps.route,
      subscribe: (session, channel, since, id) => this.subscribe(session, channel, since, id),
      refresh: (session, token) => this.refresh(session, token),
      presence: (channel) => deps.broker.presence.list(channel.name),
      unsubscribe: (session, channel, id) => this.unsubscribe(session, channel, id),
      onError: (session, err) => deps.log.error({ event: 'session.command_failed', session: session.id, err }, 'client command failed'),
      reserved: deps.reserved,
    });
  }

  /** Starts heartbeats and the presence refresh. */
  start(): void {
    this.clock.start();
    this.presenceTimer = setInterval(() => this.refreshPresence(), this.deps.config.cluster.presenceTtl / 3);
    this.presenceTimer.unref();
  }

  stop(): void {
    this.clock.stop();
    clearInterval(this.presenceTimer);
  }

  /**
   * Accepts a publication and fans it out; resolves with the number of local subscribers reached
   * and, on channels with history, the publication's stream position.
   */
  async publish(channel: ResolvedChannel, data: unknown, source: 'api' | 'client' | 'bridge'): Promise<PublishResult> {
    if (data === undefined) throw new SwitchboardError('bad_request', 'data is required');
    const { broker, hub, stats } = this.deps;
    const pub: Publication = { channel: channel.name, data, time: Date.now() };
    const { historySize, historyTtl } = channel.options;
    const position = await broker.publish(pub, historySize > 0 ? { history: { size: historySize, ttl: historyTtl } } : undefined);
    if (source === 'api') stats.publicationsApi += 1;
    else if (source === 'bridge') stats.publicationsBridge += 1;
    else stats.publicationsClient += 1;
    const subscribers = hub.subscriberCount(channel.name);
    return position ? { subscribers, offset: position.offset, epoch: position.epoch } : { subscribers };
  }

  /** Checks a connection from `remoteIp` may be accepted at all and validates the channels it names; throws before accepting it. */
  admit(channelNames: string[], remoteIp: string): ResolvedChannel[] {
    const { config, stats } = this.deps;
    if (!this.deps.accepting()) throw new SwitchboardError('unavailable', 'this node is shutting down; connect to another node');
    const max = config.limits.maxConnections;
    if (max > 0 && this.registry.size >= max) {
      stats.limit('connections');
      throw new SwitchboardError('unavailable', 'this node is at its connection limit; connect to another node');
    }
    const perIp = config.limits.maxConnectionsPerIp;
    if (perIp > 0 && this.registry.countOfIp(remoteIp) >= perIp) {
      stats.limit('connections_per_ip');
      throw new SwitchboardError('rate_limited', `this node accepts at most ${perIp} connections from one address; close one first`);
    }
    if (channelNames.length > config.sessions.maxSubscriptions) {
      stats.limit('subscriptions');
      throw new SwitchboardError('limit_exceeded', `a session may subscribe to at most ${config.sessions.maxSubscriptions} channels`);
    }
    return channelNames.map((name) => this.deps.rules.resolve(name));
  }

  /**
   * Authenticates a connection and checks it may subscribe to what it asked for; resolves with
   * its identity and every channel to subscribe (asked for, from the connect hook, personal).
   */
  async authorize(req: ConnectRequest, asked: ResolvedChannel[], firstFrameToken?: string): Promise<{ identity: Identity; channels: ResolvedChannel[] }> {
    const { rules } = this.deps;
    const identity = await this.deps.authenticator.authenticate(req, firstFrameToken);
    const subject = { id: '', ...identity };
    for (const channel of asked) await this.deps.permissions.checkSubscribe(subject, channel);
    const channels = new Map(asked.map((c) => [c.name, c]));
    for (const name of identity.channels) channels.set(name, rules.resolve(name));
    const personal = this.deps.config.auth.personalNamespace;
    if (identity.user !== '' && personal) {
      const name = `${personal}:${identity.user}`;
      try {
        channels.set(name, rules.resolve(name));
      } catch {
        this.deps.log.warn({ event: 'session.no_personal_channel', user: identity.user }, 'user id cannot form a channel name; no personal channel');
      }
    }
    return { identity, channels: [...channels.values()] };
  }

  /** Registers a new session and subscribes it to the channels it was admitted with. */
  open(init: OpenSessionInit): Session {
    const { sessions } = this.deps.config;
    const session = new Session({
      format: init.format,
      sink: init.sink,
      identity: init.identity,
      remote: init.remote,
      limits: this.limits,
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
    this.deps.watcher?.sessionOpened(session);
    this.deps.stats.connections[init.format]! += 1;
    const welcome: ServerFrame = {
      type: 'welcome',
      session: session.id,
      user: session.user,
      node: this.deps.nodeId,
      heartbeat: sessions.heartbeatInterval,
      channels: init.channels.map((c) => c.name),
    };
    // Clients of one-way transports send their frames with POST /frames?session=, which needs it.
    if (init.format === WireFormat.sse || init.format === WireFormat.ndjson) welcome.sessionSecret = this.secrets.of(session.id);
    session.send(welcome);
    for (const channel of init.channels) {
      this.subscribe(session, channel, init.cursor?.get(channel.name)).catch((err) => {
        this.deps.log.error({ event: 'session.subscribe_failed', session: session.id, channel: channel.name, err }, 'subscribe failed');
        session.send({ type: 'unsubscribed', channel: channel.name, reason: 'unavailable' });
      });
    }
    this.deps.log.debug({ event: 'session.opened', session: session.id, transport: wireFormatNames[init.format], remote: init.remote, channels: session.channels.size });
    return session;
  }

  /**
   * Subscribes a session. The `subscribed` frame, then the replayed publications (recovery from
   * `since`), are queued at the moment the session joins the live stream, so nothing is missed or
   * doubled at the hand-over.
   */
  async subscribe(session: Session, channel: ResolvedChannel, since?: StreamPosition, id?: FrameId): Promise<void> {
    const { hub } = this.deps;
    const history = channel.options.historySize > 0;
    let added = false;
    await hub.subscribe(session, channel.name, { history, since: history ? since : undefined }, (result) => {
      added = result.added;
      const frame: ServerFrame = { type: 'subscribed', id, channel: channel.name };
      if (since) frame.recovered = result.recovered ?? false;
      if (result.position) {
        frame.offset = result.position.offset;
        frame.epoch = result.position.epoch;
      }
      if (result.publications.length > 0) frame.replayed = result.publications.length;
      session.send(frame);
      for (const pub of result.publications) hub.deliverTo(session, pub);
    });
    if (added && channel.options.presence) await this.announce(channel.name, session, 'join');
  }

  /** Unsubscribes a session; answers with `unsubscribed` when asked with a frame id or by the server. */
  async unsubscribe(session: Session, channel: ResolvedChannel, id?: FrameId, reason?: string): Promise<void> {
    const removed = this.deps.hub.unsubscribe(session, channel.name);
    session.serverChannels?.delete(channel.name);
    session.send({ type: 'unsubscribed', id, channel: channel.name, reason });
    if (removed && channel.options.presence) await this.announce(channel.name, session, 'leave');
  }

  /** Records presence and tells every subscriber, on every node, that a session joined or left. */
  private async announce(channel: string, session: Session, type: 'join' | 'leave'): Promise<void> {
    const { broker } = this.deps;
    if (type === 'join') await broker.presence.add(channel, [this.memberOf(session)], this.deps.config.cluster.presenceTtl);
    else await broker.presence.remove(channel, [session.id]);
    await broker.publish({ channel, data: null, time: Date.now(), presence: { type, user: session.user, session: session.id } });
  }

  private memberOf(session: Session): PresenceMember {
    return { session: session.id, user: session.user, node: this.deps.nodeId };
  }

  /** Refreshes the presence entries of this node's sessions before they expire: one write per channel with presence. */
  private refreshPresence(): void {
    const { hub, broker } = this.deps;
    for (const { channel } of hub.list()) {
      if (!this.tryResolve(channel)?.options.presence) continue;
      const members = hub.subscribers(channel).map((session) => this.memberOf(session));
      broker.presence.add(channel, members, this.deps.config.cluster.presenceTtl).catch((err) => {
        this.deps.log.warn({ event: 'presence.refresh_failed', channel, err: (err as Error).message }, 'presence not refreshed');
      });
    }
  }

  private end(session: Session, reason: string, cause: string): void {
    this.registry.remove(session);
    this.deps.watcher?.sessionClosed(session, reason);
    for (const channel of this.deps.hub.unsubscribeAll(session)) {
      if (!this.tryResolve(channel)?.options.presence) continue;
      this.announce(channel, session, 'leave').catch((err) => {
        this.deps.log.warn({ event: 'presence.leave_failed', channel, err: (err as Error).message }, 'leave not recorded');
      });
    }
    const { stats } = this.deps;
    stats.disconnect(cause);
    if (cause === 'slow_consumer') {
      stats.error('slow_consumer');
      stats.limit('buffer');
      stats.droppedBytes += session.droppedBytes;
    }
    this.deps.log.debug({ event: 'session.closed', session: session.id, reason, seconds: (Date.now() - session.connectedAt) / 1000 });
    if (this.deps.config.auth.disconnectHook.url && session.format !== WireFormat.longPoll) this.deps.disconnectHook.notify(session, reason, this.deps.nodeId);
  }

  /**
   * The client sent a new token. It must be for the same user: another user's token is refused and
   * ends the session (4502 user_mismatch). Everything the old token gave is replaced by what the new
   * one gives (context, privilege, jti, expiry), and the client's subscriptions it no longer allows
   * are dropped with `unsubscribed {reason: "forbidden"}`.
   */
  async refresh(session: Session, token: string): Promise<void> {
    const { authenticator } = this.deps;
    const identity = authenticator.identityOf(await authenticator.verify(token));
    if (identity.user !== session.user) {
      this.deps.stats.authFailure('user_mismatch');
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
      if (!channel || this.deps.permissions.stillAllows(session, channel)) continue;
      await this.unsubscribe(session, channel, undefined, 'forbidden');
    }
  }

  /**
   * Credentials ran out: a bidirectional session is asked to refresh within the grace time; when
   * that passes (or the transport cannot send a token) the session is closed to reconnect with a new one.
   */
  private credentialsExpired(session: Session, now: number): void {
    if (session.refreshDeadline === 0 && session.format === WireFormat.ws) {
      const grace = this.deps.config.auth.refreshGrace;
      session.refreshDeadline = now + grace;
      session.send({ type: 'refresh', within: grace });
      return;
    }
    this.deps.stats.authFailure('expired');
    session.close(CloseCodes.tokenExpired, 'token_expired', { type: 'disconnect', code: CloseCodes.tokenExpired, reason: 'token_expired' });
  }

  /** A revocation arrived: live sessions it names are closed at once. */
  closeRevoked(revocation: Revocation): void {
    const sessions = revocation.user !== undefined ? this.registry.ofUser(revocation.user) : this.registry.all();
    for (const session of [...sessions]) {
      if (!RevocationList.matches(revocation, { user: session.user, jti: session.jti, issuedAt: session.issuedAt })) continue;
      session.close(CloseCodes.revoked, 'revoked', { type: 'disconnect', code: CloseCodes.revoked, reason: 'revoked' });
    }
  }

  /**
   * Asks every session to reconnect, spread over `window` so they do not all come back at the
   * same moment; resolves when all are gone or the window and the close grace period have passed.
   */
  async drain(window: number): Promise<void> {
    const sessions = [...this.registry.all()];
    this.deps.log.info({ event: 'node.draining', sessions: sessions.length, windowMs: window }, 'draining');
    const spread = sessions.length > 1 ? window * 0.8 : 0;
    const timers = sessions.map((session) => {
      const at = Math.random() * spread;
      return setTimeout(() => this.askToReconnect(session, 'shutdown', Math.random() * 1000), at);
    });
    const deadline = Date.now() + window + this.deps.config.sessions.closeGracePeriod;
    while (this.registry.size > 0 && Date.now() < deadline) await sleep(25);
    for (const timer of timers) clearTimeout(timer);
  }

  /** Tells a session to reconnect (to any node) and closes it. */
  askToReconnect(session: Session, reason: string, after = 0): void {
    const code = session.format === WireFormat.pushWs ? CloseCodes.goingAway : CloseCodes.reconnect;
    session.close(code, reason, { type: 'reconnect', after: Math.round(after), reason });
  }

  /** The channel a name resolves to under the rules; undefined for a name they refuse. */
  tryResolve(channel: string): ResolvedChannel | undefined {
    try {
      return this.deps.rules.resolve(channel);
    } catch {
      return undefined;
    }
  }
}
