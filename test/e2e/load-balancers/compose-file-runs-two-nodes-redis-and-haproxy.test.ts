import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { runCli } from '../../helpers/cli.js';
import { connectSse, connectWs } from '../../helpers/clients.js';
import { killAll, startSharedBroker, type SharedBroker } from '../../helpers/cluster.js';
import { startHaproxy, type Haproxy } from '../../helpers/haproxy.js';
import { cliPath, get, post, startProcess, type NodeProcess } from '../../helpers/node.js';
import { requireTool } from '../../helpers/tools.js';
import { waitUntil } from '../../helpers/wait.js';

/**
 * deploy/compose.yaml and deploy/Dockerfile, checked without a container runtime: the compose
 * nodes run the image's command (`switchboard serve`) with settings `config print` accepts and the
 * HAProxy e2e test runs (Redis as broker); those commands, started here with the compose
 * environment against a test Redis, serve WebSocket and SSE clients through HAProxy with the
 * shipped deploy/haproxy.cfg, which the compose file mounts and whose servers are the compose
 * nodes' addresses; the image's health check asks /readyz.
 */
const deploy = (name: string) => fileURLToPath(new URL(`../../../../deploy/${name}`, import.meta.url));
const apiKey = 'compose-test-key-0123456789';

/** Compose's variable interpolation: ${NAME}, ${NAME:-default}, ${NAME:?error}. */
function interpolate(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_, name: string, op?: string, arg?: string) => {
    const value = vars[name];
    if (value) return value;
    if (op === '-') return arg!;
    throw new Error(`compose variable ${name} is not set: ${arg ?? ''}`);
  });
}

interface ComposeService {
  build?: { context: string; dockerfile: string };
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  networks?: Record<string, { ipv4_address?: string }> | string[];
}

