import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { forkTracked, waitExit } from './children.js';
import { Histogram, type SparseHistogram } from './histogram.js';
import { Rpc } from './ipc.js';

const here = (rel: string) => fileURLToPath(new URL(rel, import.meta.url));

export interface ConnectSpec {
  kind: 'ws' | 'sio' | 'sse' | 'gql';
  host: string;
  port: number;
  /** Over TLS (wss, https). */
  tls?: boolean;
  /** SSE over HTTP/2 streams. */
  h2?: boolean;
  pathTemplate: string;
  channelMode: 'same' | 'indexed';
  channel: string;
  count: number;
  /** Handshakes in flight across all workers. */
  concurrency: number;
  localAddresses: string[];
  timeoutMs: number;
}

export interface Progress {
  received: number;
  deficit: number;
  excess: number;
  closed: number;
  open: number;
}

export interface LoadgenUsage {
  /** CPU microseconds of every load generator process (subscribers, publisher, this orchestrator). */
  totalMicros: number;
  perProcess: number[];
}

/** The load generator: subscriber worker processes and one publisher process. */
export class Loadgen {
  private constructor(
    readonly subscribers: Rpc[],
    readonly publisher: Rpc,
    private readonly children: ChildProcess[],
  ) {}

  static start(workers: number): Loadgen {
    const options = { execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] as ('ignore' | 'inherit' | 'ipc')[] };
    const children: ChildProcess[] = [];
    const subscribers = Array.from({ length: workers }, (_, i) => {
      const child = forkTracked(here('../loadgen/subscriber.js'), [], options);
      children.push(child);
      return new Rpc(child, `subscriber worker ${i}`);
    });
    const pubChild = forkTracked(here('../loadgen/publisher.js'), [], options);
    children.push(pubChild);
    return new Loadgen(subscribers, new Rpc(pubChild, 'publisher'), children);
  }

  /** Opens spec.count connections spread over the workers; ids 0..count-1. */
  async connect(spec: ConnectSpec): Promise<{ connected: number; failed: number; elapsedMs: number }> {
    const n = this.subscribers.length;
    const per = Math.ceil(spec.count / n);
    const results = await Promise.all(
      this.subscribers.map((rpc, i) => {
        const firstId = i * per;
        const count = Math.max(0, Math.min(per, spec.count - firstId));
        return rpc.call<{ connected: number; failed: number; elapsedMs: number }>(
          'connect',
          { ...spec, firstId, count, concurrency: Math.max(1, Math.ceil(spec.concurrency / n)) },
          spec.timeoutMs + 20_000,
        );
      }),
    );
    return {
      connected: results.reduce((a, r) => a + r.connected, 0),
      failed: results.reduce((a, r) => a + r.failed, 0),
      elapsedMs: Math.max(...results.map((r) => r.elapsedMs)),
    };
  }

  async reset(sampleEvery: number): Promise<void> {
    await Promise.all(this.subscribers.map((rpc) => rpc.call('reset', { sampleEvery })));
  }

  async progress(expected: number | number[]): Promise<Progress> {
    const all = await Promise.all(this.subscribers.map((rpc) => rpc.call<Progress>('progress', { expected })));
    const sum = (k: keyof Progress) => all.reduce((a, p) => a + p[k], 0);
    return { received: sum('received'), deficit: sum('deficit'), excess: sum('excess'), closed: sum('closed'), open: sum('open') };
  }

  /**
   * Polls until every connection has its expected count, nothing more arrives for a while, or
   * timeoutMs passes. Returns the last progress seen.
   */
  async drain(expected: number | number[], timeoutMs: number): Promise<Progress> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const p = await this.progress(expected);
      if (p.deficit === 0 || Date.now() >= until) return p;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async collect(): Promise<{ received: number; latency: Histogram }> {
    const all = await Promise.all(this.subscribers.map((rpc) => rpc.call<{ received: number; hist: SparseHistogram }>('collect')));
    const latency = new Histogram();
    for (const r of all) latency.merge(r.hist);
    return { received: all.reduce((a, r) => a + r.received, 0), latency };
  }

  async usage(): Promise<LoadgenUsage> {
    const all = await Promise.all([...this.subscribers, this.publisher].map((rpc) => rpc.call<{ cpuMicros: number }>('usage')));
    const self = process.cpuUsage();
    const perProcess = [...all.map((u) => u.cpuMicros), self.user + self.system];
    return { totalMicros: perProcess.reduce((a, b) => a + b, 0), perProcess };
  }

  async stop(): Promise<void> {
    await Promise.all([...this.subscribers, this.publisher].map((rpc) => rpc.call('close', {}, 10_000).catch(() => {})));
    for (const child of this.children) if (child.connected) child.disconnect();
    await Promise.all(this.children.map((child) => waitExit(child, 5_000)));
  }
}

/** CPU use over a window as percent of one core. */
export function cpuPercent(micros: number, wallMs: number): number {
  return wallMs > 0 ? round((micros / 1000 / wallMs) * 100, 1) : 0;
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
