import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { isRunning, spawnTracked, waitExit } from '../lib/children.js';
import { Loadgen, round } from '../lib/loadgen.js';
import { canConnect, freePort, ServerProcess, serverKinds } from '../lib/servers.js';
import { type Context, type Result } from './context.js';

const CHANNEL = 'cluster-fanout';
/** The same moderate rate for every configuration: this measures the broker hop, not throughput. */
const RATE = 100;
/** The whole workload stops (every process killed) after this long. */
const WORKLOAD_LIMIT_MS = 90_000;

export type ClusterConfig = 'memory-single' | 'redis' | 'nats';
export const clusterConfigs: readonly ClusterConfig[] = ['memory-single', 'redis', 'nats'];

export interface Broker {
  /** Switchboard flags that point a node at the broker. */
  flags: string[];
  stop(): Promise<void>;
}

/** Starts redis-server or nats-server (JetStream) on a free loopback port, with no persistence kept. */
export async function startBroker(type: 'redis' | 'nats'): Promise<Broker> {
  const port = await freePort();
  const dir = type === 'nats' ? mkdtempSync(join(os.tmpdir(), 'sb-bench-nats-')) : null;
  const [command, args, flags] =
    type === 'redis'
      ? [
          'redis-server',
          ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
          ['--broker.type', 'redis', '--broker.redis.url', `redis://127.0.0.1:${port}`],
        ]
      : ['nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir!], ['--broker.type', 'nats', '--broker.nats.servers', `nats://127.0.0.1:${port}`]];
  let output = '';
  let spawnError: Error | null = null;
  const child: ChildProcess = spawnTracked(command, args as string[], { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-2000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('error', (err) => {
    spawnError = err;
  });
  const stop = async () => {
    if (isRunning(child) && child.pid !== undefined) {
      child.kill('SIGTERM');
      await waitExit(child, 5_000);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  while (!(await canConnect('127.0.0.1', port))) {
    const failed: Error | null = spawnError;
    if (failed || !isRunning(child) || Date.now() > deadline) {
      await stop();
      if (failed) throw Object.assign(new Error(`${command} could not start: ${(failed as Error).message}`), { notInstalled: (failed as NodeJS.ErrnoException).code === 'ENOENT' });
      throw new Error(`${command} ${isRunning(child) ? 'did not listen within 15 s' : 'exited while starting'}: ${output.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { flags: flags as string[], stop };
}

interface Measured {
  subscribers: number;
  connected: number;
  published: number;
  publishRate: number;
  publishErrors: number;
  deliveries: number;
  lost: number;
  duplicates: number;
  closed: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

/** Subscribers on `sub`, paced publications to `pub` (the same node for the single-node baseline). */
async function measure(ctx: Context, label: string, pub: ServerProcess, sub: ServerProcess, loadgen: Loadgen): Promise<Measured> {
  const subscribers = ctx.settings.quick ? 300 : 1000;
  const durationMs = ctx.settings.quick ? 2000 : 4000;
  const conn = await loadgen.connect({
    kind: 'ws',
    host: sub.host,
    port: sub.port,
    pathTemplate: serverKinds.switchboard.wsPath,
    channelMode: 'same',
    channel: CHANNEL,
    count: subscribers,
    concurrency: ctx.settings.connectConcurrency,
    localAddresses: [],
    timeoutMs: 30_000,
  });
  ctx.log(`cluster-fanout ${label}: ${conn.connected}/${subscribers} subscribers in ${Math.round(conn.elapsedMs)} ms`);
  if (conn.connected === 0) throw new Error('no subscriber could connect');
  await loadgen.publisher.call('open', { host: pub.host, port: pub.port, connections: 16 });
  // Warm-up (JIT, the broker subscription of the receiving node), not reported.
  await loadgen.reset(1);
  const warm = await loadgen.publisher.call<{ accepted: number }>('paced', { rate: 20, durationMs: 1000, channel: CHANNEL }, 30_000);
  await loadgen.drain(warm.accepted, 3000);
  const closedBefore = (await loadgen.progress(0)).closed;

  await loadgen.reset(Math.max(1, Math.floor(subscribers / 300)));
  const run = await loadgen.publisher.call<{ accepted: number; errors: number; publishMs: number }>('paced', { rate: RATE, durationMs, channel: CHANNEL }, durationMs + 30_000);
  let progress = await loadgen.drain(run.accepted, 2000);
  // Late is not lost: wait a little longer so late deliveries count as latency.
  if (progress.deficit > 0) progress = await loadgen.drain(run.accepted, 5000);
  const { received, latency } = await loadgen.collect();
  return {
    subscribers,
    connected: conn.connected,
    published: run.accepted,
    publishRate: round(run.accepted / (run.publishMs / 1000), 1),
    publishErrors: run.errors,
    deliveries: received,
    lost: progress.deficit,
    duplicates: progress.excess,
    closed: progress.closed - closedBefore,
    p50Ms: latency.percentile(50),
    p99Ms: latency.percentile(99),
    maxMs: latency.count > 0 ? round(latency.max, 1) : null,
  };
}

/** One configuration: the broker (if any), one or two nodes, a load generator; all stopped at the end. */
async function runConfig(ctx: Context, config: ClusterConfig, stops: (() => Promise<void>)[]): Promise<Result> {
  const base: Result = { workload: 'cluster-fanout', server: 'switchboard', broker: config, nodes: config === 'memory-single' ? 1 : 2, rate: RATE };
  const local: (() => Promise<void>)[] = [];
  const track = (stop: () => Promise<void>) => {
    local.unshift(stop);
    stops.unshift(stop);
  };
  try {
    let flags: string[] = [];
    if (config !== 'memory-single') {
      const broker = await startBroker(config);
      track(broker.stop);
      flags = broker.flags;
    }
    const nodeA = await ServerProcess.start('switchboard', { label: `cluster-${config}-a`, args: flags });
    track(() => nodeA.stop());
    let nodeB = nodeA;
    if (config !== 'memory-single') {
      nodeB = await ServerProcess.start('switchboard', { label: `cluster-${config}-b`, args: flags });
      track(() => nodeB.stop());
    }
    const loadgen = Loadgen.start(ctx.settings.workers);
    track(() => loadgen.stop());
    try {
      return { ...base, ...(await measure(ctx, config, nodeA, nodeB, loadgen)) };
    } catch (err) {
      for (const node of new Set([nodeA, nodeB])) {
        const output = node.recentOutput.trim();
        if (output) ctx.log(`cluster-fanout ${config} node output before the failure:\n${output}`);
      }
      throw err;
    }
  } catch (err) {
    // A machine without the broker installed skips that line rather than failing the run.
    if ((err as { notInstalled?: boolean }).notInstalled) {
      ctx.log(`cluster-fanout ${config} skipped: ${(err as Error).message}`);
      return { ...base, skipped: (err as Error).message };
    }
    ctx.log(`cluster-fanout ${config} failed: ${(err as Error).stack ?? err}`);
    return { ...base, error: (err as Error).message };
  } finally {
    for (const stop of local) {
      await stop().catch(() => {});
      const i = stops.indexOf(stop);
      if (i !== -1) stops.splice(i, 1);
    }
  }
}

/**
 * Cluster fan-out: subscribers on node B, publications over HTTP to node A, through Redis and through
 * NATS; the baseline is one memory-broker node that takes both. Each line reports the delivery
 * latency and, as addedP50Ms/addedP99Ms, what the broker hop adds to the single-node figures.
 */
export async function clusterFanout(ctx: Context, emit: (r: Result) => void): Promise<void> {
  const stops: (() => Promise<void>)[] = [];
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`cluster-fanout stopped after ${WORKLOAD_LIMIT_MS / 1000} s`)), WORKLOAD_LIMIT_MS);
  });
  const emitted = new Set<ClusterConfig>();
  let aborted = false;
  try {
    await Promise.race([
      expired,
      (async () => {
        let baseline: Result | null = null;
        for (const config of clusterConfigs) {
          if (aborted) return;
          const result = await runConfig(ctx, config, stops);
          if (config === 'memory-single') baseline = result;
          const added = (key: 'p50Ms' | 'p99Ms') => {
            const a = result[key];
            const b = baseline?.[key];
            return typeof a === 'number' && typeof b === 'number' && !result.error && !result.skipped ? round(a - b, 2) : null;
          };
          const line: Result = { ...result, addedP50Ms: added('p50Ms'), addedP99Ms: added('p99Ms') };
          if (!line.error && !line.skipped) {
            ctx.log(
              `cluster-fanout ${config}: p50 ${line.p50Ms} p99 ${line.p99Ms} max ${line.maxMs} ms (added p50 ${line.addedP50Ms} p99 ${line.addedP99Ms}), ` +
                `${line.deliveries} deliveries, lost ${line.lost}`,
            );
          }
          if (aborted) return;
          emitted.add(config);
          emit(line);
        }
      })(),
    ]);
  } catch (err) {
    aborted = true;
    ctx.log(`cluster-fanout: ${(err as Error).message}`);
    for (const config of clusterConfigs) if (!emitted.has(config)) emit({ workload: 'cluster-fanout', server: 'switchboard', broker: config, error: (err as Error).message });
  } finally {
    clearTimeout(timer);
    for (const stop of [...stops]) await stop().catch(() => {});
  }
}

/** The cluster lines as a table: one column per configuration. */
export function clusterTable(results: Result[]): string {
  const lines = results.filter((r) => r.workload === 'cluster-fanout');
  if (lines.length === 0) return '';
  const rows: [string, string][] = [
    ['cluster fan-out (2 nodes): p50 ms', 'p50Ms'],
    ['  p99 ms', 'p99Ms'],
    ['  max ms', 'maxMs'],
    ['  added p50 ms (vs single node)', 'addedP50Ms'],
    ['  added p99 ms (vs single node)', 'addedP99Ms'],
    ['  deliveries', 'deliveries'],
    ['  lost', 'lost'],
    ['  publish errors', 'publishErrors'],
  ];
  const header = ['', ...lines.map((r) => String(r.broker))];
  const body = rows.map(([label, key]) => [
    label,
    ...lines.map((r) => (r.error || r.skipped ? (label.startsWith(' ') ? '' : r.error ? 'error' : 'skipped') : String(r[key] ?? '-'))),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const notes = lines.filter((r) => r.error || r.skipped).map((r) => `  cluster-fanout ${String(r.broker)}: ${String(r.error ?? r.skipped)}`);
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line), ...(notes.length > 0 ? ['', 'Not measured:', ...notes] : [])].join('\n');
}
