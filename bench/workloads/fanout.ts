import { clockMs, Histogram } from '../lib/histogram.js';
import { machineBusyPercent, machineCpuTimes } from '../lib/machine.js';
import { cpuPercent, round, type Loadgen } from '../lib/loadgen.js';
import { serverKinds, type ServerName, type ServerProcess } from '../lib/servers.js';
import { type Context, type Result, startPair, timeLeft } from './context.js';

const CHANNEL = 'fanout';

interface Step {
  rate: number;
  ok: boolean;
  reason: string | null;
  published: number;
  publishRate: number;
  deliveries: number;
  deliveriesPerSec: number;
  lost: number;
  duplicates: number;
  closed: number;
  publishErrors: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  requestP99Ms: number | null;
  serverCpuPct: number;
  serverRssMB: number;
  loadgenCpuPct: number;
  loadgenMaxProcessCpuPct: number;
  publisherCpuPct: number;
  machineCpuPct: number | null;
  attempts?: number;
}

async function runStep(ctx: Context, server: ServerProcess, loadgen: Loadgen, rate: number, subscribers: number, closedBefore: number): Promise<Step> {
  const { fanout } = ctx.settings;
  // Sample about 300 subscribers' copy of each publication for latency.
  await loadgen.reset(Math.max(1, Math.floor(subscribers / 300)));
  const s0 = await server.usage();
  const l0 = await loadgen.usage();
  const m0 = machineCpuTimes();
  const t0 = clockMs();
  const pub = await loadgen.publisher.call('paced', { rate, durationMs: fanout.stepMs, channel: CHANNEL }, fanout.stepMs + 30_000);
  let progress = await loadgen.drain(pub.accepted, fanout.drainMs);
  if (progress.deficit > 0 && progress.closed === closedBefore) {
    // Late is not lost: wait longer, so late deliveries count as latency (and the backlog is gone
    // before the next step); only what never arrives counts as loss.
    progress = await loadgen.drain(pub.accepted, 10_000);
  }
  const { received, latency } = await loadgen.collect();
  const t1 = clockMs();
  const s1 = await server.usage();
  const l1 = await loadgen.usage();
  const machineCpuPct = machineBusyPercent(m0, machineCpuTimes());
  const wall = t1 - t0;
  const seconds = pub.publishMs / 1000;
  const p99 = latency.percentile(99);
  const closed = progress.closed - closedBefore;
  let reason: string | null = null;
  if (pub.sent < pub.target * 0.97) reason = `publisher reached only ${Math.round(pub.sent / seconds)}/s (the server answered too slowly)`;
  else if (pub.errors > 0) reason = `${pub.errors} publish requests failed`;
  else if (progress.deficit > 0) reason = `${progress.deficit} deliveries missing`;
  else if (closed > 0) reason = `${closed} subscribers disconnected`;
  else if (p99 === null) reason = 'no latency samples';
  else if (p99 > fanout.maxP99Ms) reason = `p99 ${p99} ms > ${fanout.maxP99Ms} ms`;
  const requests = new Histogram();
  requests.merge(pub.request);
  const perProcess = l1.perProcess.map((v, i) => cpuPercent(v - l0.perProcess[i]!, wall));
  return {
    rate,
    ok: reason === null,
    reason,
    published: pub.accepted,
    publishRate: round(pub.accepted / seconds, 1),
    deliveries: received,
    deliveriesPerSec: Math.round(received / seconds),
    lost: progress.deficit,
    duplicates: progress.excess,
    closed,
    publishErrors: pub.errors,
    p50Ms: latency.percentile(50),
    p99Ms: p99,
    maxMs: latency.count > 0 ? round(latency.max, 1) : null,
    requestP99Ms: requests.percentile(99),
    serverCpuPct: cpuPercent(s1.cpuMicros - s0.cpuMicros, wall),
    serverRssMB: round(s1.rss / 2 ** 20, 1),
    loadgenCpuPct: cpuPercent(l1.totalMicros - l0.totalMicros, wall),
    loadgenMaxProcessCpuPct: Math.max(...perProcess),
    publisherCpuPct: perProcess[perProcess.length - 2]!,
    machineCpuPct,
  };
}

