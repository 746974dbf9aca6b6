import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectWs } from '../../helpers/clients.js';
import { post, startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';
import { waitUntil } from '../../helpers/wait.js';

describe('Metrics are labelled by stable codes and use the names stock dashboards expect', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode();
  });
  after(() => t.stop());

  it('counts a disconnect through the API as api_disconnect, never by the reason text given', async () => {
    const ws = await connectWs(`${t.wsUrl}/ws?channels=label`);
    try {
      const welcome = await ws.next((f) => f.type === 'welcome');
      const res = await post(`${t.url}/api/sessions/${welcome.session}/disconnect`, { reason: 'moving you' });
      assert.equal(res.status, 200);
      const frame = await ws.next((f) => f.type === 'disconnect');
      assert.equal(frame.reason, 'moving you', 'the client still reads the text it was given');
    } finally {
      ws.close();
    }
    await waitUntil(async () => (await scrape(t.url)).value('switchboard_disconnections_total', { reason: 'api_disconnect' }) === 1, 5000, 'the disconnect to be counted');
    const m = await scrape(t.url);
    assert.ok(!m.samples.some((s) => s.labels.reason === 'moving you'), 'the free text is no label value');
  });

  it('names sent bytes sent_bytes_total and exports process and nodejs metrics without the switchboard_ prefix', async () => {
    const m = await scrape(t.url);
    assert.ok(m.declares('switchboard_sent_bytes_total', 'counter'));
    assert.ok(!m.declares('switchboard_bytes_out_total', 'counter'));
    assert.ok(
      m.samples.some((s) => s.name === 'process_resident_memory_bytes'),
      'process_resident_memory_bytes',
    );
    assert.ok(
      m.samples.some((s) => s.name === 'nodejs_eventloop_lag_seconds'),
      'nodejs_eventloop_lag_seconds',
    );
    assert.ok(!m.samples.some((s) => s.name.startsWith('switchboard_process_') || s.name.startsWith('switchboard_nodejs_')));
  });
});
