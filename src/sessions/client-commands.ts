import type { PresenceMember, StreamPosition } from '../brokers/broker.js';
import type { Permissions } from '../auth/permissions.js';
import type { ChannelRules, ResolvedChannel } from '../channels/channels.js';
import { SwitchboardError, asSwitchboardError } from '../protocol/errors.js';
import type { Stats } from '../observability/metrics.js';
import type { PublishResult } from './service.js';
import { type ClientFrame, type FrameId, FrameError, errorReply, parseClientMessage } from '../protocol/frames.js';
import type { ClientMessage, RouteResult } from '../routing/router.js';
import type { Session } from './session.js';

export interface CommandDeps {
  rules: ChannelRules;
  permissions: Permissions;
  stats: Stats;
  maxSubscriptions: number;
  maxBadFrames: number;
  maxJsonDepth: number;
  publish: (channel: ResolvedChannel, data: unknown, source: 'client') => Promise<PublishResult>;
  subscribe: (session: Session, channel: ResolvedChannel, since: StreamPosition | undefined, id: FrameId | undefined) => Promise<void>;
  unsubscribe: (session: Session, channel: ResolvedChannel, id: FrameId | undefined) => Promise<void>;
  refresh: (session: Session, token: string) => Promise<void>;
  /** Routes a send or rpc frame to its backend or channel (src/routing). */
  route: (session: Session, message: ClientMessage) => Promise<RouteResult>;
  /** Members present on a channel, across the cluster. */
  presence: (channel: ResolvedChannel) => Promise<PresenceMember[]>;
  onError: (session: Session, err: unknown) => void;
  /** The admin console's reserved channels (admin.enabled). */
  reserved?: ReservedChannels;
}

/** Channels no client names in the rules: the admin console's `$admin:` channels. */
export interface ReservedChannels {
  /** The reserved channel `name` names, if the session may subscribe to it (forbidden otherwise); undefined for other names. */
  resolve(session: Session, name: string): ResolvedChannel | undefined;
}

/** A refusal after which the session cannot go on: the client gets the error reply, then `disconnect` and the close. */
export class EndsSession extends SwitchboardError {
  constructor(
    code: SwitchboardError['code'],
    message: string,
    /** The disconnect reason (and metric label). */
    readonly reason: string,
  ) {
    super(code, message);
  }
}

/** Errors that mean the client sends what it should not; enough of them close the session. */
const badInputCodes = new Set(['bad_request', 'too_large', 'rate_limited']);

/** Carries out the frames a client sends over a bidirectional transport. */
export class ClientCommands {
  constructor(private readonly deps: CommandDeps) {}

  /**
   * One text message from the client: a frame or a batch. Never throws. Every frame costs a
   * token of the rate limit; the first is taken before the message is even parsed.
   */
  handleMessage(session: Session, text: string): void {
    session.messagesReceived += 1;
    session.bytesReceived += text.length;
    if (session.takeTokens(Date.now(), 1) === 0) {
      this.deps.stats.limit('rate');
      this.reject(session, new FrameError('rate_limited', 'too many frames; slow down'));
      return;
    }
    const frames = parseClientMessage(text, this.deps.maxJsonDepth);
    const allowed = 1 + session.takeTokens(Date.now(), frames.length - 1);
    for (const frame of frames.slice(0, allowed)) {
      if (frame instanceof FrameError) this.reject(session, frame);
      else this.run(session, frame).catch((err) => this.fail(session, err, frame.id));
    }
    this.refuseOverRate(session, frames.slice(allowed));
  }

  /**
   * Answers each frame of a batch that found no token with rate_limited (and its id); they count
   * as one bad input together, like the single refusal of a message.
   */
  refuseOverRate(session: Session, frames: (ClientFrame | FrameError)[]): void {
    if (frames.length === 0) return;
    for (const frame of frames) {
      this.deps.stats.limit('rate');
      this.deps.stats.error('rate_limited');
      session.send(errorReply(new FrameError('rate_limited', 'too many frames; slow down'), frame instanceof FrameError ? frame.frameId : frame.id));
    }
    this.countBadInput(session, new FrameError('rate_limited', 'too many frames; slow down'));
  }

  /** Carries out one valid frame; resolves once it is answered (or failed). Never rejects. */
  execute(session: Session, frame: ClientFrame): Promise<void> {
    return this.run(session, frame).catch((err) => this.fail(session, err, frame.id));
  }

