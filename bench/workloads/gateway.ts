import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { forkTracked, isRunning, waitExit } from '../lib/children.js';
import { closedLoop, type LoopResult } from '../lib/closed-loop.js';
import { round } from '../lib/loadgen.js';
import { canConnect, freePort, ServerProcess } from '../lib/servers.js';
import type { Context, Result } from './context.js';

/** Requests in flight at once, in every mode. */
const CONCURRENCY = 64;

const body = JSON.stringify({ id: 'gateway-bench', text: 'a small JSON request of the size of an API call' });

/** POSTs the body from `concurrency` loops over one keep-alive pool for `ms`. */
function postLoop(pool: Pool, path: string, ms: number, concurrency: number): Promise<LoopResult> {
  return closedLoop(ms, concurrency, async () => {
    const res = await pool.request({ path, method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await res.body.text();
    return res.statusCode === 200 ? 1 : 0;
  });
}

async function waitForPort(port: number, alive: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await canConnect('127.0.0.1', port))) {
    if (!alive()) throw new Error(`${what} exited while starting`);
    if (Date.now() > deadline) throw new Error(`${what} did not listen within 10 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Debian's haproxy in HTTP mode with keep-alive to the upstream, as a reverse proxy would run. */
function haproxyConfig(port: number, upstreamPort: number): string {
  return [
    'global',
    '    maxconn 4096',
    'defaults',
    '    mode http',
    '    timeout connect 5s',
    '    timeout client 30s',
    '    timeout server 30s',
    '    option forwardfor',
    'frontend bench',
    `    bind 127.0.0.1:${port}`,
    '    default_backend upstream',
    'backend upstream',
    '    http-reuse always',
    `    server up 127.0.0.1:${upstreamPort}`,
    '',
  ].join('\n');
}

/**
 * Proxied HTTP requests: the same small POST sent straight to an upstream, through Switchboard's
 * gateway (a route to a configured service) and through HAProxy in front of the same upstream, in
 * the same run. Reports each one's rate and latency, the latency each proxy adds over the direct
 * call, and Switchboard's rate as a share of HAProxy's.
 */
export async function gateway(ctx: Context): Promise<Result> {
  const durationMs = ctx.settings.quick ? 3000 : 6000;
  const upstreamPort = await freePort();
  const upstream = forkTracked(fileURLToPath(new URL('../peers/echo-backend.js', import.meta.url)), ['--port', String(upstreamPort)], { stdio: 'ignore' });
  let server: ServerProcess | undefined;
  let haproxy: ChildProcess | undefined;
  let dir: string | undefined;
  const pools: Pool[] = [];
  const poolFor = (port: number) => {
    const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CONCURRENCY });
    pools.push(pool);
    return pool;
  };
  /** Throughput under load (CONCURRENCY in flight), then latency alone (one request at a time). */
  const measure = async (label: string, pool: Pool, path: string) => {
    ctx.log(`gateway: ${label}, ${CONCURRENCY} in flight, ${durationMs} ms, then one at a time`);
    await postLoop(pool, path, 500, CONCURRENCY);
    const loaded = await postLoop(pool, path, durationMs, CONCURRENCY);
    const single = await postLoop(pool, path, durationMs / 3, 1);
    return { ...loaded, singleP50Ms: single.p50Ms, singleP99Ms: single.p99Ms };
  };
  try {
    await waitForPort(upstreamPort, () => isRunning(upstream), 'the upstream');
    server = await ServerProcess.start('switchboard', {
      label: 'gateway',
      profileDir: ctx.settings.profileDir,
      args: [
        '--gateway.enabled',
        'true',
        '--gateway.upstream.connections',
        String(CONCURRENCY),
        '--gateway.services',
        JSON.stringify({ upstream: { instances: [`http://127.0.0.1:${upstreamPort}`] } }),
        '--gateway.routes',
        JSON.stringify([{ name: 'bench', service: 'upstream', path: '/bench', stripPrefix: true }]),
      ],
    });
    const direct = await measure('direct calls to the upstream', poolFor(upstreamPort), '/');
    const viaGateway = await measure('through the Switchboard gateway', poolFor(server.port), '/bench');
    let viaHaproxy: Awaited<ReturnType<typeof measure>> | undefined;
    if (spawnSync('haproxy', ['-v'], { stdio: 'ignore' }).status === 0) {
      const port = await freePort();
      dir = mkdtempSync(join(tmpdir(), 'switchboard-bench-haproxy-'));
      writeFileSync(join(dir, 'haproxy.cfg'), haproxyConfig(port, upstreamPort));
      const child = spawn('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: 'ignore' });
      haproxy = child;
      await waitForPort(port, () => child.exitCode === null, 'haproxy');
      viaHaproxy = await measure('through HAProxy', poolFor(port), '/');
    } else {
      ctx.log('gateway: haproxy is not installed; its side is left out');
    }
    const usage = await server.usage();
    const added = (a: number | null | undefined, b: number | null) => (a == null || b === null ? null : round(a - b, 3));
    return {
      workload: 'gateway',
      server: 'switchboard',
      concurrency: CONCURRENCY,
      directPerSecond: direct.perSecond,
      directP50Ms: direct.p50Ms,
      directP99Ms: direct.p99Ms,
      gatewayPerSecond: viaGateway.perSecond,
      gatewayP50Ms: viaGateway.p50Ms,
      gatewayP99Ms: viaGateway.p99Ms,
      gatewayErrors: viaGateway.errors,
      gatewayAddedP50Ms: added(viaGateway.p50Ms, direct.p50Ms),
      gatewayAddedP99Ms: added(viaGateway.p99Ms, direct.p99Ms),
      haproxyPerSecond: viaHaproxy?.perSecond ?? null,
      haproxyP50Ms: viaHaproxy?.p50Ms ?? null,
      haproxyP99Ms: viaHaproxy?.p99Ms ?? null,
      haproxyErrors: viaHaproxy?.errors ?? null,
      haproxyAddedP50Ms: added(viaHaproxy?.p50Ms, direct.p50Ms),
      haproxyAddedP99Ms: added(viaHaproxy?.p99Ms, direct.p99Ms),
      gatewayToHaproxyRate: viaHaproxy ? round(viaGateway.perSecond / Math.max(1, viaHaproxy.perSecond), 2) : null,
      singleDirectP50Ms: direct.singleP50Ms,
      singleDirectP99Ms: direct.singleP99Ms,
      singleGatewayP50Ms: viaGateway.singleP50Ms,
      singleGatewayP99Ms: viaGateway.singleP99Ms,
      singleGatewayAddedP50Ms: added(viaGateway.singleP50Ms, direct.singleP50Ms),
      singleGatewayAddedP99Ms: added(viaGateway.singleP99Ms, direct.singleP99Ms),
      singleHaproxyP50Ms: viaHaproxy?.singleP50Ms ?? null,
      singleHaproxyP99Ms: viaHaproxy?.singleP99Ms ?? null,
      singleHaproxyAddedP50Ms: added(viaHaproxy?.singleP50Ms, direct.singleP50Ms),
      singleHaproxyAddedP99Ms: added(viaHaproxy?.singleP99Ms, direct.singleP99Ms),
      serverRssMb: round(usage.rss / 1048576, 1),
    };
  } finally {
    await Promise.all(pools.map((p) => p.close()));
    await server?.stop();
    if (haproxy && haproxy.exitCode === null) {
      const exited = new Promise((resolve) => haproxy!.once('exit', resolve));
      haproxy.kill('SIGTERM');
      await exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (isRunning(upstream)) {
      upstream.kill('SIGTERM');
      await waitExit(upstream, 5000);
    }
  }
}

