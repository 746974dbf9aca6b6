import type { FastifyInstance } from 'fastify';
import { GraphQLError, createSourceEventStream, parse, validate, type DocumentNode, type ExecutionArgs, type ExecutionResult, type GraphQLSchema } from 'graphql';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { ConnectRequest } from '../auth/authenticator.js';
import type { Identity } from '../auth/identity.js';
import type { OriginPolicy } from '../auth/origins.js';
import type { Permissions } from '../auth/permissions.js';
import type { Broker } from '../brokers/broker.js';
import type { ChannelRules, ResolvedChannel } from '../channels/channels.js';
import type { Config } from '../config/schema.js';
import { asSwitchboardError } from '../protocol/errors.js';
import { GraphqlChannels } from '../graphql/channels.js';
import type { ResultFraming } from '../graphql/connection.js';
import type { ValidatedDocuments } from '../graphql/validated-documents.js';
import { buildChannelSchema } from '../graphql/schema.js';
import type { Hub } from '../hub/hub.js';
import type { Metrics, Stats } from '../observability/metrics.js';
import { WireFormat } from '../protocol/wire.js';
import type { OpenSessionInit, SessionService } from '../sessions/service.js';
import type { Session } from '../sessions/session.js';
import { errorBody, refuseUpgrade } from '../http/errors.js';
import type { ClientAddresses } from './client-address.js';
import { graphqlSseRoutes } from './graphql-sse.js';
import { GraphqlWebSocket } from './graphql-ws.js';
import { connectRequest } from './routes.js';

/** What the GraphQL transports need of the node. */
export interface GraphqlTransportDeps {
  config: Config;
  stats: Stats;
  log: Logger;
  channels: GraphqlChannels;
  /** Checks the origin and the connection limits, as for any client connection; throws a SwitchboardError. */
  admit(req: IncomingMessage, url: URL, transport: string): ConnectRequest;
  /** Who the client is (token, connect hook, anonymous) and the channels its session starts with. */
  authorize(request: ConnectRequest, token?: string): Promise<{ identity: Identity; channels: ResolvedChannel[] }>;
  openSession(init: OpenSessionInit): Session;
  /** Answers a refused WebSocket upgrade with the error's status. */
  refuseUpgrade(socket: Duplex, err: unknown): void;
  /** Publications to the sessions of a GraphQL format go out framed by `frame` (see GraphqlChannels.deliverer). */
  deliverWith(format: WireFormat, frame: ResultFraming): void;
}

/**
 * A subscription's source stream, without graphql-js's mapping of each event through execute: the
 * operations yield nothing, their results are queued by the shared fan-out (GraphqlChannels).
 */
export function sourceStream(args: ExecutionArgs): Promise<AsyncIterable<ExecutionResult> | ExecutionResult> {
  return createSourceEventStream(args) as Promise<AsyncIterable<ExecutionResult> | ExecutionResult>;
}

/** A client's mistake in its document, as a GraphQL error with the protocol's code. */
function badRequest(error: GraphQLError): GraphQLError {
  return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, extensions: { code: 'bad_request' } });
}

/**
 * Parses and validates an operation the client sent: its execution arguments, or the GraphQL
 * errors to answer (a document longer than graphql.maxQueryBytes is refused before it is parsed).
 * A query text already validated is not parsed or validated again.
 */
export function prepareOperation(
  schema: GraphQLSchema,
  documents: ValidatedDocuments,
  maxQueryBytes: number,
  stats: Stats,
  payload: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null },
): ExecutionArgs | GraphQLError[] {
  const known = documents.get(payload.query);
  if (known) return { schema, document: known, operationName: payload.operationName, variableValues: payload.variables };
  if (Buffer.byteLength(payload.query) > maxQueryBytes) {
    stats.limit('graphql_query_size');
    stats.error('too_large');
    return [new GraphQLError(`a GraphQL document may be at most ${maxQueryBytes} bytes`, { extensions: { code: 'too_large' } })];
  }
  let document: DocumentNode;
  try {
    document = parse(payload.query);
  } catch (err) {
    stats.error('bad_request');
    return [badRequest(err as GraphQLError)];
  }
  const errors = validate(schema, document);
  if (errors.length > 0) {
    stats.error('bad_request');
    return errors.map(badRequest);
  }
  documents.set(payload.query, document);
  return { schema, document, operationName: payload.operationName, variableValues: payload.variables };
}

/** What the GraphQL endpoint needs of the node's parts. */
export interface GraphqlEndpointDeps {
  app: FastifyInstance;
  config: Config;
  metrics: Pick<Metrics, 'stats' | 'registry'>;
  log: Logger;
  rules: ChannelRules;
  permissions: Permissions;
  sessions: Pick<SessionService, 'admit' | 'authorize' | 'open' | 'subscribe' | 'unsubscribe' | 'publish'>;
  broker: Pick<Broker, 'history' | 'presence'>;
  hub: Pick<Hub<Session>, 'deliverWith'>;
}

/**
 * GraphQL subscriptions onto channels (graphql.enabled, docs/graphql.md): the graphql-sse route,
 * and the graphql-ws endpoint the node's upgrade dispatch hands /graphql to.
 */
export function registerGraphql(node: GraphqlEndpointDeps, origins: OriginPolicy, addresses: ClientAddresses): GraphqlWebSocket {
  const { config, metrics, log } = node;
  const { stats } = metrics;
  const channels = new GraphqlChannels(
    {
      rules: node.rules,
      permissions: node.permissions,
      stats,
      log,
      maxSubscriptions: config.sessions.maxSubscriptions,
      maxOperations: config.graphql.maxOperations,
      personalNamespace: config.auth.personalNamespace,
      subscribe: (session, channel) => node.sessions.subscribe(session, channel),
      unsubscribe: (session, channel) => node.sessions.unsubscribe(session, channel),
      publish: (channel, data) => node.sessions.publish(channel, data, 'client'),
      history: (channel, query) => node.broker.history(channel, query),
      presence: (channel) => node.broker.presence.list(channel),
    },
    buildChannelSchema(config.channels.namespaces),
    metrics.registry,
  );
  const deps: GraphqlTransportDeps = {
    config,
    stats,
    log,
    channels,
    admit: (req, url, transport) => {
      origins.check(req.headers);
      node.sessions.admit([], addresses.ipOf(req));
      return connectRequest(req, addresses.remoteOf(req), url, transport, origins);
    },
    authorize: (request, token) => node.sessions.authorize(request, [], token),
    openSession: (init) => node.sessions.open(init),
    deliverWith: (format, frame) => node.hub.deliverWith(format, channels.deliverer(format, frame)),
    refuseUpgrade: (socket, err) => {
      const error = asSwitchboardError(err);
      stats.error(error.code);
      refuseUpgrade(socket, error.httpStatus, errorBody(error.code, error.message));
    },
  };
  node.app.register(graphqlSseRoutes, deps);
  return new GraphqlWebSocket(deps);
}
