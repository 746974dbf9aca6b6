import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NodeProcess } from './node.js';
import { ownedTempDir, signalGroup, spawnOwned } from './processes.js';
import { exitOf, freePort } from './services.js';
import { tool } from './tools.js';
import { waitUntil } from './wait.js';

const exampleConfig = fileURLToPath(new URL('../../../deploy/nginx.conf', import.meta.url));

/**
 * deploy/nginx.conf with the listen line and the servers replaced, file limits this machine allows,
 * and every file nginx writes (pid, logs, temporary files) in `dir`, so it runs without root.
 */
export function localNginxConfig(port: number, nodes: NodeProcess[], dir: string): string {
  const lines: string[] = [`pid ${join(dir, 'nginx.pid')};`, `error_log ${join(dir, 'error.log')} warn;`];
  for (const line of readFileSync(exampleConfig, 'utf8').split('\n')) {
    const trimmed = line.trim();
    if (trimmed.startsWith('listen ')) lines.push(`        listen 127.0.0.1:${port};`);
    else if (trimmed.startsWith('worker_rlimit_nofile ') || trimmed.startsWith('worker_processes ')) continue;
    else if (trimmed.startsWith('worker_connections ')) lines.push('    worker_connections 1000;');
    else if (trimmed.startsWith('server ') && trimmed.endsWith(';')) continue;
    else {
      lines.push(line);
      if (trimmed.startsWith('upstream ')) for (const node of nodes) lines.push(`        server 127.0.0.1:${node.port} max_fails=2 fail_timeout=10s;`);
      if (trimmed === 'http {') {
        lines.push(`    access_log off;`);
        for (const kind of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) lines.push(`    ${kind}_temp_path ${join(dir, `${kind}_temp`)};`);
      }
    }
  }
  const text = lines.join('\n');
  assert.ok(text.includes(`server 127.0.0.1:${nodes[0]!.port}`), 'the example has an upstream block to put the servers in');
  return text;
}

export interface Nginx {
  url: string;
  stop(): Promise<void>;
}

/** nginx with the example config in front of the nodes, on a free port, checked with `nginx -t` first; resolves once it listens. */
export async function startNginx(nodes: NodeProcess[]): Promise<Nginx> {
  const port = await freePort();
  const dir = ownedTempDir('switchboard-nginx-');
  const config = join(dir, 'nginx.conf');
  writeFileSync(config, localNginxConfig(port, nodes, dir));
  // -e: the error log before the config is read, which by default is a system path.
  const base = ['-p', dir, '-e', join(dir, 'error.log'), '-c', config];
  const check = spawnSync(tool('nginx'), [...base, '-t'], { encoding: 'utf8' });
  assert.equal(check.status, 0, `nginx -t: ${check.stdout}${check.stderr}`);
  let output = '';
  // One process (no master and workers), so stopping it leaves no worker behind.
  const child: ChildProcess = spawnOwned(tool('nginx'), [...base, '-g', 'daemon off; master_process off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
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
          if (child.exitCode !== null) reject(new Error(`nginx exited: ${output}`));
          const socket = net.connect(port, '127.0.0.1');
          socket.once('connect', () => {
            socket.destroy();
            resolve(true);
          });
          socket.once('error', () => resolve(false));
        }),
      5000,
      'nginx to listen',
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `http://127.0.0.1:${port}`, stop };
}
