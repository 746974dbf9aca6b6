import { clockMs } from '../lib/histogram.js';
import { Loadgen, cpuPercent, round } from '../lib/loadgen.js';
import { processTree, treeUsage, type ProcessUsage } from '../lib/process-tree.js';
import { ServerProcess, serverKinds } from '../lib/servers.js';
import { type Context, type Result, sleep } from './context.js';

const CHANNEL = 'workers-fanout';
/** The whole workload stops (every process killed) after this long. */
const WORKLOAD_LIMIT_MS = 150_000;

/** Waits until every worker of the server reports ready (one process: until it is ready). */
async function ready(server: ServerProcess, workers: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://${server.host}:${server.port}/readyz`);
      const body = (await res.json()) as { workers?: unknown[] };
      if (res.status === 200 && (workers === 1 || body.workers?.length === workers)) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`${workers} workers were not ready within 60 s`);
}

const sum = (usages: ProcessUsage[], key: 'cpuMicros' | 'rss') => usages.reduce((total, u) => total + u[key], 0);

/**
 * Idle memory per connection: idle connections (each on a channel of its own) in two equal
 * batches; the figure is what the second batch added to the RSS of every server process, over its
 * connections. Each process's heap grows its young generation once, early, whatever the load: the
 * first batch pays that (and it is reported too, as the whole delta), so the second shows the cost
 * of one more connection. The connections close again before the fan-out.
 */
async function idleMemory(ctx: Context, server: ServerProcess, pids: number[]): Promise<{ perConnKB: number | null; wholeDeltaPerConnKB: number | null }> {
  const batch = Math.floor(ctx.settings.idle.connections / 2);
  const loadgens = [Loadgen.start(ctx.settings.workers), Loadgen.start(ctx.settings.workers)];
  try {
    await sleep(1000);
    const rss = [sum(treeUsage(pids), 'rss')];
    const open = [0];
    for (const [i, loadgen] of loadgens.entries()) {
      await loadgen.connect({
        kind: 'ws',
        host: server.host,
        port: server.port,
        pathTemplate: serverKinds.switchboard.wsPath,
        channelMode: 'indexed',
        channel: `workers-idle-${i}-`,
        count: batch,
        concurrency: ctx.settings.connectConcurrency,
        localAddresses: ctx.settings.sourceAddresses(batch * 2),
        timeoutMs: 120_000,
      });
      await sleep(ctx.settings.idle.settleMs);
      rss.push(sum(treeUsage(pids), 'rss'));
      open.push(open[i]! + (await loadgen.progress(0)).open);
    }
    const [r0, r1, r2] = rss as [number, number, number];
    const [, o1, o2] = open as [number, number, number];
    ctx.log(`workers idle: ${o2}/${batch * 2} open; RSS ${round(r0 / 2 ** 20, 1)} -> ${round(r1 / 2 ** 20, 1)} -> ${round(r2 / 2 ** 20, 1)} MB`);
    return {
      perConnKB: o2 > o1 ? round((r2 - r1) / (o2 - o1) / 1024, 2) : null,
      wholeDeltaPerConnKB: o2 > 0 ? round((r2 - r0) / o2 / 1024, 2) : null,
    };
  } finally {
    for (const loadgen of loadgens) await loadgen.stop().catch(() => {});
  }
}

/**
 * One configuration: idle memory first, then subscribers connect and publications at a fixed rate fan out to all of them; the CPU of every server process (the
 * primary and each worker) is read from /proc.
 */
