import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connectWs } from '../../helpers/clients.js';
import { post, startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';

const dashboardPath = fileURLToPath(new URL('../../../../deploy/grafana/switchboard-dashboard.json', import.meta.url));

interface Panel {
  title: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}

function queriesOf(panels: Panel[]): { title: string; expr: string }[] {
  return panels.flatMap((p) => [...(p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr })), ...queriesOf(p.panels ?? [])]);
}

/** Metric names a PromQL expression reads: our own and the process/Node.js defaults. */
function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b(?:switchboard|process|nodejs)_[a-zA-Z0-9_]+/g)].map((m) => m[0]);
}

describe('The Grafana dashboard in deploy/ queries only metrics a node exports', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode();
    // The main paths: a client connects, a publication reaches it, the API ends the session.
    const ws = await connectWs(`${t.wsUrl}/ws?channels=dash`);
    const welcome = await ws.next((f) => f.type === 'welcome');
    await post(`${t.url}/api/publish`, { channel: 'dash', data: 1 });
    await ws.next((f) => f.type === 'message' && f.data === 1);
    await post(`${t.url}/api/sessions/${welcome.session}/disconnect`, {});
    ws.close();
  });
  after(() => t.stop());

  it('names in every query a metric family the node declares', async () => {
    const dashboard = JSON.parse(readFileSync(dashboardPath, 'utf8')) as { panels: Panel[] };
    const queries = queriesOf(dashboard.panels);
    assert.ok(queries.length > 0, 'the dashboard has queries');
    const m = await scrape(t.url);
    const declared = new Set(
      m.text
        .split('\n')
        .filter((l) => l.startsWith('# TYPE '))
        .map((l) => l.split(' ')[2]!),
    );
    const exported = (name: string) => declared.has(name) || declared.has(name.replace(/_(bucket|sum|count)$/, ''));
    for (const { title, expr } of queries) {
      const names = metricsIn(expr);
      assert.ok(names.length > 0, `"${title}" names a metric: ${expr}`);
      for (const name of names) assert.ok(exported(name), `"${title}" reads ${name}, which the node does not export`);
    }
  });
});
