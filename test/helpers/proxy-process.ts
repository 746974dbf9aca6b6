import { type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import net from 'node:net';
import { signalGroup, spawnOwned } from './processes.js';
import { exitOf } from './services.js';
import { waitUntil } from './wait.js';

/** A load balancer in front of the nodes (HAProxy, nginx) on a loopback port. */
export interface LoadBalancer {
  url: string;
  stop(): Promise<void>;
}

/**
 * Runs a load balancer in the foreground and resolves once it listens on `port`; stopping it kills
 * its process group and removes `dir`, the folder of its config and files.
 */
export async function runLoadBalancer(name: string, program: string, args: string[], port: number, dir: string): Promise<LoadBalancer> {
  let output = '';
  const child: ChildProcess = spawnOwned(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const stop = async () => {
    const exited = exitOf(child);
    signalGroup(child, 'SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntil(
      () =>
        new Promise<boolean>((resolve, reject) => {
          if (child.exitCode !== null) reject(new Error(`${name} exited: ${output}`));
          const socket = net.connect(port, '127.0.0.1');
          socket.once('connect', () => {
            socket.destroy();
            resolve(true);
          });
          socket.once('error', () => resolve(false));
        }),
      5000,
      `${name} to listen`,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `http://127.0.0.1:${port}`, stop };
}
