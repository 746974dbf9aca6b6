import { createRequire } from 'node:module';

type GraphqlJs = typeof import('graphql');
let library: GraphqlJs | undefined;

/**
 * graphql-js, loaded on first use, so that reading a configuration (which checks typed
 * namespaces) does not load it into nodes that serve no GraphQL. graphql 16 is a CommonJS
 * package: this is the same instance an `import 'graphql'` elsewhere gets.
 */
export function graphqlLibrary(): GraphqlJs {
  return (library ??= createRequire(import.meta.url)('graphql') as GraphqlJs);
}
