import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { serverNames } from './lib/servers.js';
import type { Result } from './workloads/context.js';

interface Metric {
  workload: string;
  label: string;
  key: string;
  /** Which direction is better; null for context figures that get no ratio. */
  better: 'higher' | 'lower' | null;
}

const fanoutRows = (workload: string, title: string): Metric[] => [
  { workload, label: `${title}: deliveries/s sustained`, key: 'deliveriesPerSec', better: 'higher' },
  { workload, label: '  publications/s (step)', key: 'sustainedRate', better: 'higher' },
  { workload, label: '  p50 ms', key: 'p50Ms', better: 'lower' },
  { workload, label: '  p99 ms', key: 'p99Ms', better: 'lower' },
  { workload, label: '  max ms', key: 'maxMs', better: 'lower' },
  { workload, label: '  server CPU %', key: 'serverCpuPct', better: null },
  { workload, label: '  server RSS MB', key: 'serverRssMB', better: null },
  { workload, label: '  loadgen CPU % (all processes)', key: 'loadgenCpuPct', better: null },
  { workload, label: '  machine CPU % (all processes)', key: 'machineCpuPct', better: null },
];

const channelRows = (workload: string, title: string): Metric[] => [
  { workload, label: `${title}: publications/s accepted`, key: 'publishedPerSec', better: 'higher' },
  { workload, label: '  requests/s', key: 'requestsPerSec', better: 'higher' },
  { workload, label: '  deliveries/s', key: 'deliveredPerSec', better: 'higher' },
  { workload, label: '  lost', key: 'lost', better: null },
  { workload, label: '  delivery p50 ms', key: 'p50Ms', better: 'lower' },
  { workload, label: '  delivery p99 ms', key: 'p99Ms', better: 'lower' },
  { workload, label: '  request p99 ms', key: 'requestP99Ms', better: 'lower' },
  { workload, label: '  server CPU %', key: 'serverCpuPct', better: null },
  { workload, label: '  publisher CPU %', key: 'publisherCpuPct', better: null },
];

const metrics: Metric[] = [
  ...fanoutRows('fanout', 'fan-out (WebSocket)'),
  ...fanoutRows('sse-fanout', 'fan-out (SSE)'),
  ...channelRows('channels-single', 'many channels, 1 per request'),
  ...channelRows('channels-batch', 'many channels, batched'),
  { workload: 'idle', label: 'idle: KB per connection (RSS)', key: 'rssPerConnKB', better: 'lower' },
  { workload: 'idle', label: '  KB per connection (JS heap)', key: 'heapPerConnKB', better: 'lower' },
  { workload: 'idle', label: '  connections open', key: 'open', better: null },
  { workload: 'idle', label: '  connects/s', key: 'connectPerSec', better: 'higher' },
  { workload: 'idle', label: '  server CPU % while connecting', key: 'serverCpuPctConnecting', better: null },
];

function format(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value !== 'number') return String(value);
  if (Number.isInteger(value) && Math.abs(value) >= 1000) return value.toLocaleString('en-US');
  return String(value);
}

function ratio(a: unknown, b: unknown): string {
  if (typeof a !== 'number' || typeof b !== 'number' || b === 0) return '-';
  const r = a / b;
  return `${r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2)}x`;
}

/**
 * `node dist/bench/report.js bench-results/latest.jsonl` prints the table of a saved run again.
 */
function main(): number {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node dist/bench/report.js RESULTS.jsonl\n');
    return 2;
  }
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  process.stdout.write(`${table(lines.map((l) => JSON.parse(l) as Result))}\n`);
  return 0;
}

/** The human table: one column per server, then Switchboard's value divided by each peer's. */
export function table(results: Result[]): string {
  const servers = serverNames.filter((s) => results.some((r) => r.server === s));
  const peers = servers.filter((s) => s !== 'switchboard');
  const hasSwitchboard = servers.includes('switchboard');
  const header = ['', ...servers, ...(hasSwitchboard ? peers.map((p) => `switchboard/${p}`) : []), 'better'];
  const rows: string[][] = [];
  for (const m of metrics) {
    const byServer = new Map(results.filter((r) => r.workload === m.workload).map((r) => [r.server, r]));
    if (byServer.size === 0) continue;
    if (!m.label.startsWith(' ') && rows.length > 0) rows.push([]);
    const values = servers.map((s) => {
      const r = byServer.get(s);
      if (!r) return 'n/a';
      if (r.error) return m.label.startsWith(' ') ? '' : `error`;
      return format(r[m.key]);
    });
    const sb = byServer.get('switchboard')?.[m.key];
    const ratios = hasSwitchboard ? peers.map((p) => (m.better ? ratio(sb, byServer.get(p)?.[m.key]) : '')) : [];
    rows.push([m.label, ...values, ...ratios, m.better ?? '']);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of rows) out.push(r.length === 0 ? '' : line(r));
  const notes = results
    .filter((r) => r.error || (r.limit && typeof r.limit === 'object'))
    .map((r) => {
      if (r.error) return `${r.workload} ${r.server}: ${r.error}`;
      const limit = r.limit as { rate: number | null; reason: string };
      return `${r.workload} ${r.server}: ${limit.rate !== null ? `next step ${limit.rate}/s not sustained: ` : ''}${limit.reason}`;
    });
  if (notes.length > 0) out.push('', 'Limits:', ...notes.map((n) => `  ${n}`));
  return out.join('\n');
}

if (process.argv[1] && basename(process.argv[1]) === 'report.js' && import.meta.url.endsWith('/report.js')) process.exitCode = main();
