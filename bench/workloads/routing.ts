import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import WebSocket from 'ws';
import { forkTracked, isRunning, waitExit } from '../lib/children.js';
import { closedLoop } from '../lib/closed-loop.js';
import { round } from '../lib/loadgen.js';
import { canConnect, freePort, ServerProcess } from '../lib/servers.js';
import { type Context, type Result } from './context.js';

/** Requests in flight at once, in both modes: WebSocket clients with one send each, or HTTP requests. */
const CONCURRENCY = 64;

/** A message of about the size of a chat line with its envelope. */
const payload = { action: 'chat', room: 'lobby', text: 'hello from the routing benchmark' };

/**
 * Routed client messages against direct HTTP calls to the same backend: WebSocket clients send
 * `send` frames with ids and wait for each reply, and the same number of HTTP clients POST an
 * envelope-sized body straight to the backend. Reports rates, p50/p99 and the latency routing adds.
 */
export async function routing(ctx: Context): Promise<Result> {
  const durationMs = ctx.settings.quick ? 3000 : 6000;
  const backendPort = await freePort();
  const backend = forkTracked(fileURLToPath(new URL('../peers/echo-backend.js', import.meta.url)), ['--port', String(backendPort)], { stdio: 'ignore' });
  let server: ServerProcess | undefined;
  const clients: WebSocket[] = [];
  const pool = new Pool(`http://127.0.0.1:${backendPort}`, { connections: CONCURRENCY });
  try {
    while (!(await canConnect('127.0.0.1', backendPort))) {
      if (!isRunning(backend)) throw new Error('the echo backend exited while starting');
      await new Promise((r) => setTimeout(r, 50));
    }
    server = await ServerProcess.start('switchboard', {
      label: 'routing',
      profileDir: ctx.settings.profileDir,
      args: [
        '--routing.backends',
        JSON.stringify({ echo: { url: `http://127.0.0.1:${backendPort}/`, connections: CONCURRENCY } }),
        '--routing.routes',
        JSON.stringify([{ key: '$default', backend: 'echo' }]),
        '--limits.clientMessagesPerSecond',
        '1000000000',
        '--limits.clientMessagesBurst',
        '1000000000',
      ],
    });
    const envelope = JSON.stringify({
      id: '0b6f5b0e-3c1f-4a51-9d7e-2f1b8f0f3a11',
      kind: 'send',
      route: 'r',
      data: payload,
      session: '0b6f5b0e-3c1f-4a51-9d7e-2f1b8f0f3a11',
      user: 'u',
      context: {},
      transport: 'ws',
      node: 'n',
      time: Date.now(),
      attempt: 1,
    });
    ctx.log(`routing: direct HTTP calls to the backend, ${CONCURRENCY} in flight, ${durationMs} ms`);
    await closedLoop(500, CONCURRENCY, () => post(pool, envelope));
    const direct = await closedLoop(durationMs, CONCURRENCY, () => post(pool, envelope));

    for (let i = 0; i < CONCURRENCY; i++) clients.push(await open(`ws://127.0.0.1:${server.port}/ws`));
    const waiting = clients.map(() => new Map<number, (ok: boolean) => void>());
    clients.forEach((ws, i) =>
      ws.on('message', (raw) => {
        const frame = JSON.parse(raw.toString()) as { type: string; id?: number; error?: unknown };
        if (frame.type !== 'reply' || frame.id === undefined) return;
        waiting[i]!.get(frame.id)?.(frame.error === undefined);
        waiting[i]!.delete(frame.id);
      }),
    );
    let nextId = 0;
    const send = (i: number) =>
      new Promise<number>((resolve) => {
        const id = ++nextId;
        waiting[i]!.set(id, (ok) => resolve(ok ? 1 : 0));
        clients[i]!.send(JSON.stringify({ type: 'send', id, data: payload }));
      });
    ctx.log(`routing: the same calls as client messages through Switchboard, ${CONCURRENCY} WebSocket clients`);
    await closedLoop(500, CONCURRENCY, send);
    const routed = await closedLoop(durationMs, CONCURRENCY, send);
    const usage = await server.usage();
    const added = (a: number | null, b: number | null) => (a === null || b === null ? null : round(a - b, 2));
    return {
      workload: 'routing',
      server: 'switchboard',
      concurrency: CONCURRENCY,
      routedPerSecond: routed.perSecond,
      routedP50Ms: routed.p50Ms,
      routedP99Ms: routed.p99Ms,
      routedErrors: routed.errors,
      directPerSecond: direct.perSecond,
      directP50Ms: direct.p50Ms,
      directP99Ms: direct.p99Ms,
      directErrors: direct.errors,
      addedP50Ms: added(routed.p50Ms, direct.p50Ms),
      addedP99Ms: added(routed.p99Ms, direct.p99Ms),
      rateRatio: round(routed.perSecond / Math.max(1, direct.perSecond), 2),
      serverRssMb: round(usage.rss / 1048576, 1),
    };
  } finally {
    for (const ws of clients) ws.terminate();
    await pool.close();
    await server?.stop();
    if (isRunning(backend)) {
      backend.kill('SIGTERM');
      await waitExit(backend, 5000);
    }
  }
}

async function post(pool: Pool, body: string): Promise<number> {
  const res = await pool.request({ path: '/', method: 'POST', headers: { 'content-type': 'application/json' }, body });
  await res.body.text();
  return res.statusCode === 200 ? 1 : 0;
}

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** The routing line of the report: routed against direct, with the ratio and the added latency. */
export function routingTable(results: Result[]): string {
  const r = results.find((x) => x.workload === 'routing');
  if (!r) return '';
  if (r.error) return `routing: not measured (${String(r.error)})`;
  const rows: [string, string, string][] = [
    ['requests/s', String(r.routedPerSecond), String(r.directPerSecond)],
    ['p50 ms', String(r.routedP50Ms), String(r.directP50Ms)],
    ['p99 ms', String(r.routedP99Ms), String(r.directP99Ms)],
    ['errors', String(r.routedErrors), String(r.directErrors)],
  ];
  const lines = [
    `routing (${String(r.concurrency)} in flight)   routed via Switchboard   direct HTTP`,
    ...rows.map(([label, a, b]) => `  ${label.padEnd(22)}${a.padStart(22)}${b.padStart(14)}`),
    `  routed/direct rate ${String(r.rateRatio)}x; added latency p50 ${String(r.addedP50Ms)} ms, p99 ${String(r.addedP99Ms)} ms`,
  ];
  return lines.join('\n');
}