const compose = parseYaml(interpolate(readFileSync(deploy('compose.yaml'), 'utf8'), { SWITCHBOARD_API_KEYS: apiKey }), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const nodeServices = Object.entries(compose.services).filter(([, service]) => service.build);

/** Dockerfile instructions by name, each with its arguments (continuation lines joined). */
function dockerfile(): Map<string, string[]> {
  const instructions = new Map<string, string[]>();
  const text = readFileSync(deploy('Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  for (const line of text.split('\n')) {
    const found = /^([A-Z]+)\s+(.*)$/.exec(line.trim());
    if (found) instructions.set(found[1]!, [...(instructions.get(found[1]!) ?? []), found[2]!]);
  }
  return instructions;
}

/** The Dockerfile's instruction of the final stage (the last one of its kind). */
const last = (name: string) => dockerfile().get(name)?.at(-1) ?? '';

describe('deploy/compose.yaml: two nodes, Redis and HAProxy', () => {
  it('builds two nodes from deploy/Dockerfile, beside Redis and HAProxy', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), ['haproxy', 'node1', 'node2', 'redis']);
    assert.deepEqual(
      nodeServices.map(([name]) => name),
      ['node1', 'node2'],
    );
    for (const [, service] of nodeServices) assert.deepEqual(service.build, { context: '..', dockerfile: 'deploy/Dockerfile' });
  });

  it('runs the image as an unprivileged user, node as PID 1 with `switchboard serve`, with a health check on /readyz', () => {
    assert.ok(!['', 'root', '0'].includes(last('USER')), `USER ${last('USER')}`);
    const entrypoint = JSON.parse(last('ENTRYPOINT')) as string[];
    assert.deepEqual(entrypoint, ['node', 'dist/src/cli.js']);
    assert.ok(cliPath.endsWith('/dist/src/cli.js'), 'the image runs the CLI the tests run');
    assert.deepEqual(JSON.parse(last('CMD')), ['serve']);
    for (const [, service] of nodeServices) assert.deepEqual(service.command, ['serve']);
    assert.match(last('HEALTHCHECK'), /\/readyz/);
    // Only production dependencies in the final stage.
    assert.ok(
      dockerfile()
        .get('RUN')!
        .some((run) => run.includes('npm ci --omit=dev')),
    );
  });

  it('gives each node settings that `switchboard config print` accepts: Redis as the broker, as in the HAProxy e2e test', async () => {
    for (const [name, service] of nodeServices) {
      const result = await runCli(['config', 'print'], service.environment!);
      assert.equal(result.code, 0, `${name}: ${result.stderr}`);
      const printed = parseYaml(result.stdout);
      assert.equal(printed.broker.type, 'redis');
      assert.equal(printed.broker.redis.url, 'redis://redis:6379');
      assert.equal(printed.server.port, 8080);
      assert.deepEqual(printed.api.keys, ['********'], `${name} needs an API key`);
    }
  });

  it('mounts the shipped deploy/haproxy.cfg, whose servers are the two nodes and whose bind port is published', () => {
    const haproxy = compose.services.haproxy!;
    assert.ok(haproxy.volumes?.includes('./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro'), `volumes ${haproxy.volumes}`);
    const cfg = readFileSync(deploy('haproxy.cfg'), 'utf8');
    const servers = [...cfg.matchAll(/^\s*server\s+\S+\s+(\S+)/gm)].map((m) => m[1]);
    for (const [name, service] of nodeServices) {
      const address = Object.values(service.networks as Record<string, { ipv4_address?: string }>)[0]?.ipv4_address;
      assert.ok(servers.includes(`${address}:${service.environment!.SWITCHBOARD_SERVER_PORT}`), `${name} at ${address} is not among ${servers.join(', ')}`);
    }
    const bindPort = /^\s*bind\s+\S*:(\d+)/m.exec(cfg)![1];
    assert.ok(
      haproxy.ports?.some((p) => p.endsWith(`:${bindPort}`)),
      `ports ${haproxy.ports} publish ${bindPort}`,
    );
  });

  describe('its nodes, run here with the compose environment against a test Redis', { skip: requireTool('redis-server') }, () => {
    let broker: SharedBroker | undefined;
    let nodes: NodeProcess[] = [];
    let haproxy: Haproxy | undefined;
    const open: { close(): void }[] = [];

    before(async () => {
      broker = await startSharedBroker('redis');
      // Only the addresses differ: the test Redis instead of redis:6379, free loopback ports instead of 8080.
      nodes = await Promise.all(nodeServices.map(([, service]) => startProcess([], { ...service.environment!, SWITCHBOARD_BROKER_REDIS_URL: broker!.service.url })));
      // Each node reports itself every cluster.heartbeatInterval (2 s by default).
      const listed = async (node: NodeProcess) => (await get(`${node.url}/api/nodes`, { authorization: `Bearer ${apiKey}` })).body?.nodes?.length;
      await waitUntil(async () => (await Promise.all(nodes.map(listed))).every((count) => count === 2), 15_000, 'both nodes to list each other');
    });
    after(async () => {
      for (const client of open) client.close();
      await haproxy?.stop();
      killAll(nodes);
      await broker?.service.stop();
    });

    it("pass the image's health check while ready, and fail it where no node answers", () => {
      const healthcheck = JSON.parse(last('HEALTHCHECK').replace(/^.*?CMD\s+/, '')) as string[];
      assert.equal(healthcheck[0], 'node');
      const check = (port: number) => spawnSync(process.execPath, healthcheck.slice(1), { env: { ...process.env, SWITCHBOARD_SERVER_PORT: String(port) }, timeout: 10_000 }).status;
      for (const node of nodes) assert.equal(check(node.port), 0);
      assert.equal(check(1), 1);
    });

    it('serve WebSocket and SSE clients through HAProxy with the shipped config', { skip: requireTool('haproxy') }, async () => {
      haproxy = await startHaproxy(nodes);
      const ws = await connectWs(`${haproxy.url.replace('http', 'ws')}/ws?channels=compose`);
      open.push(ws);
      await ws.next((f) => f.type === 'subscribed');
      const sse = await connectSse(`${haproxy.url}/sse?channels=compose`);
      open.push(sse);
      await sse.next((e) => e.event === 'subscribed');
      assert.equal((await post(`${haproxy.url}/api/publish`, { channel: 'compose', data: 'x' })).status, 401, 'the API needs the key');
      const res = await post(`${haproxy.url}/api/publish`, { channel: 'compose', data: 'through compose' }, { authorization: `Bearer ${apiKey}` });
      assert.equal(res.status, 200);
      assert.deepEqual(await ws.next((f) => f.type === 'message'), { type: 'message', channel: 'compose', data: 'through compose' });
      assert.deepEqual(JSON.parse((await sse.next((e) => e.event === 'message')).data), { channel: 'compose', data: 'through compose' });
    });

    it('drain on SIGTERM and exit 0, as `docker stop` asks them to', async () => {
      const node = nodes.at(-1)!;
      node.child.kill('SIGTERM');
      assert.deepEqual(await node.exited, { code: 0, signal: null });
    });
  });
});
