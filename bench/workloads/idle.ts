import { clockMs } from '../lib/histogram.js';
import { cpuPercent, round } from '../lib/loadgen.js';
import { serverKinds, type ServerName } from '../lib/servers.js';
import { type Context, type Result, sleep, withServer } from './context.js';

/**
 * Idle connections: N WebSocket connections, each subscribed to a channel of its own, then
 * nothing. Memory per connection is the server's RSS after (settled, after a full GC) minus
 * before, divided by the connections still open; connect rate is connections over the time
 * the load generator needed to open them all.
 */
export async function idle(ctx: Context, name: ServerName): Promise<Result> {
  const settings = ctx.settings.idle;
  const kind = serverKinds[name];
  return withServer(ctx, name, 'idle', async (server, loadgen) => {
    await sleep(500);
    const before = await server.usage(true);
    const l0 = await loadgen.usage();
    const t0 = clockMs();
    const conn = await loadgen.connect({
      kind: kind.wsKind,
      host: server.host,
      port: server.port,
      pathTemplate: kind.wsPath,
      channelMode: 'indexed',
      channel: 'idle-',
      count: settings.connections,
      concurrency: ctx.settings.connectConcurrency,
      localAddresses: ctx.settings.sourceAddresses(settings.connections),
      timeoutMs: 120_000,
    });
    const t1 = clockMs();
    const during = await server.usage();
    const l1 = await loadgen.usage();
    await sleep(settings.settleMs);
    const after = await server.usage(true);
    const progress = await loadgen.progress(0);
    const open = progress.open;
    const result: Result = {
      workload: 'idle',
      server: name,
      requested: settings.requested,
      connections: settings.connections,
      ...(settings.limitedBy ? { limitedBy: settings.limitedBy } : {}),
      connected: conn.connected,
      open,
      connectMs: Math.round(conn.elapsedMs),
      connectPerSec: Math.round(conn.connected / (conn.elapsedMs / 1000)),
      rssBeforeMB: round(before.rss / 2 ** 20, 1),
      rssAfterMB: round(after.rss / 2 ** 20, 1),
      rssPerConnKB: open > 0 ? round((after.rss - before.rss) / open / 1024, 2) : null,
      heapPerConnKB: open > 0 ? round((after.heapUsed - before.heapUsed) / open / 1024, 2) : null,
      serverCpuPctConnecting: cpuPercent(during.cpuMicros - before.cpuMicros, t1 - t0),
      loadgenCpuPctConnecting: cpuPercent(l1.totalMicros - l0.totalMicros, t1 - t0),
    };
    ctx.log(
      `idle ${name}: ${conn.connected}/${settings.connections} connected in ${result.connectMs} ms (${result.connectPerSec}/s), ` +
        `${open} open after ${settings.settleMs} ms, RSS ${result.rssBeforeMB} -> ${result.rssAfterMB} MB = ${result.rssPerConnKB} KB/connection`,
    );
    return result;
  });
}
