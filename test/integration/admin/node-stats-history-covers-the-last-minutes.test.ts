import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NodeSampler } from '../../../src/admin/sampler.js';
import { assertErrorBody, request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { waitUntil } from '../../helpers/wait.js';

describe('node stats', () => {
  let node: TestNode;

  before(async () => {
    node = await startNode({ 'admin.enabled': true, 'admin.sampleInterval': '100ms', 'admin.historyMinutes': 1 });
  });
  after(() => node?.stop());

  it('a sampler keeps exactly admin.historyMinutes of samples, oldest first', () => {
    let publications = 0;
    const sampler = new NodeSampler({ connections: () => 2, subscriptions: () => 3, totals: () => ({ publications, deliveries: 0, errors: 0 }) }, 20_000, 1);
    for (let i = 0; i < 5; i++) {
      publications += 10;
      sampler.take();
    }
    const samples = sampler.samples(1);
    assert.equal(samples.length, 3, 'one minute of 20 s samples');
    assert.ok(samples.every((s, i) => i === 0 || s.t >= samples[i - 1]!.t));
    assert.equal(samples[0]!.connections, 2);
    assert.ok(samples[2]!.publications > 0, 'publications are a rate');
  });

  it('GET /api/admin/stats lists the node with its interval and samples of its own counters', async () => {
    for (let i = 0; i < 20; i++) await request('POST', `${node.url}/api/publish`, { body: { channel: 'news', data: i } });
    let answer = await request('GET', `${node.url}/api/admin/stats?minutes=1`);
    await waitUntil(
      async () => {
        answer = await request('GET', `${node.url}/api/admin/stats?minutes=1`);
        return answer.body.nodes[0].samples.some((s: { publications: number }) => s.publications > 0);
      },
      5000,
      'a sample that saw the publications',
    );
    const [stats] = answer.body.nodes;
    assert.equal(stats.node, node.node.id);
    assert.equal(stats.interval, 100);
    const sample = stats.samples.at(-1);
    assert.deepEqual(Object.keys(sample).sort(), ['connections', 'cpu', 'deliveries', 'errors', 'heapUsed', 'publications', 'rss', 'subscriptions', 't']);
    assert.ok(sample.rss > sample.heapUsed && sample.heapUsed > 0);
    assert.ok(Date.now() - sample.t < 5000);
  });

  it('refuses minutes beyond admin.historyMinutes with 400', async () => {
    const answer = await request('GET', `${node.url}/api/admin/stats?minutes=2`);
    assert.equal(answer.status, 400);
    assertErrorBody(answer.body, 'bad_request');
  });

  it('GET /api/nodes reports version, uptime, CPU, memory and the broker of each node', async () => {
    const [entry] = (await request('GET', `${node.url}/api/nodes`)).body.nodes;
    assert.equal(typeof entry.version, 'string');
    assert.equal(typeof entry.uptimeSeconds, 'number');
    assert.equal(typeof entry.cpu, 'number');
    assert.ok(entry.rss > 0);
    assert.deepEqual(entry.broker, { type: 'memory', connected: true });
  });
});
