import { useEffect, useState } from 'preact/hooks';
import { Chart, type ChartData } from './chart.js';
import { Badge, Facts, Message, formatBytes, formatDuration, formatRate } from './components.js';
import { useConsole, useFollow, useLoad } from './context.js';
import { html, type Markup } from './html.js';
import { addSample, chartOf, type StatsAnswer, type StatsByNode, type StatsSample } from './stats.js';

interface NodeInfo {
  id: string;
  url: string;
  state: string;
  version?: string;
  uptimeSeconds?: number;
  sessions: number;
  subscriptions: number;
  cpu?: number;
  rss?: number;
  broker?: { type: string; connected: boolean };
}

function brokerText(broker: NodeInfo['broker']): [string, 'ok' | 'bad' | ''] {
  if (!broker) return ['–', ''];
  return [`${broker.type} ${broker.connected ? 'connected' : 'disconnected'}`, broker.connected ? 'ok' : 'bad'];
}

function NodeCard({ node, latest }: { node: NodeInfo; latest: StatsSample | undefined }): Markup {
  const [broker, tone] = brokerText(node.broker);
  return html`<article class="card node" data-node=${node.id}>
    <h3>${node.id} <${Badge} tone=${node.state === 'running' ? 'ok' : 'warn'} text=${node.state} /></h3>
    <${Facts}
      items=${[
        ['address', node.url],
        ['version', node.version],
        ['uptime', formatDuration(node.uptimeSeconds)],
        ['connections', html`<span class="connections">${node.sessions}</span>`],
        ['subscriptions', node.subscriptions],
        ['CPU', node.cpu === undefined ? '–' : `${node.cpu.toFixed(1)} % of a core`],
        ['memory (RSS)', formatBytes(node.rss)],
        ['broker', html`<${Badge} tone=${tone} text=${broker} />`],
        ['publications', formatRate(latest?.publications)],
        ['deliveries', formatRate(latest?.deliveries)],
      ]}
    />
  </article>`;
}

const charts: { key: keyof StatsSample; title: string }[] = [
  { key: 'connections', title: 'Connections' },
  { key: 'publications', title: 'Publications per second' },
  { key: 'deliveries', title: 'Deliveries per second' },
  { key: 'errors', title: 'Errors per second' },
];

export function OverviewPage(): Markup {
  const { api } = useConsole();
  const nodes = useLoad(() => api.get<{ nodes: NodeInfo[] }>('/api/nodes'), []);
  const [stats, setStats] = useState<StatsByNode>(new Map());
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    api.get<StatsAnswer>('/api/admin/stats', { minutes: 15 }).then(
      (answer) => setStats(new Map(answer.nodes.map((n) => [n.node, n.samples]))),
      (err: Error) => setError(err.message),
    );
  }, [api]);
  useFollow('$admin:stats', (data) => setStats((current) => addSample(current, data, 15)));
  const chartData: Record<string, ChartData> = Object.fromEntries(charts.map(({ key }) => [key, chartOf(stats, key)]));
  return html` <${Message} kind="error" text=${nodes.error ?? error} />
    <section aria-label="nodes" class="cards" id="nodes">
      ${(nodes.data?.nodes ?? []).map((node) => html`<${NodeCard} key=${node.id} node=${node} latest=${stats.get(node.id)?.at(-1)} />`)}
    </section>
    <section aria-label="the last 15 minutes" class="charts">
      ${charts.map(({ key, title }) => html`<${Chart} key=${key} id=${`chart-${key}`} title=${title} data=${chartData[key]} />`)}
    </section>`;
}