  /** Answers input that cannot be parsed at all (binary frame, invalid UTF-8). */
  reject(session: Session, err: FrameError): void {
    if (err.limit !== undefined) this.deps.stats.limit(err.limit);
    this.deps.stats.error(err.code);
    session.send(errorReply(err, err.frameId));
    this.countBadInput(session, err);
  }

  private countBadInput(session: Session, err: FrameError): void {
    if (badInputCodes.has(err.code) && ++session.badFrames >= this.deps.maxBadFrames) {
      session.close(err.closeCode, err.code, { type: 'disconnect', code: err.closeCode, reason: err.code });
    }
  }

  private fail(session: Session, err: unknown, id: ClientFrame['id']): void {
    if (!(err instanceof SwitchboardError)) this.deps.onError(session, err);
    const error = asSwitchboardError(err);
    this.reject(session, new FrameError(error.code, error.message, id));
    if (err instanceof EndsSession) session.close(err.closeCode, err.reason, { type: 'disconnect', code: err.closeCode, reason: err.reason });
  }

  private channelOf(session: Session, name: string): ResolvedChannel {
    return this.deps.reserved?.resolve(session, name) ?? this.deps.rules.resolve(name);
  }

  private checkMayChange(session: Session): void {
    if (session.consoleRole === 'read-only')
      throw new SwitchboardError('forbidden', 'this session signed in with the read-only console role: it may follow channels, not publish or send');
  }

  private async run(session: Session, frame: ClientFrame): Promise<void> {
    const { rules, permissions } = this.deps;
    switch (frame.type) {
      case 'subscribe': {
        const channel = this.channelOf(session, frame.channel);
        // Console sessions follow any channel (read only); the reserved ones checked their role.
        if (session.consoleRole === undefined) await permissions.checkSubscribe(session, channel, frame.token);
        if (!session.channels.has(channel.name) && session.channels.size >= this.deps.maxSubscriptions) {
          this.deps.stats.limit('subscriptions');
          throw new SwitchboardError('limit_exceeded', `a session may subscribe to at most ${this.deps.maxSubscriptions} channels`);
        }
        await this.deps.subscribe(session, channel, frame.since, frame.id);
        return;
      }
      case 'unsubscribe':
        await this.deps.unsubscribe(session, this.channelOf(session, frame.channel), frame.id);
        return;
      case 'publish': {
        this.checkMayChange(session);
        if (this.deps.reserved?.resolve(session, frame.channel)) throw new SwitchboardError('forbidden', `no one publishes to ${frame.channel}: the nodes do`);
        const channel = rules.resolve(frame.channel);
        const data = await permissions.checkPublish(session, channel, frame.data);
        const result = await this.deps.publish(channel, data, 'client');
        if (frame.id !== undefined) session.send({ type: 'reply', id: frame.id, data: result });
        return;
      }
      case 'send':
      case 'rpc': {
        this.checkMayChange(session);
        const result = await this.deps.route(session, { kind: frame.type, method: frame.type === 'rpc' ? frame.method : undefined, data: frame.data, replyTo: frame.id });
        if (!result.later) {
          if (frame.id !== undefined) session.send({ type: 'reply', id: frame.id, data: result.data });
        } else if (session.detached) {
          throw new SwitchboardError(
            'bad_request',
            'the backend answers later, and this request has no stream to carry the answer: send it with ?session= naming your SSE or streaming session',
          );
        }
        return;
      }
      case 'refresh':
        await this.deps.refresh(session, frame.token);
        if (frame.id !== undefined) session.send({ type: 'reply', id: frame.id, data: { expiresAt: session.credentialsExpireAt || null } });
        return;
      case 'presence': {
        const channel = rules.resolve(frame.channel);
        if (!channel.options.presence) throw new SwitchboardError('not_found', `presence is not enabled for ${frame.channel}`);
        // Who may subscribe may see who is there; a subscribed session already passed that check.
        if (!session.channels.has(channel.name)) await permissions.checkSubscribe(session, channel);
        const members = await this.deps.presence(channel);
        if (frame.id !== undefined) session.send({ type: 'reply', id: frame.id, data: { channel: channel.name, members } });
        return;
      }
      case 'connect':
        throw new SwitchboardError('bad_request', 'connect is only accepted as the first frame of a connection without a token');
      case 'ping':
        session.send({ type: 'pong', id: frame.id });
        return;
    }
  }
}
