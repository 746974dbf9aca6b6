import type { Logger } from 'pino';
import type { Broker } from './brokers/broker.js';
import { createBroker } from './create-broker.js';
import type { Config } from './config/schema.js';
import type { GraphqlSupport } from './gateway/gateway.js';
import { createGatewayStores, type GatewayStores } from './gateway/create.js';
import type { NodeOptions } from './node-options.js';
import { createLogger } from './observability/log.js';
import { createTopicStore } from './topics/create.js';
import type { TopicStore } from './topics/store.js';

/** What a node loads for the configuration: only the configured clients' libraries. */
export interface NodeParts {
  log: Logger;
  broker: Broker;
  topicStore: TopicStore;
  gatewayStores: GatewayStores | undefined;
  /** Loaded only for what the configuration turns on: graphql-js and graphql-ws are not small. */
  gatewayGraphql: GraphqlSupport | undefined;
  graphql: typeof import('./transports/graphql.js') | undefined;
}

/** Loads the modules of the broker, topic store and gateway stores `config` names, and creates them. */
export async function loadNodeParts(config: Config, options: NodeOptions): Promise<NodeParts> {
  const log = options.logger ?? createLogger(config.log.level, config.node.id);
  const [broker, topicStore, gatewayStores, gatewayGraphql, graphql] = await Promise.all([
    options.broker ?? createBroker(config.broker, options.bus),
    createTopicStore(config, log),
    config.gateway.enabled ? createGatewayStores(config.broker, log) : undefined,
    config.gateway.enabled && config.gateway.routes.some((route) => route.kind === 'graphql') ? import('./gateway/graphql-support.js') : undefined,
    config.graphql.enabled ? import('./transports/graphql.js') : undefined,
  ]);
  return { log, broker, topicStore, gatewayStores, gatewayGraphql, graphql };
}
