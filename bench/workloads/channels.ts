import { clockMs, Histogram } from '../lib/histogram.js';
import { cpuPercent, round, type Loadgen, type Progress } from '../lib/loadgen.js';
import { machineBusyPercent, machineCpuTimes } from '../lib/machine.js';
import { serverKinds, type ServerName, type ServerProcess } from '../lib/servers.js';
import { type Context, type Result, startPair, timeLeft } from './context.js';

const PREFIX = 'mc-';

interface Side {
  name: ServerName;
  server: ServerProcess;
  loadgen: Loadgen;
  connected: number;
  last: Progress;
  /** Per mode: the round reported so far, and every round's publications/s. */
  best: Map<string, Result>;
  rounds: Map<string, number[]>;
  error?: string;
}

function flood(side: Side, n: number, durationMs: number, batch: number) {
  return side.loadgen.publisher.call('flood', { durationMs, channelPrefix: PREFIX, channels: n, batch }, durationMs + 30_000);
}

/** One round of one mode against one server. */
async function measure(ctx: Context, side: Side, batch: number, base: Result): Promise<Result> {
  const settings = ctx.settings.channels;
  const { server, loadgen } = side;
  const closedBefore = side.last.closed;
  await loadgen.reset(4);
  const s0 = await server.usage();
  const l0 = await loadgen.usage();
  const m0 = machineCpuTimes();
  const t0 = clockMs();
  const pub = await flood(side, settings.channels, settings.durationMs, batch);
  side.last = await loadgen.drain(pub.perChannel, settings.drainMs);
  const { received, latency } = await loadgen.collect();
  const t1 = clockMs();
  const s1 = await server.usage();
  const l1 = await loadgen.usage();
  const machineCpuPct = machineBusyPercent(m0, machineCpuTimes());
  const wall = t1 - t0;
  const seconds = pub.publishMs / 1000;
  const requests = new Histogram();
  requests.merge(pub.request);
  const perProcess = l1.perProcess.map((v, i) => cpuPercent(v - l0.perProcess[i]!, wall));
  const result: Result = {
    ...base,
    requestsPerSec: Math.round(pub.requests / seconds),
    publishedPerSec: Math.round(pub.accepted / seconds),
    deliveredPerSec: Math.round(received / seconds),
    published: pub.accepted,
    delivered: received,
    publishErrors: pub.errors,
    lost: side.last.deficit,
    duplicates: side.last.excess,
    closed: side.last.closed - closedBefore,
    p50Ms: latency.percentile(50),
    p99Ms: latency.percentile(99),
    maxMs: latency.count > 0 ? round(latency.max, 1) : null,
    requestP50Ms: requests.percentile(50),
    requestP99Ms: requests.percentile(99),
    serverCpuPct: cpuPercent(s1.cpuMicros - s0.cpuMicros, wall),
    serverRssMB: round(s1.rss / 2 ** 20, 1),
    loadgenCpuPct: cpuPercent(l1.totalMicros - l0.totalMicros, wall),
    loadgenMaxProcessCpuPct: Math.max(...perProcess),
    publisherCpuPct: perProcess[perProcess.length - 2]!,
    machineCpuPct,
  };
  return result;
}

/**
 * Many channels: one subscriber on each of N channels; HTTP publishes round-robin over the channels
 * as fast as the server answers, first one publication per request, then batches. Like fan-out, the
 * servers run side by side: each round of each mode is run against every server in turn (the order
 * rotating), and the fastest round without loss is reported.
 */
export async function channels(ctx: Context, names: ServerName[], emit: (r: Result) => void): Promise<void> {
  const settings = ctx.settings.channels;
  const n = settings.channels;
  const modes = [
    ['channels-single', 1],
    ['channels-batch', settings.batch],
  ] as const;
  const sides: Side[] = [];
  const fail = (name: ServerName, err: unknown) => {
    ctx.log(`channels ${name} failed: ${(err as Error).stack ?? err}`);
    for (const [workload] of modes) emit({ workload, server: name, error: (err as Error).message });
  };
  try {
    for (const name of names) {
      let started: { server: ServerProcess; loadgen: Loadgen } | undefined;
      try {
        started = await startPair(ctx, name, 'channels');
        const { server, loadgen } = started;
        const kind = serverKinds[name];
        const conn = await loadgen.connect({
          kind: kind.wsKind,
          host: server.host,
          port: server.port,
          pathTemplate: kind.wsPath,
          channelMode: 'indexed',
          channel: PREFIX,
          count: n,
          concurrency: ctx.settings.connectConcurrency,
          localAddresses: ctx.settings.sourceAddresses(n),
          timeoutMs: 60_000,
        });
        ctx.log(`channels ${name}: ${conn.connected}/${n} subscribers in ${Math.round(conn.elapsedMs)} ms`);
        await loadgen.publisher.call('open', { host: server.host, port: server.port, connections: settings.publishConnections });
        const side: Side = { name, server, loadgen, connected: conn.connected, last: await loadgen.progress(0), best: new Map(), rounds: new Map() };
        sides.push(side);
        // Warm-up, not reported. Counters are reset first so each drain waits for its own publications.
        for (const [, batch] of modes) {
          await loadgen.reset(4);
          const warm = await flood(side, n, batch === 1 ? 1000 : 500, batch);
          side.last = await loadgen.drain(warm.perChannel, settings.drainMs);
        }
      } catch (err) {
        if (started && !sides.some((s) => s.server === started!.server)) {
          await started.loadgen.stop().catch(() => {});
          await started.server.stop().catch(() => {});
        }
        const side = sides.find((s) => s.name === name);
        if (side) side.error = (err as Error).message;
        fail(name, err);
      }
    }

    for (const [workload, batch] of modes) {
      for (let attempt = 0; attempt < settings.rounds; attempt++) {
        const racing = sides.filter((s) => !s.error);
        const order = racing.map((_, i) => racing[(i + attempt) % racing.length]!);
        for (const side of order) {
          if (timeLeft(ctx) < settings.durationMs + settings.drainMs + 5_000) break;
          const base: Result = { workload, server: side.name, channels: n, connected: side.connected, batch, publishConnections: settings.publishConnections };
          try {
            const result = await measure(ctx, side, batch, base);
            ctx.log(
              `${workload} ${side.name} round ${attempt + 1}: ${result.requestsPerSec} requests/s, ${result.publishedPerSec} published/s, ` +
                `${result.deliveredPerSec} delivered/s, lost ${result.lost}, p99 ${result.p99Ms} ms, server CPU ${result.serverCpuPct}%, ` +
                `publisher CPU ${result.publisherCpuPct}%, machine ${result.machineCpuPct}%`,
            );
            const rounds = side.rounds.get(workload) ?? [];
            rounds.push(result.publishedPerSec as number);
            side.rounds.set(workload, rounds);
            const best = side.best.get(workload);
            // Loss in any round is reported; otherwise the faster round stands.
            if (!best || (result.lost as number) > 0 || ((best.lost as number) === 0 && (result.publishedPerSec as number) > (best.publishedPerSec as number))) {
              side.best.set(workload, result);
            }
          } catch (err) {
            side.error = (err as Error).message;
            fail(side.name, err);
          }
        }
      }
    }
    for (const side of sides) {
      if (side.error) continue;
      for (const [workload] of modes) {
        const best = side.best.get(workload);
        emit(best ? { ...best, rounds: side.rounds.get(workload) } : { workload, server: side.name, error: 'skipped: time budget used up' });
      }
    }
  } finally {
    for (const side of sides) {
      await side.loadgen.stop().catch(() => {});
      await side.server.stop().catch(() => {});
    }
  }
}
