import WebSocket from 'ws';
import { clockMs } from '../lib/histogram.js';
import { cpuPercent, Loadgen, round } from '../lib/loadgen.js';
import { ServerProcess, serverKinds } from '../lib/servers.js';
import { type Context, type Result, sleep } from './context.js';

/** How often the console's pages poll the paged session and channel lists. */
const POLL_MS = 2000;
const consoleKey = 'bench-console-key';

interface Run {
  cpuPct: number;
  connected: number;
  pollMs: number[];
  statsMessages: number;
}

/**
 * The node's CPU cost of serving the admin console: the same node with N connections on M
 * channels is measured twice in one run, once without the console, once with admin.enabled, a
 * console session subscribed to $admin:stats and $admin:sessions, and the first pages of the
 * session and channel lists polled every 2 s. Reports both CPU figures and their ratio.
 */
export async function consoleCost(ctx: Context): Promise<Result> {
  const connections = ctx.settings.quick ? 2000 : 10_000;
  const channels = ctx.settings.quick ? 200 : 1000;
  const windowMs = ctx.settings.quick ? 6000 : 12_000;
  ctx.log(`console: ${connections} connections on ${channels} channels, ${windowMs} ms without the console, then with it`);
  const without = await measure(ctx, false, connections, channels, windowMs);
  const withConsole = await measure(ctx, true, connections, channels, windowMs);
  const sorted = [...withConsole.pollMs].sort((a, b) => a - b);
  return {
    workload: 'console',
    server: 'switchboard',
    connections,
    channels,
    windowMs,
    connectedWithout: without.connected,
    connectedWith: withConsole.connected,
    cpuPctWithout: without.cpuPct,
    cpuPctWith: withConsole.cpuPct,
    consoleCpuPct: round(withConsole.cpuPct - without.cpuPct, 2),
    cpuRatio: round(withConsole.cpuPct / Math.max(without.cpuPct, 0.1), 2),
    polls: sorted.length,
    pollP50Ms: round(sorted[Math.floor(sorted.length / 2)] ?? 0, 1),
    pollMaxMs: round(sorted.at(-1) ?? 0, 1),
    statsMessages: withConsole.statsMessages,
  };
}

async function measure(ctx: Context, withConsole: boolean, connections: number, channels: number, windowMs: number): Promise<Run> {
  const args = withConsole ? ['--admin.enabled', 'true', '--api.keys', consoleKey, '--admin.sampleInterval', '5s'] : [];
  const server = await ServerProcess.start('switchboard', { label: withConsole ? 'console-on' : 'console-off', profileDir: ctx.settings.profileDir, args });
  const loadgen = Loadgen.start(ctx.settings.workers);
  let feed: WebSocket | undefined;
  try {
    let connected = 0;
    // Connection ids repeat every `channels` connections: each channel gets connections / channels subscribers.
    for (let done = 0; done < connections; done += channels) {
      const batch = await loadgen.connect({
        kind: 'ws',
        host: server.host,
        port: server.port,
        pathTemplate: serverKinds.switchboard.wsPath,
        channelMode: 'indexed',
        channel: 'console-',
        count: Math.min(channels, connections - done),
        concurrency: ctx.settings.connectConcurrency,
        localAddresses: ctx.settings.sourceAddresses(connections),
        timeoutMs: 60_000,
      });
      connected += batch.connected;
    }
    await sleep(1000);
    const base = `http://${server.host}:${server.port}`;
    let statsMessages = 0;
    if (withConsole) {
      feed = await signIn(`ws://${server.host}:${server.port}/ws?auth=frame`);
      feed.on('message', (raw) => {
        if (raw.toString().includes('"$admin:stats"')) statsMessages += 1;
      });
      feed.send(
        JSON.stringify([
          { type: 'subscribe', channel: '$admin:stats' },
          { type: 'subscribe', channel: '$admin:sessions' },
        ]),
      );
    }
    const pollMs: number[] = [];
    const before = await server.usage();
    const t0 = clockMs();
    while (clockMs() - t0 < windowMs) {
      const tick = clockMs();
      if (withConsole) {
        for (const path of ['/api/sessions?limit=100', '/api/channels?limit=100']) {
          const started = clockMs();
          const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${consoleKey}` } });
          await res.arrayBuffer();
          if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}`);
          pollMs.push(clockMs() - started);
        }
      }
      await sleep(Math.max(0, POLL_MS - (clockMs() - tick)));
    }
    const after = await server.usage();
    const cpuPct = cpuPercent(after.cpuMicros - before.cpuMicros, clockMs() - t0);
    ctx.log(`console ${withConsole ? 'on' : 'off'}: ${connected} connected, server CPU ${cpuPct}%`);
    return { cpuPct, connected, pollMs, statsMessages };
  } finally {
    feed?.terminate();
    await loadgen.stop().catch(() => {});
    await server.stop().catch(() => {});
  }
}

function signIn(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('error', reject);
    ws.once('open', () => ws.send(JSON.stringify({ type: 'connect', token: consoleKey })));
    ws.on('message', function welcome(raw) {
      if (!raw.toString().includes('"welcome"')) return;
      ws.off('message', welcome);
      resolve(ws);
    });
  });
}

/** The console line of the report. */
export function consoleTable(results: Result[]): string {
  const r = results.find((x) => x.workload === 'console');
  if (!r) return '';
  if (r.error) return `console: not measured (${String(r.error)})`;
  return [
    `console (${String(r.connections)} connections on ${String(r.channels)} channels, ${String(r.windowMs)} ms)   server CPU`,
    `  without the console   ${String(r.cpuPctWithout)}% of a core`,
    `  with the console      ${String(r.cpuPctWith)}% of a core ($admin:stats and $admin:sessions followed, session and channel pages polled every 2 s)`,
    `  cost ${String(r.consoleCpuPct)} points of a core, ratio ${String(r.cpuRatio)}x; page polls p50 ${String(r.pollP50Ms)} ms, max ${String(r.pollMaxMs)} ms`,
  ].join('\n');
}