async function runConfig(ctx: Context, workers: number, rate: number): Promise<Result> {
  const base: Result = { workload: 'workers-fanout', server: 'switchboard', workers, rate };
  const server = await ServerProcess.start('switchboard', { label: `workers-${workers}`, args: workers > 1 ? ['--workers', String(workers)] : [] });
  const loadgen = Loadgen.start(ctx.settings.workers);
  try {
    await ready(server, workers);
    const pids = processTree(server.child.pid!);
    const idle = await idleMemory(ctx, server, pids);
    const subscribers = ctx.settings.fanout.subscribers;
    const conn = await loadgen.connect({
      kind: 'ws',
      host: server.host,
      port: server.port,
      pathTemplate: serverKinds.switchboard.wsPath,
      channelMode: 'same',
      channel: CHANNEL,
      count: subscribers,
      concurrency: ctx.settings.connectConcurrency,
      localAddresses: [],
      timeoutMs: 60_000,
    });
    if (conn.connected === 0) throw new Error('no subscriber could connect');
    // How the cluster module's round-robin spread the connections over the workers (after a node heartbeat, 2 s).
    await sleep(2500);
    const nodes = ((await (await fetch(`http://${server.host}:${server.port}/api/nodes`)).json()) as { nodes: { id: string; sessions: number }[] }).nodes;
    const sessionsPerWorker = nodes.map((n) => n.sessions).sort((a, b) => b - a);
    ctx.log(`workers-fanout ${workers}: ${conn.connected}/${subscribers} subscribers, per worker ${sessionsPerWorker.join(' + ')}`);

    await loadgen.publisher.call('open', { host: server.host, port: server.port, connections: 32 });
    await loadgen.reset(1);
    const warm = await loadgen.publisher.call<{ accepted: number }>('paced', { rate: 20, durationMs: 1000, channel: CHANNEL }, 30_000);
    await loadgen.drain(warm.accepted, 5000);
    const closedBefore = (await loadgen.progress(0)).closed;

    await loadgen.reset(Math.max(1, Math.floor(subscribers / 300)));
    const s0 = treeUsage(pids);
    const t0 = clockMs();
    const durationMs = ctx.settings.fanout.stepMs;
    const run = await loadgen.publisher.call<{ accepted: number; errors: number; publishMs: number }>('paced', { rate, durationMs, channel: CHANNEL }, durationMs + 30_000);
    let progress = await loadgen.drain(run.accepted, 2000);
    if (progress.deficit > 0) progress = await loadgen.drain(run.accepted, 10_000);
    const { received, latency } = await loadgen.collect();
    const wall = clockMs() - t0;
    const s1 = treeUsage(pids);
    const cpuSeconds = (sum(s1, 'cpuMicros') - sum(s0, 'cpuMicros')) / 1e6;
    const perProcess = s1.map((u) => cpuPercent(u.cpuMicros - (s0.find((v) => v.pid === u.pid)?.cpuMicros ?? 0), wall));
    return {
      ...base,
      subscribers,
      connected: conn.connected,
      sessionsPerWorker,
      idleRssPerConnKB: idle.perConnKB,
      idleRssWholeDeltaPerConnKB: idle.wholeDeltaPerConnKB,
      published: run.accepted,
      publishRate: round(run.accepted / (run.publishMs / 1000), 1),
      publishErrors: run.errors,
      deliveries: received,
      deliveriesPerSec: Math.round(received / (run.publishMs / 1000)),
      lost: progress.deficit,
      closed: progress.closed - closedBefore,
      p50Ms: latency.percentile(50),
      p99Ms: latency.percentile(99),
      serverCpuPct: cpuPercent(cpuSeconds * 1e6, wall),
      // The primary first, then each worker.
      serverCpuPctPerProcess: perProcess,
      deliveriesPerCpuSecond: cpuSeconds > 0 ? Math.round(received / cpuSeconds) : null,
    };
  } catch (err) {
    ctx.log(`workers-fanout ${workers} failed: ${(err as Error).stack ?? err}\n${server.recentOutput.trim()}`);
    return { ...base, error: (err as Error).message };
  } finally {
    await loadgen.stop().catch(() => {});
    await server.stop().catch(() => {});
  }
}

/**
 * Fan-out to the same subscribers through one process and through `--workers 2` (one port, the
 * primary's memory broker), at the same publication rate: deliveries, latency, the CPU of each
 * server process, deliveries per server CPU-second, and idle memory per connection.
 */
export async function workersFanout(ctx: Context, emit: (r: Result) => void): Promise<void> {
  const rate = ctx.settings.quick ? 50 : 100;
  const started = Date.now();
  for (const workers of [1, 2]) {
    if (Date.now() - started > WORKLOAD_LIMIT_MS) {
      emit({ workload: 'workers-fanout', server: 'switchboard', workers, error: 'skipped: workload time limit used up' });
      continue;
    }
    const result = await runConfig(ctx, workers, rate);
    if (!result.error) {
      ctx.log(
        `workers-fanout ${workers}: ${String(result.deliveriesPerSec)} deliveries/s, p99 ${String(result.p99Ms)} ms, lost ${String(result.lost)}, ` +
          `server CPU ${String(result.serverCpuPct)}% (${(result.serverCpuPctPerProcess as number[]).join(' + ')}), ${String(result.deliveriesPerCpuSecond)} deliveries per CPU-second, ` +
          `${String(result.idleRssPerConnKB)} KB per idle connection`,
      );
    }
    emit(result);
  }
}

/** The workers lines as a table: one column per worker count. */
export function workersTable(results: Result[]): string {
  const lines = results.filter((r) => r.workload === 'workers-fanout');
  if (lines.length === 0) return '';
  const rows: [string, (r: Result) => unknown][] = [
    ['workers fan-out: deliveries/s', (r) => r.deliveriesPerSec],
    ['  p50 ms', (r) => r.p50Ms],
    ['  p99 ms', (r) => r.p99Ms],
    ['  lost', (r) => r.lost],
    ['  subscribers per worker', (r) => (r.sessionsPerWorker as number[] | undefined)?.join(' + ')],
    ['  server CPU %', (r) => r.serverCpuPct],
    ['  CPU % per process', (r) => (r.serverCpuPctPerProcess as number[] | undefined)?.join(' + ')],
    ['  deliveries per CPU-second', (r) => r.deliveriesPerCpuSecond],
    ['  idle KB per connection', (r) => r.idleRssPerConnKB],
    ['  idle KB per connection (whole delta)', (r) => r.idleRssWholeDeltaPerConnKB],
  ];
  const header = ['', ...lines.map((r) => `${String(r.workers)} worker${r.workers === 1 ? '' : 's'}`)];
  const body = rows.map(([label, value]) => [label, ...lines.map((r) => (r.error ? (label.startsWith(' ') ? '' : 'error') : String(value(r) ?? '-')))]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
