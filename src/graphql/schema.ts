import type { GraphQLFieldResolver, GraphQLObjectType, GraphQLResolveInfo, GraphQLSchema } from 'graphql';
import type { PresenceMember, Publication, StreamPosition } from '../brokers/broker.js';
import type { NamespaceOptions } from '../config/schema.js';
import type { PublishResult } from '../sessions/service.js';
import { graphqlLibrary } from './library.js';
import { graphqlNamePattern, readTypeDefinition } from './typed-channels.js';

/** What the schema's resolvers ask of the connection an operation runs on (its context value). */
export interface ChannelOperations extends Record<PropertyKey, unknown> {
  /** Starts a subscription to a channel; `namespace` is set for a typed namespace's own field. */
  subscribeChannel(name: string, since: StreamPosition | undefined, info: GraphQLResolveInfo, namespace?: string): Promise<AsyncIterable<never>>;
  /** Starts a subscription to the user's personal channel. */
  subscribeUser(info: GraphQLResolveInfo): Promise<AsyncIterable<never>>;
  publish(channel: string, data: unknown): Promise<PublishResult>;
  presence(channel: string): Promise<PresenceMember[]>;
  history(channel: string, limit: number | undefined): Promise<{ publications: Publication[]; position: StreamPosition }>;
}

const builtIn = `
"Any JSON value."
scalar JSON

"A position in a channel's stream: where a client got to."
input PositionInput {
  offset: Int!
  epoch: String!
}

"One publication on a channel; offset and epoch are set on channels with history."
type Publication {
  channel: String!
  offset: Int
  epoch: String
  "Milliseconds since the epoch when the publication was accepted."
  time: Float
  data: JSON
}

type PresenceMember {
  user: String!
  session: String!
  node: String!
}

type History {
  "The newest publications, oldest first."
  publications: [Publication!]!
  offset: Int!
  epoch: String!
}

type PublishResult {
  "Subscribers reached on the node that accepted the publication."
  subscribers: Int!
  offset: Int
  epoch: String
}

type Query {
  "Who is subscribed to a channel whose namespace keeps presence."
  presence(channel: String!): [PresenceMember!]!
  "The newest publications of a channel with history (at most limit)."
  history(channel: String!, limit: Int): History!
}

type Mutation {
  "Publishes to a channel whose namespace lets this client publish."
  publish(channel: String!, data: JSON!): PublishResult!
}

type Subscription {
  "Publications on a channel; with since, the ones missed after that position first."
  channel(name: String!, since: PositionInput): Publication!
  "Publications on the personal channel of the connection's user."
  user: Publication!
}
`;

/** The schema of /graphql, and which subscription field belongs to which typed namespace. */
export interface ChannelSchema {
  schema: GraphQLSchema;
  /** The data type of each typed namespace, by namespace name (which is its subscription field's name too). */
  dataTypes: Map<string, GraphQLObjectType>;
}

/** The publication itself is the value of every subscription field: each event is executed with it as the root. */
const publicationRoot: GraphQLFieldResolver<Publication, ChannelOperations> = (pub) => pub;

/**
 * The built-in schema plus, for each namespace with a graphqlType, a subscription field named after
 * the namespace whose publications carry that type (`news(name: "news:sport") { data { title } }`).
 * Throws an Error naming the namespace when a type definition does not fit.
 */
export function buildChannelSchema(namespaces: Record<string, Partial<NamespaceOptions>>): ChannelSchema {
  const { parse, buildASTSchema, concatAST } = graphqlLibrary();
  const typed = Object.entries(namespaces).filter(([, options]) => options.graphqlType?.trim());
  const documents = [parse(builtIn, { noLocation: true })];
  const dataTypeNames = new Map<string, string>();
  for (const [namespace, options] of typed) {
    if (!graphqlNamePattern.test(namespace) || namespace === 'channel' || namespace === 'user') {
      throw new Error(`namespace ${namespace}: a namespace with a graphqlType names a subscription field, so it must be a GraphQL name other than channel and user`);
    }
    let definition;
    try {
      definition = readTypeDefinition(options.graphqlType!);
    } catch (err) {
      throw new Error(`namespace ${namespace}.graphqlType: ${(err as Error).message}`);
    }
    const { dataType } = definition;
    dataTypeNames.set(namespace, dataType);
    documents.push(
      definition.document,
      parse(`
        type ${dataType}Publication { channel: String! offset: Int epoch: String time: Float data: ${dataType}! }
        extend type Subscription { ${namespace}(name: String!, since: PositionInput): ${dataType}Publication! }
      `),
    );
  }
  let schema: GraphQLSchema;
  try {
    schema = buildASTSchema(concatAST(documents));
  } catch (err) {
    throw new Error(`channels.namespaces graphqlType: ${(err as Error).message}`);
  }
  const query = schema.getQueryType()!.getFields();
  query.presence!.resolve = (_root, args: { channel: string }, ops: ChannelOperations) => ops.presence(args.channel);
  query.history!.resolve = async (_root, args: { channel: string; limit?: number }, ops: ChannelOperations) => {
    const { publications, position } = await ops.history(args.channel, args.limit ?? undefined);
    return { publications, offset: position.offset, epoch: position.epoch };
  };
  schema.getMutationType()!.getFields().publish!.resolve = (_root, args: { channel: string; data: unknown }, ops: ChannelOperations) => ops.publish(args.channel, args.data);
  const subscription = schema.getSubscriptionType()!.getFields();
  subscription.channel!.subscribe = (_root, args: { name: string; since?: StreamPosition }, ops: ChannelOperations, info) => ops.subscribeChannel(args.name, args.since ?? undefined, info);
  subscription.user!.subscribe = (_root, _args, ops: ChannelOperations, info) => ops.subscribeUser(info);
  const dataTypes = new Map<string, GraphQLObjectType>();
  for (const [namespace, dataType] of dataTypeNames) {
    dataTypes.set(namespace, schema.getType(dataType) as GraphQLObjectType);
    subscription[namespace]!.subscribe = (_root, args: { name: string; since?: StreamPosition }, ops: ChannelOperations, info) =>
      ops.subscribeChannel(args.name, args.since ?? undefined, info, namespace);
  }
  for (const field of Object.values(subscription)) field.resolve = publicationRoot;
  return { schema, dataTypes };
}
