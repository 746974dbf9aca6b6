import type { GraphQLObjectType } from 'graphql';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { HistoryQuery, HistoryResult, PresenceMember, Publication } from '../brokers/broker.js';
import type { Permissions } from '../auth/permissions.js';
import type { ChannelRules, ResolvedChannel } from '../channels/channels.js';
import type { PublishResult } from '../sessions/service.js';
import type { Stats } from '../observability/metrics.js';
import type { WireFormat } from '../protocol/wire.js';
import type { Session } from '../sessions/session.js';
import type { GraphqlConnection, ResultFraming } from './connection.js';
import type { Operation } from './operation.js';
import type { Deliverer } from '../hub/hub.js';
import type { ChannelSchema } from './schema.js';
import { SelectionResults, Selections, type EncodedResult, type Selection } from './selection.js';
import { matchesType } from './sdl/typed-channels.js';
import { ValidatedDocuments } from './validated-documents.js';

/** What GraphQL operations need of the node. */
export interface GraphqlDeps {
  rules: ChannelRules;
  permissions: Permissions;
  stats: Stats;
  log: Logger;
  maxSubscriptions: number;
  maxOperations: number;
  personalNamespace: string;
  subscribe(session: Session, channel: ResolvedChannel): Promise<void>;
  unsubscribe(session: Session, channel: ResolvedChannel): Promise<void>;
  publish(channel: ResolvedChannel, data: unknown): Promise<PublishResult>;
  history(channel: string, query: HistoryQuery): Promise<HistoryResult>;
  presence(channel: string): Promise<PresenceMember[]>;
}

/**
 * The GraphQL fan-out shared by every GraphQL connection of the node: which connection a session
 * is, the results of each publication per selection (executed and serialised once, whatever the
 * number of subscribers), type checks of typed namespaces and the GraphQL metrics.
 */
export class GraphqlChannels {
  readonly results = new SelectionResults();
  /** The selections of the running operations, shared by the operations of one key. */
  readonly selections: Selections;
  /** Documents the transports already parsed and validated, by query text. */
  readonly documents = new ValidatedDocuments(1000);
  private readonly connections = new Map<Session, GraphqlConnection>();
  /** Whether a publication's data matches its namespace's type, decided once per publication. */
  private readonly conformance = new WeakMap<Publication, boolean>();
  private readonly mismatches: Counter<'namespace'>;
  /**
   * The running subscription operations by format and channel, in no order (an ended one's slot
   * takes the last one): the fan-out walks this list instead of looking up each session's connection.
   */
  private readonly byFormat = new Map<WireFormat, Map<string, Operation[]>>();

  constructor(
    readonly deps: GraphqlDeps,
    private readonly channelSchema: ChannelSchema,
    registry: Registry,
  ) {
    this.selections = new Selections(channelSchema.schema);
    this.mismatches = new Counter({
      name: 'switchboard_graphql_type_mismatches_total',
      help: 'Publications on a typed namespace whose data does not match its GraphQL type (not delivered to GraphQL subscribers of its typed field), by namespace',
      labelNames: ['namespace'],
      registers: [registry],
    });
    const results = this.results;
    new Counter({
      name: 'switchboard_graphql_executions_total',
      help: 'Subscription results executed: one per publication and distinct selection, however many operations share it',
      registers: [registry],
      collect(this: Counter) {
        this.reset();
        this.inc(results.executions);
      },
    });
    const running = () => {
      let count = 0;
      for (const byChannel of this.byFormat.values()) for (const ops of byChannel.values()) count += ops.length;
      return count;
    };
    new Gauge({
      name: 'switchboard_graphql_operations',
      help: 'GraphQL subscription operations running on this node',
      registers: [registry],
      collect(this: Gauge) {
        this.set(running());
      },
    });
  }

  get schema() {
    return this.channelSchema.schema;
  }

  attach(session: Session, connection: GraphqlConnection): void {
    this.connections.set(session, connection);
  }

  detach(session: Session): void {
    this.connections.delete(session);
  }

  dataTypeOf(namespace: string): GraphQLObjectType | undefined {
    return this.channelSchema.dataTypes.get(namespace);
  }

  operationStarted(op: Operation): void {
    const byChannel = this.operationsOf(op.session.format);
    let ops = byChannel.get(op.channel);
    if (!ops) byChannel.set(op.channel, (ops = []));
    op.slot = ops.length;
    ops.push(op);
  }

  operationEnded(op: Operation): void {
    this.selections.release(op.selection);
    const byChannel = this.operationsOf(op.session.format);
    const ops = byChannel.get(op.channel)!;
    const last = ops.pop()!;
    if (last !== op) {
      ops[op.slot] = last;
      last.slot = op.slot;
    }
    if (ops.length === 0) byChannel.delete(op.channel);
  }

  private operationsOf(format: WireFormat): Map<string, Operation[]> {
    let byChannel = this.byFormat.get(format);
    if (!byChannel) this.byFormat.set(format, (byChannel = new Map()));
    return byChannel;
  }

  /**
   * Whether the publication is to be queued for the operation now: not while it recovers (it is
   * held until the replay is queued), nor when already sent, nor (typed namespaces) when the data
   * does not match the type.
   */
  admits(op: Operation, pub: Publication): boolean {
    if (op.buffer) {
      op.buffer.push(pub);
      return false;
    }
    if (pub.offset !== undefined) {
      if (op.lastEpoch === pub.epoch && pub.offset <= op.lastOffset) return false;
      op.sent(pub.offset, pub.epoch!);
    }
    return !op.dataType || this.conforms(pub, op.dataType);
  }

  /** Whether the publication's data matches the type (counted once per mismatching publication). */
  conforms(pub: Publication, dataType: GraphQLObjectType): boolean {
    let ok = this.conformance.get(pub);
    if (ok === undefined) {
      ok = matchesType(pub.data, dataType);
      this.conformance.set(pub, ok);
      if (!ok) this.mismatches.inc({ namespace: pub.channel.slice(0, pub.channel.indexOf(':')) });
    }
    return ok;
  }

  /**
   * The Hub deliverer of a GraphQL format. A live publication goes to the channel's operations
   * whose session has joined it, each with the shared result of its selection; subscribers of one
   * selection usually follow each other, so the previous operation's result is reused without
   * looking it up.
   */
  deliverer(format: WireFormat, frame: ResultFraming): Deliverer<Session> {
    const { stats } = this.deps;
    const byChannel = this.operationsOf(format);
    const counted = (messages: number, bytes: number) => {
      stats.messagesOut[format]! += messages;
      stats.bytesOut[format]! += bytes;
    };
    return {
      toChannel: (pub, sessions, skip) => {
        const ops = byChannel.get(pub.channel);
        if (!ops) return;
        let messages = 0;
        let bytes = 0;
        let selection: Selection | undefined;
        let result: EncodedResult | undefined;
        for (let i = 0; i < ops.length; i++) {
          const op = ops[i]!;
          const { session } = op;
          if (!sessions.has(session) || skip?.has(session) || !this.admits(op, pub)) continue;
          if (op.selection !== selection) {
            selection = op.selection;
            result = this.results.of(pub, selection);
          }
          messages += 1;
          bytes += frame(session, op, result!);
        }
        counted(messages, bytes);
      },
      toSession: (session, pub) => {
        const connection = this.connections.get(session);
        if (!connection) return;
        let messages = 0;
        let bytes = 0;
        for (const op of connection.operationsOn(pub.channel) ?? []) {
          const queued = connection.deliver(op, pub);
          if (queued > 0) {
            messages += 1;
            bytes += queued;
          }
        }
        counted(messages, bytes);
      },
    };
  }
}
