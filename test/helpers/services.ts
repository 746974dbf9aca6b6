import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A free TCP port on the loopback interface. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
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

function ownedProcess(command: string, args: (port: number) => string[], port: number, url: string, cleanup = () => {}): Service {
  let child: ChildProcess | undefined;
  const exited = () => new Promise<void>((resolve) => (child && child.exitCode === null && child.signalCode === null ? child.once('exit', () => resolve()) : resolve()));
  const service: Service = {
    port,
    url,
    start: async () => {
      child = spawn(command, args(port), { stdio: 'ignore' });
      child.once('error', () => {});
      await waitForPort(port, 10_000);
    },
    kill: async () => {
      const done = exited();
      child?.kill('SIGKILL');
      await done;
    },
    stop: async () => {
      const done = exited();
      child?.kill('SIGTERM');
      await done;
      cleanup();
    },
  };
  return service;
}

/** `redis-server` on a free port, keeping nothing on disk. */
export async function startRedis(): Promise<Service> {
  const port = await freePort();
  const service = ownedProcess(
    'redis-server',
    (p) => ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    port,
    `redis://127.0.0.1:${port}`,
  );
  await service.start();
  return service;
}

/** `nats-server -js` on a free port with its JetStream store in a temporary directory. */
export async function startNats(): Promise<Service> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-nats-'));
  const service = ownedProcess('nats-server', (p) => ['-a', '127.0.0.1', '-p', String(p), '-js', '-sd', dir], port, `nats://127.0.0.1:${port}`, () =>
    rmSync(dir, { recursive: true, force: true }),
  );
  await service.start();
  return service;
}
