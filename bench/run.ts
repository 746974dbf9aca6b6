/**
 * `npm run bench`: runs the workloads of docs/benchmarks.md against a Switchboard process and the
 * peers (a bare `ws` server, Socket.IO 4), each in a process of its own, with the load generator in
 * separate worker processes. Prints one JSON line per workload x server, then a table of ratios.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { killAll } from './lib/children.js';
import { repoRoot, serverKinds, serverNames, useBaseline, type ServerName } from './lib/servers.js';
import { table } from './report.js';
import { channels } from './workloads/channels.js';
import { clusterFanout, clusterTable } from './workloads/cluster-fanout.js';
import type { Context, Result, Settings } from './workloads/context.js';
import { fanout } from './workloads/fanout.js';
import { idle } from './workloads/idle.js';
import { routing, routingTable } from './workloads/routing.js';
import { gateway, gatewayTable } from './workloads/gateway.js';
import { topicStores, topics, topicsTable } from './workloads/topics.js';
import { workersFanout, workersTable } from './workloads/workers.js';
import { consoleCost, consoleTable } from './workloads/console.js';

const workloadNames = ['fanout', 'sse', 'channels', 'idle', 'cluster', 'workers', 'routing', 'gateway', 'topics', 'console'] as const;
type WorkloadName = (typeof workloadNames)[number];
/** What runs without --only: the console's cost (two nodes of 10,000 connections each) only when asked for. */
const defaultWorkloads = workloadNames.filter((w) => w !== 'console');

const usage = `Usage: npm run bench -- [options]   (or: node dist/bench/run.js [options])

  --quick                 smaller counts and shorter steps (about two minutes)
  --only=LIST             workloads to run: ${workloadNames.join(',')} (default: all but console)
  --servers=LIST          servers to run: ${serverNames.join(',')} (default: all; switchboard-baseline only with --baseline)
  --baseline=DIR          switchboard-baseline is the Switchboard built in the checkout DIR: two versions compared in one run
  --profile               start the Switchboard server with --cpu-prof; profiles go to bench-results/profiles/
  --workers=N             subscriber worker processes (default 2)
  --subscribers=N         fan-out subscribers (default 5000, quick 1000)
  --steps=LIST            fan-out publication rates per second, e.g. 10,50,100,200
  --step-seconds=S        length of each fan-out step (default 3, quick 1.5)
  --channels=N            channels (one subscriber each) of the many-channels workload (default 1000, quick 200)
  --idle=N                idle connections (default 20000, quick 2000; capped by the open-files limit)
  --source-addresses=N    spread connections over N loopback source addresses 127.0.0.2... (default: only above 25000)
  --retries=N             run a fan-out step again up to N times when it failed on latency or rate alone (default 2)
  --rounds=N              many-channels rounds per mode, the best is reported (default 2, quick 1)
  --budget-seconds=S      stop starting new steps after S seconds (default 420, quick 150)

Results: JSON lines on stdout and in bench-results/latest.jsonl; progress on stderr.`;

function parseFlags(argv: string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    const eq = arg.indexOf('=');
    flags.set(eq === -1 ? arg.slice(2) : arg.slice(2, eq), eq === -1 ? 'true' : arg.slice(eq + 1));
  }
  return flags;
}

function list<T extends string>(value: string | undefined, allowed: readonly T[], what: string): T[] {
  if (value === undefined) return [...allowed];
  const items = value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
  for (const item of items) if (!allowed.includes(item as T)) throw new Error(`unknown ${what} ${item}; one of ${allowed.join(', ')}`);
  return items as T[];
}

