import type { Logger } from 'pino';
import type { ResolvedChannel } from '../channels/channels.js';
import type { AccessLevel, Config } from '../config/schema.js';
import { SwitchboardError } from '../protocol/errors.js';
import type { Stats } from '../observability/metrics.js';
import { askHook, denied, HookFailure } from './hooks.js';
import { claimHolds } from './identity.js';
import { TokenError, type VerifiedToken } from './tokens.js';

/** The parts of a session that permissions look at. */
export interface Subject {
  id: string;
  user: string;
  context: Record<string, unknown>;
  privileged: boolean;
}

/** `NAMESPACE:U` belongs to user U, and privileged users may read it. */
function personalAllows(subject: Subject, channel: ResolvedChannel): boolean {
  const owner = channel.name.slice(channel.namespace.length + 1);
  return subject.user !== '' && (owner === subject.user || subject.privileged);
}

/** The namespace's claim lists the channel, or `NAMESPACE:*`. */
function claimAllows(subject: Subject, channel: ResolvedChannel): boolean {
  const granted = subject.context[channel.options.claim];
  return claimHolds(granted, channel.name) || (channel.namespace !== '' && claimHolds(granted, `${channel.namespace}:*`));
}

/**
 * Who may subscribe and publish from a client connection, by the namespace's access level, and
 * the personal channel rule: `NAMESPACE:U` belongs to user U (and privileged users).
 */
export class Permissions {
  constructor(
    private readonly config: Config['auth'],
    /** Verifies a token and checks it is not revoked (counting refusals): Authenticator.verify. */
    private readonly verify: (token: string) => Promise<VerifiedToken>,
    private readonly stats: Stats,
    private readonly log: Logger,
    /** Deepest JSON nesting accepted in a hook's answer (limits.maxJsonDepth). */
    private readonly maxJsonDepth: number,
  ) {}

  isPersonal(channel: ResolvedChannel): boolean {
    return this.config.personalNamespace !== '' && channel.namespace === this.config.personalNamespace;
  }

  /** Throws forbidden unless the subject may subscribe; `token` is a subscription token for the `token` level. */
  async checkSubscribe(subject: Subject, channel: ResolvedChannel, token?: string): Promise<void> {
    if (this.isPersonal(channel)) {
      if (personalAllows(subject, channel)) return;
      throw new SwitchboardError('forbidden', `${channel.name} is the personal channel of another user`);
    }
    await this.check(channel.options.subscribe, 'subscribe to', subject, channel, channel.options.subscribeHook, token);
  }

  /**
   * Whether a subscription the client made may be kept after the subject's credentials changed
   * (refresh): the personal channel rule and the `claim` level are decided again from the new
   * identity. `token` and `hook` subscriptions were decided for this user and are kept; a `server`
   * channel is never the client's own doing.
   */
  stillAllows(subject: Subject, channel: ResolvedChannel): boolean {
    if (this.isPersonal(channel)) return personalAllows(subject, channel);
    switch (channel.options.subscribe) {
      case 'authenticated':
        return subject.user !== '';
      case 'claim':
        return claimAllows(subject, channel);
      case 'server':
        return false;
      default:
        return true;
    }
  }

  /** Throws forbidden unless the subject may publish; resolves with the data to publish (a publish hook may rewrite it). */
  async checkPublish(subject: Subject, channel: ResolvedChannel, data: unknown): Promise<unknown> {
    if (this.isPersonal(channel)) {
      // Like subscribing, the personal channel rule replaces the namespace's level.
      if (subject.privileged) return data;
      throw new SwitchboardError('forbidden', 'only the server API and privileged users publish to personal channels');
    }
    const answer = await this.check(channel.options.publish, 'publish to', subject, channel, channel.options.publishHook, undefined, data);
    return answer && 'data' in answer ? answer.data : data;
  }

  private async check(
    level: AccessLevel,
    action: string,
    subject: Subject,
    channel: ResolvedChannel,
    hook: string,
    token?: string,
    data?: unknown,
  ): Promise<Record<string, unknown> | undefined> {
    switch (level) {
      case 'public':
        return undefined;
      case 'authenticated':
        if (subject.user !== '') return undefined;
        throw new SwitchboardError('forbidden', `only authenticated clients may ${action} ${channel.name}`);
      case 'claim':
        if (claimAllows(subject, channel)) return undefined;
        throw new SwitchboardError('forbidden', `the ${channel.options.claim} claim does not allow to ${action} ${channel.name}`);
      case 'token':
        if (action === 'subscribe to' && token !== undefined) {
          await this.checkSubscriptionToken(subject, channel, token);
          return undefined;
        }
        throw new SwitchboardError('forbidden', `${action} ${channel.name} needs a subscription token`);
      case 'hook':
        return this.ask(hook, action === 'subscribe to' ? 'subscribe' : 'publish', subject, channel, data);
      case 'server':
        throw new SwitchboardError('forbidden', `only the server API may ${action} ${channel.name}`);
    }
  }

  /**
   * A subscription token is a JWT signed with the client token keys whose `channel` claim names
   * the channel, for the session's user; revocations apply to it as to any token.
   */
  private async checkSubscriptionToken(subject: Subject, channel: ResolvedChannel, token: string): Promise<void> {
    let verified: VerifiedToken;
    try {
      verified = await this.verify(token);
    } catch (err) {
      if (err instanceof TokenError && err.code === 'unauthorized') throw new SwitchboardError('forbidden', `subscription token refused: ${err.message}`);
      throw err;
    }
    if (verified.claims.channel !== channel.name) throw new SwitchboardError('forbidden', `the subscription token is for another channel than ${channel.name}`);
    if (verified.user !== subject.user) throw new SwitchboardError('forbidden', 'the subscription token is for another user');
  }

  private async ask(url: string, kind: 'subscribe' | 'publish', subject: Subject, channel: ResolvedChannel, data: unknown): Promise<Record<string, unknown>> {
    if (!url) throw new SwitchboardError('forbidden', `no ${kind} hook is configured for ${channel.name}`);
    let answer: Record<string, unknown>;
    try {
      answer = await askHook(url, { session: subject.id, user: subject.user, context: subject.context, channel: channel.name, data }, this.config.hookTimeout, this.maxJsonDepth);
    } catch (err) {
      const failure = err as HookFailure;
      this.stats.hookCall(kind, failure.outcome);
      this.log.warn({ event: `hook.${kind}_failed`, channel: channel.name, outcome: failure.outcome, err: failure.message }, `${kind} hook failed`);
      throw new SwitchboardError('unavailable', `the ${kind} hook did not answer; try again`);
    }
    if (answer.allow !== true) {
      this.stats.hookCall(kind, 'deny');
      throw denied(answer, kind);
    }
    this.stats.hookCall(kind, 'allow');
    return answer;
  }
}
