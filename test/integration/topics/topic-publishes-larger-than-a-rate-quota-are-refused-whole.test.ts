import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertErrorBody, request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';

describe('a publish larger than a one-second rate quota is refused whole and leaves the quota intact', () => {
  let node: TestNode;
  const api = (path: string) => `${node.url}/api/topics${path}`;
  const publish = (messages: unknown[]) => request('POST', api('/app/topics/t/publish'), { body: { messages } });

  before(async () => {
    node = await startNode({ 'topics.quotas.messagesPerSecond': 10, 'topics.quotas.bytesPerSecond': '2KiB' });
    await request('POST', api('/applications'), { body: { id: 'app' } });
    await request('POST', api('/app/topics'), { body: { name: 't' } });
  });
  after(() => node?.stop());

  it('answers 413 too_large for a batch of more messages than messagesPerSecond, stores nothing, and lets the next publish through', async () => {
    const res = await publish(Array.from({ length: 1000 }, (_, i) => ({ data: i })));
    assert.equal(res.status, 413);
    assertErrorBody(res.body, 'too_large');
    assert.match(res.body.error.message, /1000 messages.*messagesPerSecond quota of 10/);
    assert.equal((await request('GET', api('/app/topics/t/messages'))).body.messages.length, 0, 'nothing of the batch is stored');
    const next = await publish([{ data: 'small' }]);
    assert.equal(next.status, 200, `the quota is not overdrawn: ${JSON.stringify(next.body)}`);
    const metrics = await scrape(node.url);
    assert.equal(metrics.value('switchboard_topic_quota_hits_total', { application: 'app', quota: 'messages_per_second' }), 1);
    assert.equal(metrics.value('switchboard_topic_publish_rejected_total', { reason: 'too_large' }), 1000);
  });

  it('answers 413 too_large for a batch of more bytes than bytesPerSecond, and lets the next publish through', async () => {
    const res = await publish(Array.from({ length: 3 }, () => ({ data: 'x'.repeat(1000) })));
    assert.equal(res.status, 413);
    assert.match(res.body.error.message, /bytesPerSecond quota of 2048/);
    const next = await publish([{ data: 'small' }]);
    assert.equal(next.status, 200, JSON.stringify(next.body));
  });
});
