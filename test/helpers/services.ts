import { execFile, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { ownedTempDir, signalGroup, spawnOwned } from './processes.js';
import { tool, type Tool } from './tools.js';

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A free TCP port on the loopback interface, chosen at random below the kernel's ephemeral range:
 * a port the kernel just handed out and took back (port 0) is the next one it hands to another
 * test file's process, which could then start its server on the same port at the same time.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 10_000 + Math.floor(Math.random() * 20_000);
    if (await canBind(port)) return port;
  }
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A server process the test owns: started on a free loopback port, stopped (or killed and restarted) by the test. */
export interface Service {
  port: number;
  url: string;
  /** Stops the process for good. */
  stop(): Promise<void>;
  /** Kills the process at once (a crash), keeping the port. */
  kill(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
}

/** Resolves when the process has exited, or never started (a spawn that failed emits `error` and no `exit`). */
export function exitOf(child: ChildProcess | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!child || child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return resolve();
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
}

/**
 * A server program the caller checked with `requireTool`, started through `spawnOwned`: in its own
 * process group, which `stop` and `kill` signal as a whole, and killed when the test file ends.
 */
export function ownedProcess(command: Tool, args: (port: number) => string[], port: number, url: string, cleanup = () => {}): Service {
  let child: ChildProcess | undefined;
  const exited = () => exitOf(child);
  const service: Service = {
    port,
    url,
    start: async () => {
      const started = spawnOwned(tool(command), args(port), { stdio: 'ignore' });
      child = started;
      started.once('error', () => {});
      // A process that exits while starting (its port was taken) must fail the test, not let it talk to someone else's server.
      let onExit!: () => void;
      const died = new Promise<never>((_, reject) => {
        onExit = () => reject(new Error(`${command} exited before listening on port ${port}`));
        started.once('exit', onExit);
      });
      try {
        await Promise.race([waitForPort(port, 10_000), died]);
      } finally {
        started.off('exit', onExit);
        died.catch(() => {});
      }
    },
    kill: async () => {
      const done = exited();
      if (child) signalGroup(child, 'SIGKILL');
      await done;
    },
    stop: async () => {
      const done = exited();
      if (child) signalGroup(child, 'SIGTERM');
      await done;
      cleanup();
    },
  };
  return service;
}

/** `redis-server` on a free port, keeping nothing on disk. */
export async function startRedis(): Promise<Service> {
  const port = await freePort();
  const service = ownedProcess('redis-server', (p) => ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], port, `redis://127.0.0.1:${port}`);
  await service.start();
  return service;
}

/** `nats-server -js` on a free port with its JetStream store in a temporary directory. */
export async function startNats(): Promise<Service> {
  const port = await freePort();
  const dir = ownedTempDir('switchboard-nats-');
  const service = ownedProcess(
    'nats-server',
    (p) => ['-a', '127.0.0.1', '-p', String(p), '-js', '-sd', dir],
    port,
    `nats://127.0.0.1:${port}`,
    () => rmSync(dir, { recursive: true, force: true }),
  );
  await service.start();
  return service;
}

/** A Redis Cluster the test owns: `stop`, `kill` and `start` act on every node at once. */
export interface RedisClusterService extends Service {
  /** One comma-separated seed URL per node. */
  url: string;
  /** The nodes, each a master owning a third of the slots; kill one to lose a shard. */
  nodes: Service[];
  /** Waits until every node that runs says `cluster_state:ok`. */
  waitUntilOk(timeoutMs?: number): Promise<void>;
}

function run(command: Tool, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(tool(command), args, { timeout: 10_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
}

/** Distinct free loopback ports. */
async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/**
 * Three `redis-server --cluster-enabled yes` masters on free loopback ports (and free cluster bus
 * ports: the default bus port, port + 10000, may lie above 65535), joined with
 * `redis-cli --cluster create`, keeping nothing on disk but their cluster config files in a
 * temporary directory. The config files outlive a kill, so `start` after `kill` brings back the
 * same cluster (empty, as a crashed cluster without persistence would be).
 */
export async function startRedisCluster(): Promise<RedisClusterService> {
  const dir = ownedTempDir('switchboard-redis-cluster-');
  const ports = await freePorts(6);
  const nodes = [0, 1, 2].map((i) => {
    const busPort = ports[i + 3]!;
    return ownedProcess(
      'redis-server',
      (p) => [
        '--port',
        String(p),
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${p}.conf`),
        '--cluster-port',
        String(busPort),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      ports[i]!,
      `redis://127.0.0.1:${ports[i]}`,
    );
  });
  const waitUntilOk = async (timeoutMs = 15_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await Promise.all(
        nodes.map((node) =>
          run('redis-cli', ['-p', String(node.port), 'cluster', 'info']).then(
            (info) => /^cluster_state:ok\r?$/m.test(info),
            () => false,
          ),
        ),
      );
      if (states.every(Boolean)) return;
      if (Date.now() > deadline) throw new Error(`the Redis Cluster is not ok after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const cluster: RedisClusterService = {
    port: nodes[0]!.port,
    url: nodes.map((node) => node.url).join(','),
    nodes,
    waitUntilOk,
    start: async () => {
      await Promise.all(nodes.map((node) => node.start()));
      await waitUntilOk();
    },
    kill: async () => {
      await Promise.all(nodes.map((node) => node.kill()));
    },
    stop: async () => {
      await Promise.all(nodes.map((node) => node.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all(nodes.map((node) => node.start()));
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', '0', '--cluster-yes']);
    await waitUntilOk();
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

/** librdkafka's mock cluster, a Kafka-protocol broker in memory; its ports are chosen by kcat, so it cannot restart on the same ones. */
export interface KafkaMockService {
  /** Bootstrap servers, host:port each. */
  brokers: string[];
  /** The bootstrap list, comma-separated (as the Kafka settings take it). */
  url: string;
  /** Stops the cluster; everything it held is gone. */
  stop(): Promise<void>;
}

/**
 * `kcat` consuming a keep-alive topic runs librdkafka's mock cluster with three brokers and serves
 * until it is stopped; the bootstrap list is the one it prints on stderr.
 */
export async function startKafkaMock(): Promise<KafkaMockService> {
  const child = spawnOwned(tool('kcat'), ['-b', 'localhost:1', '-X', 'test.mock.num.brokers=3', '-C', '-t', '_keepalive', '-o', 'end'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = exitOf(child);
  const stop = async () => {
    signalGroup(child, 'SIGTERM');
    await exited;
  };
  try {
    const brokers = await new Promise<string[]>((resolve, reject) => {
      let stderr = '';
      const timer = setTimeout(() => reject(new Error(`kcat printed no mock cluster address within 10 s: ${stderr}`)), 10_000);
      child.once('error', (err) => reject(err));
      child.once('exit', () => reject(new Error(`kcat exited before its mock cluster served: ${stderr}`)));
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const found = /Mock cluster enabled: .* replaced with (\S+)/.exec(stderr);
        if (!found) return;
        clearTimeout(timer);
        child.stderr!.removeAllListeners('data').resume();
        resolve(found[1]!.split(','));
      });
    });
    await Promise.all(brokers.map((b) => waitForPort(Number(b.slice(b.lastIndexOf(':') + 1)), 10_000)));
    return { brokers, url: brokers.join(','), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