/** The gateway lines of the report: direct, through Switchboard and through HAProxy, side by side. */
export function gatewayTable(results: Result[]): string {
  const r = results.find((x) => x.workload === 'gateway');
  if (!r) return '';
  if (r.error) return `gateway: not measured (${String(r.error)})`;
  const rows: [string, unknown, unknown, unknown][] = [
    ['requests/s', r.directPerSecond, r.gatewayPerSecond, r.haproxyPerSecond],
    ['p50 ms', r.directP50Ms, r.gatewayP50Ms, r.haproxyP50Ms],
    ['p99 ms', r.directP99Ms, r.gatewayP99Ms, r.haproxyP99Ms],
    ['added p50 ms', '', r.gatewayAddedP50Ms, r.haproxyAddedP50Ms],
    ['added p99 ms', '', r.gatewayAddedP99Ms, r.haproxyAddedP99Ms],
    ['1 in flight: p50 ms', r.singleDirectP50Ms, r.singleGatewayP50Ms, r.singleHaproxyP50Ms],
    ['1 in flight: p99 ms', r.singleDirectP99Ms, r.singleGatewayP99Ms, r.singleHaproxyP99Ms],
    ['1 in flight: added p50', '', r.singleGatewayAddedP50Ms, r.singleHaproxyAddedP50Ms],
    ['1 in flight: added p99', '', r.singleGatewayAddedP99Ms, r.singleHaproxyAddedP99Ms],
  ];
  return [
    `gateway (${String(r.concurrency)} in flight)        direct   Switchboard       HAProxy`,
    ...rows.map(([label, a, b, c]) => `  ${label.padEnd(22)}${String(a ?? '-').padStart(12)}${String(b ?? '-').padStart(14)}${String(c ?? '-').padStart(14)}`),
    `  Switchboard/HAProxy rate ${String(r.gatewayToHaproxyRate ?? '-')}x`,
  ].join('\n');
}