interface Contender {
  name: ServerName;
  server: ServerProcess;
  loadgen: Loadgen;
  base: Result;
  subscribers: number;
  closedBefore: number;
  steps: Step[];
  done: boolean;
}

function summary(c: Contender, stopped: string | null): Result {
  const best = [...c.steps].reverse().find((s) => s.ok);
  const failed = c.steps.find((s) => !s.ok);
  return {
    ...c.base,
    sustainedRate: best?.rate ?? 0,
    deliveriesPerSec: best?.deliveriesPerSec ?? 0,
    p50Ms: best?.p50Ms ?? null,
    p99Ms: best?.p99Ms ?? null,
    maxMs: best?.maxMs ?? null,
    serverCpuPct: best?.serverCpuPct ?? null,
    serverRssMB: best?.serverRssMB ?? null,
    loadgenCpuPct: best?.loadgenCpuPct ?? null,
    loadgenMaxProcessCpuPct: best?.loadgenMaxProcessCpuPct ?? null,
    machineCpuPct: best?.machineCpuPct ?? null,
    limit: failed
      ? {
          rate: failed.rate,
          reason: failed.reason,
          deliveriesPerSec: failed.deliveriesPerSec,
          p99Ms: failed.p99Ms,
          serverCpuPct: failed.serverCpuPct,
          loadgenCpuPct: failed.loadgenCpuPct,
          loadgenMaxProcessCpuPct: failed.loadgenMaxProcessCpuPct,
          machineCpuPct: failed.machineCpuPct,
        }
      : { rate: null, reason: stopped ?? 'every step sustained (raise --steps)' },
    steps: c.steps.map((s) => ({
      rate: s.rate,
      deliveriesPerSec: s.deliveriesPerSec,
      p99Ms: s.p99Ms,
      serverCpuPct: s.serverCpuPct,
      loadgenCpuPct: s.loadgenCpuPct,
      machineCpuPct: s.machineCpuPct,
      lost: s.lost,
      attempts: s.attempts,
      ok: s.ok,
    })),
  };
}

/**
 * Fan-out: N subscribers on one channel, single-publication HTTP requests at stepped rates. The
 * result is the highest step sustained with no loss, no disconnect and p99 within the limit.
 *
 * The servers run side by side: each is started with its own load generator and subscribers, then
 * every rate is run against each server still in the race, one after the other (the order rotates
 * from step to step), so that all of them meet about the same conditions on a shared machine. Only
 * one server is under load at a time; the others' subscribers sit idle.
 */
