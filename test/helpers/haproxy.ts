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

const exampleConfig = fileURLToPath(new URL('../../../deploy/haproxy.cfg', import.meta.url));

/** deploy/haproxy.cfg as shipped, with the bind line and the servers replaced by local ones. */
export function localHaproxyConfig(port: number, nodes: NodeProcess[]): string {
  const lines: string[] = [];
  for (const line of readFileSync(exampleConfig, 'utf8').split('\n')) {
    const trimmed = line.trim();
    if (trimmed.startsWith('bind ')) lines.push(`    bind 127.0.0.1:${port}`);
    else if (trimmed.startsWith('server ')) continue;
    else {
      lines.push(line);
      if (trimmed.startsWith('default-server ')) nodes.forEach((node, i) => lines.push(`    server node${i + 1} 127.0.0.1:${node.port}`));
    }
  }
  const text = lines.join('\n');
  assert.ok(text.includes('server node1 127.0.0.1:'), 'the example has a default-server line to put the servers after');
  return text;
}

export type Haproxy = LoadBalancer;

/** HAProxy with the example config in front of the nodes, on a free port; resolves once it listens. */
export async function startHaproxy(nodes: NodeProcess[]): Promise<Haproxy> {
  const port = await freePort();
  const dir = ownedTempDir('switchboard-haproxy-');
  const config = join(dir, 'haproxy.cfg');
  writeFileSync(config, localHaproxyConfig(port, nodes));
  const check = spawnSync(tool('haproxy'), ['-c', '-f', config], { encoding: 'utf8' });
  assert.equal(check.status, 0, `haproxy -c: ${check.stdout}${check.stderr}`);
  return runLoadBalancer('haproxy', tool('haproxy'), ['-db', '-f', config], port, dir);
}
