import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { get, post, startNode, type TestNode } from '../../helpers/node.js';

describe('history API', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({ 'channels.namespaces': { h: { historySize: 5 } } });
  });
  after(() => t.stop());

  it('lists kept publications with positions, after a position, limited and newest first', async () => {
    const published = await post(
      `${t.url}/api/publish`,
      Array.from({ length: 7 }, (_, i) => ({ channel: 'h:log', data: i + 1 })),
    );
    const epoch = published.body.results[0].epoch;
    const all = await get(`${t.url}/api/channels/h:log/history`);
    assert.equal(all.status, 200);
    assert.equal(all.body.offset, 7);
    assert.equal(all.body.epoch, epoch);
    assert.deepEqual(
      all.body.publications.map((p: any) => p.data),
      [3, 4, 5, 6, 7],
    );
    const since = await get(`${t.url}/api/channels/h:log/history?since=5:${epoch}&limit=1`);
    assert.deepEqual(
      since.body.publications.map((p: any) => p.offset),
      [6],
    );
    const reversed = await get(`${t.url}/api/channels/h:log/history?reverse=true&limit=2`);
    assert.deepEqual(
      reversed.body.publications.map((p: any) => p.data),
      [7, 6],
    );
  });

  it('answers not_found for a channel without history and bad_request for a malformed since', async () => {
    const none = await get(`${t.url}/api/channels/plain/history`);
    assert.equal(none.status, 404);
    assert.equal(none.body.error.code, 'not_found');
    const bad = await get(`${t.url}/api/channels/h:log/history?since=yesterday`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'bad_request');
  });
});
