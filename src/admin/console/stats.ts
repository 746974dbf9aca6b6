import type { NodeSample } from '../sampler.js';
import type { ChartData } from './chart.js';

/** One sample of a node's counters (GET /api/admin/stats, the $admin:stats channel), as the node's sampler takes it. */
export type StatsSample = NodeSample;

export interface StatsAnswer {
  nodes: { node: string; samples: StatsSample[] }[];
}

export type StatsByNode = Map<string, StatsSample[]>;

/** Adds a live sample ({node, sample}) and drops what is older than the window. */
export function addSample(current: StatsByNode, data: unknown, minutes: number): StatsByNode {
  const { node, sample } = data as { node?: string; sample?: StatsSample };
  if (typeof node !== 'string' || !sample) return current;
  const since = Date.now() - minutes * 60_000;
  const next = new Map(current);
  next.set(node, [...(current.get(node) ?? []).filter((s) => s.t >= since && s.t !== sample.t), sample]);
  return next;
}

/** The chart of one counter: a line per node over the union of their sample times. */
export function chartOf(stats: StatsByNode, key: keyof StatsSample): ChartData {
  const times = [...new Set([...stats.values()].flatMap((samples) => samples.map((s) => s.t)))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const series = [...stats.entries()].map(([node, samples]) => {
    const values: (number | null)[] = times.map(() => null);
    for (const sample of samples) values[index.get(sample.t)!] = sample[key];
    return { label: node, values };
  });
  return { times: times.map((t) => t / 1000), series };
}