function int(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} needs a non-negative number`);
  return n;
}

/** The hard open-files limit (Node raises its soft limit to it at start), or Infinity if unknown. */
function openFilesLimit(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const hard = line?.trim().split(/\s+/)[4];
    if (hard === 'unlimited') return Infinity;
    if (hard) return Number(hard);
  } catch {
    // not Linux
  }
  return Infinity;
}

function settingsFrom(flags: Map<string, string>, started: number): Settings {
  const quick = flags.has('quick');
  const steps = flags.get('steps')?.split(',').map(Number) ?? (quick ? [20, 50, 100, 200, 400, 800, 1600, 3200] : [10, 20, 50, 100, 200, 300, 400, 600, 800, 1200, 1600, 2400]);
  if (steps.some((s) => !(s > 0))) throw new Error('--steps needs positive rates');
  const requestedIdle = int(flags.get('idle'), quick ? 2000 : 20_000, 'idle');
  // The server holds one descriptor per connection plus its own few dozen.
  const fdCap = openFilesLimit() - 200;
  const idleConnections = Math.min(requestedIdle, fdCap);
  const explicitSources = int(flags.get('source-addresses'), 0, 'source-addresses');
  return {
    quick,
    workers: Math.max(1, int(flags.get('workers'), 2, 'workers')),
    fanout: {
      subscribers: int(flags.get('subscribers'), quick ? 1000 : 5000, 'subscribers'),
      steps,
      stepMs: int(flags.get('step-seconds'), quick ? 1.5 : 3, 'step-seconds') * 1000,
      drainMs: 2000,
      maxP99Ms: 200,
      publishConnections: 128,
      retries: int(flags.get('retries'), 2, 'retries'),
    },
    channels: {
      channels: int(flags.get('channels'), quick ? 200 : 1000, 'channels'),
      durationMs: quick ? 2000 : 4000,
      batch: 100,
      drainMs: 3000,
      publishConnections: 16,
      rounds: Math.max(1, int(flags.get('rounds'), quick ? 1 : 2, 'rounds')),
    },
    idle: {
      requested: requestedIdle,
      connections: idleConnections,
      settleMs: quick ? 1000 : 2000,
      limitedBy: idleConnections < requestedIdle ? `open files limit ${fdCap + 200} per process` : null,
    },
    connectConcurrency: 256,
    sourceAddresses: (connections) => {
      const n = explicitSources > 0 ? explicitSources : connections > 25_000 ? Math.ceil(connections / 20_000) : 0;
      return Array.from({ length: Math.min(n, 250) }, (_, i) => `127.0.0.${i + 2}`);
    },
    profileDir: flags.has('profile') ? join(repoRoot, 'bench-results', 'profiles') : undefined,
    deadline: started + int(flags.get('budget-seconds'), quick ? 150 : 420, 'budget-seconds') * 1000,
  };
}

async function main(): Promise<number> {
  const started = Date.now();
  let flags: Map<string, string>;
  let settings: Settings;
  let only: WorkloadName[];
  let servers: ServerName[];
  try {
    flags = parseFlags(process.argv.slice(2));
    if (flags.has('help')) {
      process.stdout.write(`${usage}\n`);
      return 0;
    }
    settings = settingsFrom(flags, started);
    only = flags.has('only') ? list(flags.get('only'), workloadNames, 'workload') : defaultWorkloads;
    const baseline = flags.get('baseline');
    if (baseline !== undefined) useBaseline(baseline);
    servers = list(flags.get('servers'), serverNames, 'server').filter((s) => baseline !== undefined || flags.has('servers') || s !== 'switchboard-baseline');
    if (servers.includes('switchboard-baseline') && baseline === undefined) throw new Error('switchboard-baseline needs --baseline=DIR');
    const known = new Set([
      'quick',
      'only',
      'servers',
      'baseline',
      'profile',
      'workers',
      'subscribers',
      'steps',
      'step-seconds',
      'channels',
      'idle',
      'source-addresses',
      'budget-seconds',
      'retries',
      'rounds',
      'help',
    ]);
    for (const name of flags.keys()) if (!known.has(name)) throw new Error(`unknown option --${name}`);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${usage}\n`);
    return 2;
  }

  // Whatever happens, the benchmark ends: a watchdog well past the budget kills everything.
  setTimeout(
    () => {
      process.stderr.write('bench: watchdog expired, stopping every child process\n');
      killAll();
      process.exit(3);
    },
    settings.deadline - started + 180_000,
  ).unref();

  const log = (message: string) => process.stderr.write(`[bench +${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`);
  const ctx: Context = { settings, log };
  const outDir = join(repoRoot, 'bench-results');
  mkdirSync(outDir, { recursive: true });
  const outFile = join(outDir, 'latest.jsonl');
  writeFileSync(outFile, '');
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? '',
    loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
    quick: settings.quick,
    workers: settings.workers,
    fanoutSubscribers: settings.fanout.subscribers,
    idleConnections: settings.idle.connections,
  };
  writeFileSync(join(outDir, 'latest-meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
  log(`node ${meta.node}, ${meta.cpus} CPUs, load average ${meta.loadAverageAtStart.join(' ')}; ${settings.quick ? 'quick' : 'full'} run`);
  if (settings.idle.limitedBy && only.includes('idle')) {
    log(`idle: ${settings.idle.connections} connections instead of ${settings.idle.requested} (${settings.idle.limitedBy})`);
  }
  if (!existsSync(join(repoRoot, 'dist', 'src', 'cli.js'))) log('dist/src/cli.js is missing: run npm run build first');

  const results: Result[] = [];
  const emit = (result: Result) => {
    results.push(result);
    const line = JSON.stringify(result);
    process.stdout.write(`${line}\n`);
    appendFileSync(outFile, `${line}\n`);
  };

  // The TLS and GraphQL servers are for the fan-out workloads only.
  const plainServers = servers.filter((s) => !serverKinds[s].fanoutOnly);
  for (const workload of only) {
    if (workload === 'fanout' || workload === 'sse') {
      // The fan-out servers run side by side, step by step (see workloads/fanout.ts).
      const names = servers.filter((s) => workload === 'fanout' || serverKinds[s].ssePath);
      const label = workload === 'sse' ? 'sse-fanout' : 'fanout';
      if (names.length === 0) continue;
      if (Date.now() > settings.deadline - 15_000) {
        for (const server of names) emit({ workload: label, server, error: 'skipped: time budget used up' });
        continue;
      }
      log(`${label} against ${names.join(', ')}`);
      const before = results.length;
      try {
        await fanout(ctx, names, workload === 'fanout' ? 'ws' : 'sse', emit);
      } catch (err) {
        log(`${label} failed: ${(err as Error).stack ?? err}`);
      }
      const reported = new Set(results.slice(before).map((r) => r.server));
      for (const server of names) if (!reported.has(server)) emit({ workload: label, server, error: 'no result' });
      continue;
    }
    if (workload === 'channels') {
      // Side by side too, round by round (see workloads/channels.ts).
      const labels = ['channels-single', 'channels-batch'];
      if (Date.now() > settings.deadline - 15_000) {
        for (const server of plainServers) for (const label of labels) emit({ workload: label, server, error: 'skipped: time budget used up' });
        continue;
      }
      log(`channels against ${plainServers.join(', ')}`);
      const before = results.length;
      try {
        await channels(ctx, plainServers, emit);
      } catch (err) {
        log(`channels failed: ${(err as Error).stack ?? err}`);
      }
      const reported = new Set(results.slice(before).map((r) => `${r.workload} ${r.server}`));
      for (const server of plainServers) for (const label of labels) if (!reported.has(`${label} ${server}`)) emit({ workload: label, server, error: 'no result' });
      continue;
    }
    if (workload === 'routing') {
      // Switchboard only: routed client messages against direct calls to the same backend (see workloads/routing.ts).
      if (!plainServers.includes('switchboard')) continue;
      if (Date.now() > settings.deadline - 15_000) {
        emit({ workload: 'routing', server: 'switchboard', error: 'skipped: time budget used up' });
        continue;
      }
      try {
        emit(await routing(ctx));
      } catch (err) {
        log(`routing failed: ${(err as Error).stack ?? err}`);
        emit({ workload: 'routing', server: 'switchboard', error: (err as Error).message });
      }
      continue;
    }
    if (workload === 'gateway') {
      // Switchboard only: proxied requests against direct calls and HAProxy on the same upstream (see workloads/gateway.ts).
      if (!plainServers.includes('switchboard')) continue;
      if (Date.now() > settings.deadline - 15_000) {
        emit({ workload: 'gateway', server: 'switchboard', error: 'skipped: time budget used up' });
        continue;
      }
      try {
        emit(await gateway(ctx));
      } catch (err) {
        log(`gateway failed: ${(err as Error).stack ?? err}`);
        emit({ workload: 'gateway', server: 'switchboard', error: (err as Error).message });
      }
      continue;
    }
    if (workload === 'topics') {
      // Switchboard only: durable topics on one node, per store (see workloads/topics.ts).
      if (!plainServers.includes('switchboard')) continue;
      for (const store of topicStores) {
        if (Date.now() > settings.deadline - 15_000) {
          emit({ workload: 'topics', server: 'switchboard', store, error: 'skipped: time budget used up' });
          continue;
        }
        try {
          emit(await topics(ctx, store));
        } catch (err) {
          log(`topics (${store}) failed: ${(err as Error).stack ?? err}`);
          emit({ workload: 'topics', server: 'switchboard', store, error: (err as Error).message });
        }
      }
      continue;
    }
    if (workload === 'console') {
      // Switchboard only: the same node without and with the admin console (see workloads/console.ts).
      if (!plainServers.includes('switchboard')) continue;
      try {
        emit(await consoleCost(ctx));
      } catch (err) {
        log(`console failed: ${(err as Error).stack ?? err}`);
        emit({ workload: 'console', server: 'switchboard', error: (err as Error).message });
      }
      continue;
    }
    if (workload === 'workers') {
      // Switchboard only: one process against `serve --workers 2` on one port (see workloads/workers.ts).
      if (!servers.includes('switchboard')) continue;
      if (Date.now() > settings.deadline - 15_000) {
        emit({ workload: 'workers-fanout', server: 'switchboard', error: 'skipped: time budget used up' });
        continue;
      }
      log('workers-fanout: 1 worker against 2 workers on one port');
      await workersFanout(ctx, emit);
      continue;
    }
    if (workload === 'cluster') {
      // Switchboard only: 2 nodes through Redis and through NATS against 1 node (see workloads/cluster-fanout.ts).
      if (!plainServers.includes('switchboard')) continue;
      if (Date.now() > settings.deadline - 15_000) {
        emit({ workload: 'cluster-fanout', server: 'switchboard', error: 'skipped: time budget used up' });
        continue;
      }
      log('cluster-fanout: 2 nodes through redis and nats, against 1 node');
      await clusterFanout(ctx, emit);
      continue;
    }
    for (const server of plainServers) {
      if (Date.now() > settings.deadline - 15_000) {
        emit({ workload, server, error: 'skipped: time budget used up' });
        continue;
      }
      log(`${workload} against ${server}`);
      try {
        emit(await idle(ctx, server));
      } catch (err) {
        log(`${workload} against ${server} failed: ${(err as Error).stack ?? err}`);
        emit({ workload, server, error: (err as Error).message });
      }
    }
  }

  if (
    results.some(
      (r) =>
        r.workload !== 'cluster-fanout' &&
        r.workload !== 'workers-fanout' &&
        r.workload !== 'routing' &&
        r.workload !== 'gateway' &&
        r.workload !== 'topics' &&
        r.workload !== 'console',
    )
  )
    process.stdout.write(`\n${table(results)}\n`);
  const routed = routingTable(results);
  if (routed) process.stdout.write(`\n${routed}\n`);
  const proxied = gatewayTable(results);
  if (proxied) process.stdout.write(`\n${proxied}\n`);
  const durable = topicsTable(results);
  if (durable) process.stdout.write(`\n${durable}\n`);
  const cluster = clusterTable(results);
  if (cluster) process.stdout.write(`\n${cluster}\n`);
  const consoleLine = consoleTable(results);
  if (consoleLine) process.stdout.write(`\n${consoleLine}\n`);
  const perWorkers = workersTable(results);
  if (perWorkers) process.stdout.write(`\n${perWorkers}\n`);
  log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s; results in bench-results/latest.jsonl`);
  if (settings.profileDir) log(`CPU profiles in bench-results/profiles/ (summarise with: node dist/bench/profile-top.js bench-results/profiles)`);
  return results.some((r) => r.error) ? 1 : 0;
}

process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    process.stderr.write(`bench: ${signal}, stopping every child process\n`);
    killAll();
    process.exit(130);
  });
}

main().then(
  (code) => {
    killAll();
    process.exit(code);
  },
  (err) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? err}\n`);
    killAll();
    process.exit(1);
  },
);
