import { GraphQLError, type GraphQLResolveInfo } from 'graphql';
import { continuesFrom, type Publication, type StreamPosition } from '../brokers/broker.js';
import type { Subject } from '../auth/permissions.js';
import type { ResolvedChannel } from '../channels/channels.js';
import { SwitchboardError, asSwitchboardError } from '../protocol/errors.js';
import type { Session } from '../sessions/session.js';
import type { GraphqlChannels } from './channels.js';
import { Operation } from './operation.js';
import type { EncodedResult } from './selection.js';
import type { ChannelOperations } from './schema.js';

/**
 * How a transport queues an operation's result on its session (a graphql-ws `next` message, a
 * graphql-sse `next` event), from bytes shared by every subscriber of the result where it can;
 * answers the bytes queued.
 */
export type ResultFraming = (session: Session, op: Operation, result: EncodedResult) => number;

/**
 * The GraphQL side of one client connection: its running operations by id and by channel, and
 * what the schema's resolvers do for it. Subscriptions are channel subscriptions of its session
 * (one per channel, however many operations share it), so permissions, limits, history and
 * slow-consumer handling are the native protocol's.
 */
export class GraphqlConnection {
  private readonly operations = new Map<string, Operation>();
  private readonly byChannel = new Map<string, Operation[]>();
  /** Channels the session had from the start (personal, connect hook): kept when their last operation ends. */
  private ownChannels: ReadonlySet<string> = new Set();
  private current: Session | undefined;

  constructor(
    private readonly channels: GraphqlChannels,
    /** Who the client is, for queries and mutations that need no session (graphql-sse). */
    private readonly subject: Subject,
    readonly frame: ResultFraming,
    /** Opens the session on first need (graphql-sse opens one for a subscription only). */
    private readonly openSession: () => Session,
  ) {}

  get session(): Session | undefined {
    return this.current;
  }

  /** The session, opened now if it is not yet. */
  open(): Session {
    if (!this.current) {
      this.current = this.openSession();
      this.ownChannels = new Set(this.current.channels);
      this.current.directMessages = (data) => this.directMessage(data);
      this.channels.attach(this.current, this);
    }
    return this.current;
  }

  /** Running operations on a channel. */
  operationsOn(channel: string): readonly Operation[] | undefined {
    return this.byChannel.get(channel);
  }

  /** The connection is gone: every operation ends. */
  close(): void {
    for (const op of [...this.operations.values()]) op.end();
    if (this.current) this.channels.detach(this.current);
  }

  /** The resolvers' view of this connection for one operation (the GraphQL context value). */
  forOperation(id: string, query: string): ChannelOperations {
    return {
      subscribeChannel: (name, since, info, namespace) => this.guard(() => this.subscribeChannel(id, query, name, since, info, namespace)),
      subscribeUser: (info) => this.guard(() => this.subscribeUser(id, query, info)),
      publish: (channel, data) => this.guard(() => this.publish(channel, data)),
      presence: (channel) => this.guard(() => this.presence(channel)),
      history: (channel, limit) => this.guard(() => this.history(channel, limit)),
    };
  }

  /** Errors as GraphQL errors whose extensions.code is the protocol's error code; unknown ones are logged and become internal. */
  private async guard<T>(action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (err) {
      if (!(err instanceof SwitchboardError)) this.channels.deps.log.error({ event: 'graphql.operation_failed', session: this.current?.id, err }, 'GraphQL operation failed');
      const error = asSwitchboardError(err);
      this.channels.deps.stats.error(error.code);
      throw new GraphQLError(error.message, { extensions: { code: error.code } });
    }
  }

  private who(): Subject {
    return this.current ?? this.subject;
  }

  private async subscribeUser(id: string, query: string, info: GraphQLResolveInfo): Promise<AsyncIterable<never>> {
    const { personalNamespace } = this.channels.deps;
    const { user } = this.subject;
    if (user === '' || !personalNamespace) throw new SwitchboardError('forbidden', 'only authenticated users have a personal channel');
    return this.subscribeChannel(id, query, `${personalNamespace}:${user}`, undefined, info);
  }

