import { rmSync } from 'node:fs';
import net from 'node:net';
import { get, startProcess, type NodeProcess } from './node.js';
import { ownedTempDir } from './processes.js';
import { freePort, ownedProcess, startNats, startRedis, type Service } from './services.js';
import type { Tool } from './tools.js';
import { waitUntil } from './wait.js';

/** The brokers several node processes can share. */
export type SharedBrokerKind = 'redis' | 'nats';
export const sharedBrokerKinds: SharedBrokerKind[] = ['redis', 'nats'];
/** The server program of each kind, for `requireTool`. */
export const brokerTools: Record<SharedBrokerKind, Tool> = { redis: 'redis-server', nats: 'nats-server' };

export interface SharedBroker {
  kind: SharedBrokerKind;
  service: Service;
  /** The `switchboard serve` flags that select this broker. */
  args: string[];
}

/** Starts a broker server of this kind on a free loopback port. */
export async function startSharedBroker(kind: SharedBrokerKind): Promise<SharedBroker> {
  const service = kind === 'redis' ? await startRedis() : await startNats();
  const args = kind === 'redis' ? ['--broker.type', 'redis', '--broker.redis.url', service.url] : ['--broker.type', 'nats', '--broker.nats.servers', service.url];
  return { kind, service, args };
}

/**
 * `redis-server` keeping an append-only file in a temporary directory, so its data survives a kill
 * and restart as a deployment's Redis with persistence would.
 */
export async function startPersistentRedis(): Promise<SharedBroker> {
  const port = await freePort();
  const dir = ownedTempDir('switchboard-redis-');
  const service = ownedProcess(
    'redis-server',
    (p) => ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec', '--dir', dir],
    port,
    `redis://127.0.0.1:${port}`,
    () => rmSync(dir, { recursive: true, force: true }),
  );
  await service.start();
  return { kind: 'redis', service, args: ['--broker.type', 'redis', '--broker.redis.url', service.url] };
}

/**
 * Short cluster timings so tests see nodes and presence come and go within seconds, with room for
 * a loaded CI machine: a late refresh must not expire a live session's presence.
 */
export const fastCluster = ['--cluster.heartbeatInterval', '200ms', '--cluster.nodeTimeout', '2s', '--cluster.presenceTtl', '3s'];

/** Starts `count` node processes on one broker; resolves once every node sees all of them. */
export async function startCluster(count: number, broker: SharedBroker, extraArgs: string[] = []): Promise<NodeProcess[]> {
  const args = [...broker.args, '--api.insecure', 'true', ...fastCluster, ...extraArgs];
  const started = await Promise.allSettled(Array.from({ length: count }, () => startProcess(args)));
  const nodes = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    for (const node of nodes) node.kill();
    throw (failed as PromiseRejectedResult).reason;
  }
  try {
    await waitForNodes(nodes, count);
  } catch (err) {
    for (const node of nodes) node.kill();
    throw err;
  }
  return nodes;
}

/** Ids of the nodes `GET /api/nodes` of this node lists. */
export async function listedNodes(node: NodeProcess): Promise<string[]> {
  const res = await get(`${node.url}/api/nodes`);
  if (res.status !== 200) return [];
  return (res.body.nodes as { id: string }[]).map((n) => n.id).sort();
}

/** Waits until every node lists `count` nodes. */
export async function waitForNodes(nodes: NodeProcess[], count: number, timeoutMs = 5000): Promise<void> {
  await waitUntil(async () => (await Promise.all(nodes.map(listedNodes))).every((ids) => ids.length === count), timeoutMs, `every node to list ${count} nodes`);
}

/** Kills every process still running (SIGKILL); for after() hooks. */
export function killAll(nodes: (NodeProcess | undefined)[]): void {
  for (const node of nodes) node?.kill();
}

export const wsUrl = (node: NodeProcess): string => node.url.replace('http', 'ws');

/**
 * A TCP proxy on a free loopback port in front of a server: `cut()` drops every connection and
 * refuses new ones (a network partition between one node and the broker), `restore()` lets them in
 * again on the same port.
 */
export interface TcpProxy {
  port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const port = await freePort();
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  const listen = async () => {
    server = net.createServer((client) => {
      const upstream = net.connect(targetPort, '127.0.0.1');
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(port, '127.0.0.1', () => resolve());
    });
  };
  const cut = async () => {
    const closing = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    if (closing) await new Promise<void>((resolve) => closing.close(() => resolve()));
  };
  await listen();
  return { port, cut, restore: listen, close: cut };
}
