import { Loadgen } from '../lib/loadgen.js';
import { ServerProcess, type ServerName } from '../lib/servers.js';

export interface Settings {
  quick: boolean;
  /** Subscriber worker processes. */
  workers: number;
  fanout: {
    subscribers: number;
    /** Publications per second, one step each, stopping at the first step that is not sustained. */
    steps: number[];
    stepMs: number;
    drainMs: number;
    maxP99Ms: number;
    publishConnections: number;
    /** A step that failed on latency or publish rate alone (nothing lost) is run again this many times. */
    retries: number;
  };
  channels: {
    channels: number;
    durationMs: number;
    batch: number;
    drainMs: number;
    publishConnections: number;
    /** Each mode runs this many times; the fastest round without loss is reported. */
    rounds: number;
  };
  idle: { connections: number; requested: number; settleMs: number; limitedBy: string | null };
  /** Handshakes in flight across all workers while connecting. */
  connectConcurrency: number;
  /** Loopback source addresses to spread connections over ([] lets the kernel choose). */
  sourceAddresses: (connections: number) => string[];
  profileDir: string | undefined;
  /** Date.now() after which no new step or workload starts. */
  deadline: number;
}

export type Result = { workload: string; server: ServerName } & Record<string, unknown>;

export interface Context {
  settings: Settings;
  log(message: string): void;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function timeLeft(ctx: Context): number {
  return ctx.settings.deadline - Date.now();
}

/** Starts a server under test and a load generator of its own. */
export async function startPair(ctx: Context, name: ServerName, label: string): Promise<{ server: ServerProcess; loadgen: Loadgen }> {
  const profileDir = name === 'switchboard' || name === 'switchboard-graphql' ? ctx.settings.profileDir : undefined;
  const server = await ServerProcess.start(name, { profileDir, label });
  return { server, loadgen: Loadgen.start(ctx.settings.workers) };
}

/** Starts the server and a fresh load generator, runs fn, and stops both whatever happens. */
export async function withServer<T>(ctx: Context, name: ServerName, label: string, fn: (server: ServerProcess, loadgen: Loadgen) => Promise<T>): Promise<T> {
  const { server, loadgen } = await startPair(ctx, name, label);
  try {
    return await fn(server, loadgen);
  } catch (err) {
    const output = server.recentOutput.trim();
    if (output) ctx.log(`${name} output before the failure:\n${output}`);
    throw err;
  } finally {
    await loadgen.stop().catch(() => {});
    await server.stop().catch(() => {});
  }
}
