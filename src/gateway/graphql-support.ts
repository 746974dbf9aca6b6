/** What a gateway with `graphql` routes loads (graphql-js and graphql-ws), only when one is configured. */
export { GraphqlConnection } from './graphql-connection.js';
export { GraphqlSockets } from './graphql-sockets.js';