export async function fanout(ctx: Context, names: ServerName[], transport: 'ws' | 'sse', emit: (r: Result) => void): Promise<void> {
  const { fanout: settings, connectConcurrency } = ctx.settings;
  const workload = transport === 'ws' ? 'fanout' : 'sse-fanout';
  const contenders: Contender[] = [];
  try {
    for (const name of names) {
      const kind = serverKinds[name];
      const path = transport === 'ws' ? kind.wsPath : kind.ssePath;
      if (!path) continue;
      try {
        const { server, loadgen } = await startPair(ctx, name, workload);
        const c: Contender = { name, server, loadgen, base: { workload, server: name, transport }, subscribers: 0, closedBefore: 0, steps: [], done: false };
        contenders.push(c);
        const conn = await loadgen.connect({
          kind: transport === 'ws' ? kind.wsKind : 'sse',
          host: server.host,
          port: server.port,
          tls: kind.tls,
          // Over TLS, SSE subscribers share HTTP/2 connections as browsers do.
          h2: kind.tls === true && transport === 'sse',
          pathTemplate: path,
          channelMode: 'same',
          channel: CHANNEL,
          count: settings.subscribers,
          concurrency: connectConcurrency,
          localAddresses: ctx.settings.sourceAddresses(settings.subscribers),
          timeoutMs: 60_000,
        });
        ctx.log(`${workload} ${name}: ${conn.connected}/${settings.subscribers} subscribers in ${Math.round(conn.elapsedMs)} ms`);
        c.subscribers = conn.connected;
        c.base = { ...c.base, subscribers: settings.subscribers, connected: conn.connected };
        if (conn.connected === 0) throw new Error('no subscriber could connect');
        await loadgen.publisher.call('open', { host: server.host, port: server.port, connections: settings.publishConnections, tls: kind.tls });
        // Warm-up (JIT, buffers): one short slow step, not reported.
        await loadgen.reset(1);
        const warm = await loadgen.publisher.call('paced', { rate: Math.min(20, settings.steps[0] ?? 20), durationMs: 1000, channel: CHANNEL }, 30_000);
        await loadgen.drain(warm.accepted, settings.drainMs);
        c.closedBefore = (await loadgen.progress(0)).closed;
      } catch (err) {
        ctx.log(`${workload} ${name} failed to start: ${(err as Error).stack ?? err}`);
        const c = contenders.find((x) => x.name === name);
        if (c) {
          c.done = true;
          c.base = { ...c.base, error: (err as Error).message };
        } else {
          emit({ workload, server: name, error: (err as Error).message });
        }
      }
    }

    const report = (c: Contender, step: Step, note = '') =>
      ctx.log(
        `${workload} ${c.name}: ${step.rate}/s${note} -> ${step.deliveriesPerSec} deliveries/s, p50 ${step.p50Ms} p99 ${step.p99Ms} max ${step.maxMs} ms, ` +
          `server CPU ${step.serverCpuPct}%, loadgen CPU ${step.loadgenCpuPct}% (max process ${step.loadgenMaxProcessCpuPct}%), machine ${step.machineCpuPct}%` +
          (step.ok ? '' : ` -- not sustained: ${step.reason}`),
      );
    const enough = () => timeLeft(ctx) > settings.stepMs + settings.drainMs + 5_000;
    let stopped: string | null = null;
    for (const [index, rate] of settings.steps.entries()) {
      const racing = contenders.filter((c) => !c.done);
      if (racing.length === 0) break;
      // Rotate who goes first, so no server always runs right after another one's heaviest step.
      const order = racing.map((_, i) => racing[(i + index) % racing.length]!);
      for (const c of order) {
        if (!enough()) {
          stopped = 'time budget used up';
          break;
        }
        try {
          let step = await runStep(ctx, c.server, c.loadgen, rate, c.subscribers, c.closedBefore);
          let attempts = 1;
          c.closedBefore += step.closed;
          report(c, step);
          // Other programs on the machine can spoil one step: when nothing was lost, try it again.
          while (!step.ok && attempts <= settings.retries && step.lost === 0 && step.closed === 0 && step.publishErrors === 0 && enough()) {
            step = await runStep(ctx, c.server, c.loadgen, rate, c.subscribers, c.closedBefore);
            attempts += 1;
            c.closedBefore += step.closed;
            report(c, step, ' (retry)');
          }
          c.steps.push({ ...step, attempts });
          if (!step.ok) c.done = true;
        } catch (err) {
          ctx.log(`${workload} ${c.name} failed at ${rate}/s: ${(err as Error).stack ?? err}`);
          c.done = true;
          c.base = { ...c.base, error: `failed at ${rate}/s: ${(err as Error).message}` };
        }
      }
      if (stopped) break;
    }
    for (const c of contenders) emit(c.base.error ? c.base : summary(c, stopped));
  } finally {
    for (const c of contenders) {
      await c.loadgen.stop().catch(() => {});
      await c.server.stop().catch(() => {});
    }
  }
}
