import type { GraphQLFieldResolver, GraphQLObjectType, GraphQLResolveInfo, GraphQLSchema } from 'graphql';
import type { PresenceMember, Publication, StreamPosition } from '../brokers/broker.js';
import type { NamespaceOptions } from '../config/schema.js';
import type { PublishResult } from '../sessions/service.js';
import { buildChannelTypes } from './sdl/channel-types.js';

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
  const { schema, dataTypeNames } = buildChannelTypes(namespaces);
  const query = schema.getQueryType()!.getFields();
  query.presence!.resolve = (_root, args: { channel: string }, ops: ChannelOperations) => ops.presence(args.channel);
  query.history!.resolve = async (_root, args: { channel: string; limit?: number }, ops: ChannelOperations) => {
    const { publications, position } = await ops.history(args.channel, args.limit ?? undefined);
    return { publications, offset: position.offset, epoch: position.epoch };
  };
  schema.getMutationType()!.getFields().publish!.resolve = (_root, args: { channel: string; data: unknown }, ops: ChannelOperations) => ops.publish(args.channel, args.data);
  const subscription = schema.getSubscriptionType()!.getFields();
  subscription.channel!.subscribe = (_root, args: { name: string; since?: StreamPosition }, ops: ChannelOperations, info) =>
    ops.subscribeChannel(args.name, args.since ?? undefined, info);
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
