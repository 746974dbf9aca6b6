import type { FastifyInstance } from 'fastify';
import type { SwitchboardNode } from '../node.js';
import { version } from '../version.js';

/** This node and the cluster as this node sees it. */
export function registerNodeRoutes(api: FastifyInstance, node: SwitchboardNode): void {
  api.get('/api/info', async () => ({
    node: node.id,
    version,
    broker: node.broker.name,
    brokerConnected: node.broker.healthy,
    uptimeSeconds: Math.round(node.lifecycle.uptimeSeconds),
    sessions: node.registry.size,
    subscriptions: node.hub.subscriptions,
    channels: node.hub.channelCount,
    state: node.lifecycle.reportedState,
    ready: node.isReady,
  }));

  api.get('/api/nodes', async () => ({ nodes: node.cluster.liveNodes() }));
}
