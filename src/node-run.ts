import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { RevocationList } from './auth/revocations.js';
import type { Bridges } from './bridges/bridges.js';
import type { Broker } from './brokers/broker.js';
import type { Cluster } from './cluster/cluster.js';
import type { Config } from './config/schema.js';
import type { Gateway } from './gateway/gateway.js';
import type { Lifecycle } from './cluster/lifecycle.js';
import { MetricsServer } from './observability/metrics-server.js';
import { metricsSource } from './api/ops-routes.js';
import type { MachineView } from './workers/ops-channel.js';
import type { Metrics } from './observability/metrics.js';
import type { DurableDelivery } from './routing/durable.js';
import type { Router } from './routing/router.js';
import type { SessionRegistry } from './sessions/registry.js';
import type { SessionService } from './sessions/service.js';
import type { TopicService } from './topics/service.js';
import type { TopicStreams } from './topics/stream.js';
import type { CertificateReloader } from './transports/tls.js';
import type { AdminConsole } from './admin/console.js';

/** The parts of a node that start and stop, in the order below. */
export interface RunningParts {
  readonly config: Config;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly machine: MachineView | undefined;
  readonly broker: Broker;
  readonly gateway: Gateway | undefined;
  readonly revocations: RevocationList;
  readonly topics: TopicService;
  readonly topicStreams: TopicStreams;
  readonly durable: DurableDelivery;
  readonly router: Router;
  readonly app: FastifyInstance;
  readonly certificates: CertificateReloader | undefined;
  readonly sessions: SessionService;
  readonly registry: SessionRegistry;
  readonly lifecycle: Lifecycle;
  readonly cluster: Cluster;
  readonly console: AdminConsole | undefined;
  readonly bridges: Bridges;
  readonly port: number;
}

/** Connects and starts the parts, then listens; answers the separate metrics server (metrics.port) if any. */
export async function startParts(node: RunningParts): Promise<MetricsServer | undefined> {
  const { config } = node;
  await node.broker.connect();
  await node.gateway?.start();
  await node.revocations.start();
  await node.topics.start();
  await node.durable.start();
  await node.app.listen({ host: config.server.host, port: config.server.port });
  let metricsServer: MetricsServer | undefined;
  if (config.metrics.port !== 0) {
    metricsServer = new MetricsServer(metricsSource(node));
    await metricsServer.listen(config.server.host, config.metrics.port);
  }
  node.certificates?.start();
  node.sessions.start();
  node.lifecycle.state = 'running';
  node.cluster.start();
  node.console?.start();
  await node.bridges.start();
  node.log.info(
    { event: 'node.started', host: config.server.host, port: node.port, broker: node.broker.name, demo: config.demo.enabled, pid: process.pid },
    `listening on ${config.server.tls.cert ? 'https' : 'http'}://${config.server.host}:${node.port}`,
  );
  return metricsServer;
}

/** Stops the parts in the reverse order of their start; sessions are ended with `shutdown`. */
export async function stopParts(node: RunningParts, metricsServer: MetricsServer | undefined): Promise<void> {
  if (node.lifecycle.state === 'stopped') return;
  const wasRunning = node.lifecycle.state !== 'created';
  node.lifecycle.state = 'stopped';
  node.sessions.stop();
  node.console?.stop();
  node.revocations.stop();
  if (wasRunning) await node.bridges.stop();
  for (const session of [...node.registry.all()]) session.terminate('shutdown');
  if (wasRunning) await node.cluster.stop();
  node.topicStreams.close();
  node.certificates?.stop();
  await node.app.close();
  await metricsServer?.close();
  await node.durable.stop();
  await node.topics.stop();
  await node.gateway?.stop();
  await node.router.close();
  await node.broker.close();
  node.log.info({ event: 'node.stopped' }, 'stopped');
}
