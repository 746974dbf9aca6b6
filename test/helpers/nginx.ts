import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NodeProcess } from './node.js';
import { ownedTempDir } from './processes.js';
import { runLoadBalancer, type LoadBalancer } from './proxy-process.js';
import { freePort } from './services.js';
import { tool } from './tools.js';

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

export type Nginx = LoadBalancer;

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
  // One process (no master and workers), so stopping it leaves no worker behind.
  return runLoadBalancer('nginx', tool('nginx'), [...base, '-g', 'daemon off; master_process off;'], port, dir);
}
