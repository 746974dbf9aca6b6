import type { GraphQLSchema } from 'graphql';
import { graphqlLibrary } from './library.js';
import { graphqlNamePattern, readTypeDefinition } from './typed-channels.js';

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

/**
 * The types of the channel schema: the built-in ones plus, for each namespace with a graphqlType,
 * a subscription field named after the namespace whose publications carry that type. Throws an
 * Error naming the namespace when a type definition does not fit; the configuration is checked
 * with it at start, the GraphQL endpoint adds its resolvers to the schema it returns.
 */
export function buildChannelTypes(namespaces: Record<string, { graphqlType?: string }>): { schema: GraphQLSchema; dataTypeNames: Map<string, string> } {
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
  return { schema, dataTypeNames };
}