  private async subscribeChannel(
    id: string,
    query: string,
    name: string,
    since: StreamPosition | undefined,
    info: GraphQLResolveInfo,
    namespace?: string,
  ): Promise<AsyncIterable<never>> {
    const { deps } = this.channels;
    if (this.operations.size >= deps.maxOperations) {
      deps.stats.limit('graphql_operations');
      throw new SwitchboardError('limit_exceeded', `a connection may run at most ${deps.maxOperations} operations at once`);
    }
    const channel = deps.rules.resolve(name);
    if (namespace !== undefined && channel.namespace !== namespace) throw new SwitchboardError('bad_request', `${channel.name} is not a channel of namespace ${namespace}`);
    if (since && channel.options.historySize === 0) throw new SwitchboardError('bad_request', `${channel.name} keeps no history to recover from`);
    const session = this.open();
    const joined = session.channels.has(channel.name);
    if (!joined) {
      await deps.permissions.checkSubscribe(session, channel);
      if (session.channels.size >= deps.maxSubscriptions) {
        deps.stats.limit('subscriptions');
        throw new SwitchboardError('limit_exceeded', `a session may subscribe to at most ${deps.maxSubscriptions} channels`);
      }
    }
    const selection = this.channels.selections.acquire(info, query);
    const op = new Operation(id, session, channel.name, selection, namespace === undefined ? undefined : this.channels.dataTypeOf(namespace), (ended) =>
      this.ended(ended, channel),
    );
    if (since) op.buffer = [];
    this.operations.set(id, op);
    let ops = this.byChannel.get(channel.name);
    if (!ops) this.byChannel.set(channel.name, (ops = []));
    ops.push(op);
    this.channels.operationStarted(op);
    try {
      if (!session.channels.has(channel.name)) await deps.subscribe(session, channel);
      if (since) await this.recover(op, channel, since);
    } catch (err) {
      op.end();
      throw err;
    }
    return op;
  }

  /**
   * Queues what the operation missed after `since`, then what arrived meanwhile, without duplicates.
   * When history no longer holds it all, the client is told with a `not_recovered` error in a next
   * result, and the operation goes on live.
   */
  private async recover(op: Operation, channel: ResolvedChannel, since: StreamPosition): Promise<void> {
    const history = await this.channels.deps.history(channel.name, { since });
    const held = op.buffer ?? [];
    op.buffer = undefined;
    if (continuesFrom(since, history)) {
      op.sent(since.offset, since.epoch);
      for (const pub of history.publications) this.deliver(op, pub);
    } else {
      op.sent(history.position.offset, history.position.epoch);
      const error = new GraphQLError(`publications after offset ${since.offset} of ${channel.name} are no longer in its history; reload its state`, {
        extensions: { code: 'not_recovered', offset: history.position.offset, epoch: history.position.epoch },
      });
      this.frame(this.current!, op, { json: JSON.stringify({ data: null, errors: [error] }) });
    }
    for (const pub of held) this.deliver(op, pub);
  }

  /**
   * Data sent to the session directly goes to the `user` operations, as if published on the
   * personal channel without an offset (it is not kept in history).
   */
  private directMessage(data: unknown): void {
    const { personalNamespace } = this.channels.deps;
    const { user } = this.subject;
    if (user === '' || !personalNamespace) return;
    const pub: Publication = { channel: `${personalNamespace}:${user}`, data, time: Date.now() };
    const ops = this.byChannel.get(pub.channel);
    if (ops) for (const op of ops) this.deliver(op, pub);
  }

  /** Queues one publication for one operation, when it admits it; answers the bytes queued. */
  deliver(op: Operation, pub: Publication): number {
    return this.channels.admits(op, pub) ? this.frame(this.current!, op, this.channels.results.of(pub, op.selection)) : 0;
  }

  private ended(op: Operation, channel: ResolvedChannel): void {
    this.operations.delete(op.id);
    this.channels.operationEnded(op);
    const ops = this.byChannel.get(channel.name);
    if (!ops) return;
    ops.splice(ops.indexOf(op), 1);
    if (ops.length !== 0) return;
    this.byChannel.delete(channel.name);
    const session = this.current;
    if (!session?.isOpen || this.ownChannels.has(channel.name) || session.serverChannels?.has(channel.name)) return;
    this.channels.deps.unsubscribe(session, channel).catch((err) => {
      this.channels.deps.log.warn({ event: 'graphql.unsubscribe_failed', session: session.id, channel: channel.name, err: (err as Error).message }, 'unsubscribe failed');
    });
  }

  private async publish(name: string, data: unknown) {
    const { deps } = this.channels;
    const channel = deps.rules.resolve(name);
    const accepted = await deps.permissions.checkPublish(this.who(), channel, data);
    return deps.publish(channel, accepted);
  }

  /** Who may subscribe may see who is there and what was published; a subscribed session already passed that check. */
  private async mayRead(channel: ResolvedChannel): Promise<void> {
    if (!this.current?.channels.has(channel.name)) await this.channels.deps.permissions.checkSubscribe(this.who(), channel);
  }

  private async presence(name: string) {
    const { deps } = this.channels;
    const channel = deps.rules.resolve(name);
    if (!channel.options.presence) throw new SwitchboardError('not_found', `presence is not enabled for ${channel.name}`);
    await this.mayRead(channel);
    return deps.presence(channel.name);
  }

  private async history(name: string, limit: number | undefined) {
    const { deps } = this.channels;
    const channel = deps.rules.resolve(name);
    const { historySize } = channel.options;
    if (historySize === 0) throw new SwitchboardError('not_found', `history is not enabled for ${channel.name}`);
    if (limit !== undefined && limit < 0) throw new SwitchboardError('bad_request', 'limit must be 0 or more');
    await this.mayRead(channel);
    const result = await deps.history(channel.name, { limit: Math.min(limit ?? historySize, historySize), reverse: true });
    return { publications: result.publications.reverse(), position: result.position };
  }
}
