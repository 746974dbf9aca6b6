import type { FastifyPluginAsync } from 'fastify';
import type { Broker } from '../brokers/broker.js';
import type { Cluster } from '../cluster/cluster.js';
import type { Hub } from '../hub/hub.js';
import type { Lifecycle } from '../cluster/lifecycle.js';
import type { SessionRegistry } from '../sessions/registry.js';
import { version } from '../observability/version.js';

/** What /api/info and /api/nodes tell of: this node's parts and the cluster view. */
export interface NodeInfoDeps {
  id: string;
  broker: Pick<Broker, 'name' | 'healthy'>;
  lifecycle: Pick<Lifecycle, 'uptimeSeconds' | 'reportedState'>;
  registry: Pick<SessionRegistry, 'size'>;
  hub: Pick<Hub, 'subscriptions' | 'channelCount'>;
  readonly isReady: boolean;
  cluster: Pick<Cluster, 'liveNodes'>;
}

/** This node and the cluster as this node sees it. */
export const nodeRoutes: FastifyPluginAsync<NodeInfoDeps> = async (api, deps) => {
  api.get('/api/info', async () => ({
    node: deps.id,
    version,
    broker: deps.broker.name,
    brokerConnected: deps.broker.healthy,
    uptimeSeconds: Math.round(deps.lifecycle.uptimeSeconds),
    sessions: deps.registry.size,
    subscriptions: deps.hub.subscriptions,
    channels: deps.hub.channelCount,
    state: deps.lifecycle.reportedState,
    ready: deps.isReady,
  }));

  api.get('/api/nodes', async () => ({ nodes: deps.cluster.liveNodes() }));
};
