import type { GraphQLObjectType, GraphQLResolveInfo } from 'graphql';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { HistoryQuery, HistoryResult, PresenceMember, Publication } from '../brokers/broker.js';
import type { Permissions } from '../auth/permissions.js';
import type { ChannelRules, ResolvedChannel } from '../channels/channels.js';
import type { PublishResult } from '../sessions/service.js';
import type { Stats } from '../observability/metrics.js';
import type { WireFormat } from '../protocol/wire.js';
import type { Session } from '../sessions/session.js';
import type { GraphqlConnection } from './connection.js';
import type { ChannelSchema } from './schema.js';
import { Selection, SelectionResults, type EncodedResult } from './selection.js';
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
  /** Documents the transports already parsed and validated, by query text. */
  readonly documents = new ValidatedDocuments(1000);
  private readonly connections = new Map<Session, GraphqlConnection>();
  /** Whether a publication's data matches its namespace's type, decided once per publication. */
  private readonly conformance = new WeakMap<Publication, boolean>();
  private readonly mismatches: Counter<'namespace'>;
  private operations = 0;

  constructor(
    readonly deps: GraphqlDeps,
    private readonly channelSchema: ChannelSchema,
    registry: Registry,
  ) {
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
    const running = () => this.operations;
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

  operationStarted(): void {
    this.operations += 1;
  }

  operationEnded(): void {
    this.operations -= 1;
  }

  /** The selection of a subscription field; operations with the same key share its results. */
  selection(info: GraphQLResolveInfo, query: string): Selection {
    return new Selection(this.schema, info, query);
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
   * The Hub deliverer of the GraphQL formats: each operation on the channel gets the shared result
   * of its selection. Subscribers of one selection usually follow each other, so the result of the
   * previous operation's selection is reused without looking it up.
   */
  deliverer(format: WireFormat) {
    const { stats } = this.deps;
    return (pub: Publication, sessions: Iterable<Session>, skip: Set<Session> | undefined): void => {
      let messages = 0;
      let bytes = 0;
      let selectionKey: string | undefined;
      let result: EncodedResult | undefined;
      for (const session of sessions) {
        if (skip?.has(session)) continue;
        const connection = this.connections.get(session);
        const ops = connection?.operationsOn(pub.channel);
        if (!ops) continue;
        for (const op of ops) {
          if (!connection!.admits(op, pub)) continue;
          if (op.selection.key !== selectionKey) {
            selectionKey = op.selection.key;
            result = this.results.of(pub, op.selection);
          }
          messages += 1;
          bytes += connection!.frame(session, op, result!);
        }
      }
      stats.messagesOut[format]! += messages;
      stats.bytesOut[format]! += bytes;
    };
  }
}
