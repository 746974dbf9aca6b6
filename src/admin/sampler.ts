import { CpuMeter } from '../observability/cpu.js';

/** One reading of a node's own counters. Rates are per second over the sample interval. */
export interface NodeSample {
  /** When it was taken, ms since the epoch. */
  t: number;
  connections: number;
  subscriptions: number;
  publications: number;
  deliveries: number;
  errors: number;
  /** Percent of one core. */
  cpu: number;
  rss: number;
  heapUsed: number;
}

/** What the sampler reads: current gauges and ever-growing totals. */
export interface SampleSource {
  connections(): number;
  subscriptions(): number;
  /** Totals since start: publications accepted, messages delivered to clients, errors answered. */
  totals(): { publications: number; deliveries: number; errors: number };
}

/**
 * Samples the node's counters every interval into a ring holding the last `historyMinutes`, and
 * hands each new sample to `onSample` (the live feed).
 */
export class NodeSampler {
  private readonly ring: NodeSample[] = [];
  private readonly capacity: number;
  private readonly cpu = new CpuMeter(0);
  private last: { at: number; publications: number; deliveries: number; errors: number };
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly source: SampleSource,
    readonly interval: number,
    historyMinutes: number,
    private readonly onSample: (sample: NodeSample) => void = () => {},
  ) {
    this.capacity = Math.max(1, Math.ceil((historyMinutes * 60_000) / interval));
    this.last = { at: performance.now(), ...source.totals() };
  }

  start(): void {
    this.timer = setInterval(() => this.onSample(this.take()), this.interval);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Takes a sample now and keeps it. */
  take(): NodeSample {
    const now = performance.now();
    const totals = this.source.totals();
    const seconds = Math.max((now - this.last.at) / 1000, 0.001);
    const rate = (key: 'publications' | 'deliveries' | 'errors') => Math.round(((totals[key] - this.last[key]) / seconds) * 100) / 100;
    const memory = process.memoryUsage();
    const sample: NodeSample = {
      t: Date.now(),
      connections: this.source.connections(),
      subscriptions: this.source.subscriptions(),
      publications: rate('publications'),
      deliveries: rate('deliveries'),
      errors: rate('errors'),
      cpu: this.cpu.read(),
      rss: memory.rss,
      heapUsed: memory.heapUsed,
    };
    this.last = { at: now, ...totals };
    if (this.ring.length === this.capacity) this.ring.shift();
    this.ring.push(sample);
    return sample;
  }

  /** Samples of the last `minutes`, oldest first. */
  samples(minutes: number): NodeSample[] {
    const since = Date.now() - minutes * 60_000;
    const first = this.ring.findIndex((s) => s.t >= since);
    return first === -1 ? [] : this.ring.slice(first);
  }
}
