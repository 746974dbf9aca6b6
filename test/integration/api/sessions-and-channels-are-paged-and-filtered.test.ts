import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectWs, type WsClient } from '../../helpers/clients.js';
import { assertErrorBody, request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';

describe('GET /api/sessions and /api/channels with limit', () => {
  let node: TestNode;
  const clients: WsClient[] = [];

  before(async () => {
    node = await startNode();
    for (let i = 0; i < 7; i++) {
      const client = await connectWs(`${node.wsUrl}/ws?channels=room-${i % 3},lobby`);
      await client.next((f) => f.type === 'welcome');
      clients.push(client);
    }
    const sse = await fetch(`${node.url}/sse?channels=room-0`);
    clients.push({ close: () => sse.body?.cancel().catch(() => {}) } as unknown as WsClient);
  });
  after(async () => {
    for (const c of clients) c.close();
    await node?.stop();
  });

  it('walks every session once, page by page, with the total and a null next on the last page', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const answer = await request('GET', `${node.url}/api/sessions?limit=3${after ? `&after=${after}` : ''}`);
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.body.total, 8);
      assert.ok(answer.body.sessions.length <= 3);
      seen.push(...answer.body.sessions.map((s: { id: string }) => s.id));
      after = answer.body.next;
      pages += 1;
    } while (after !== null);
    assert.equal(pages, 3);
    assert.equal(new Set(seen).size, 8);
  });

  it('filters by transport, node and channel, and lists traffic counters', async () => {
    const sse = await request('GET', `${node.url}/api/sessions?limit=10&transport=sse`);
    assert.equal(sse.body.total, 1);
    assert.equal(sse.body.sessions[0].transport, 'sse');
    assert.equal((await request('GET', `${node.url}/api/sessions?limit=10&node=${node.node.id}&channel=room-1`)).body.total, 2);
    assert.equal((await request('GET', `${node.url}/api/sessions?limit=10&node=another-node`)).body.total, 0);
    const ws = (await request('GET', `${node.url}/api/sessions?limit=1&transport=ws`)).body.sessions[0];
    for (const field of ['bytesSent', 'bytesReceived', 'messagesSent', 'messagesReceived']) assert.equal(typeof ws[field], 'number', field);
    assert.ok(ws.messagesSent >= 1 && ws.bytesSent > 0, 'the welcome frame was counted');
  });

  it('without limit answers the whole list as before', async () => {
    const answer = await request('GET', `${node.url}/api/sessions`);
    assert.deepEqual(Object.keys(answer.body), ['sessions']);
    assert.equal(answer.body.sessions.length, 8);
  });

  it('pages channels by name', async () => {
    const first = await request('GET', `${node.url}/api/channels?limit=2`);
    assert.deepEqual(
      first.body.channels.map((c: { channel: string }) => c.channel),
      ['lobby', 'room-0'],
    );
    assert.equal(first.body.total, 4);
    const second = await request('GET', `${node.url}/api/channels?limit=2&after=${first.body.next}`);
    assert.deepEqual(second.body.channels, [
      { channel: 'room-1', subscribers: 2 },
      { channel: 'room-2', subscribers: 2 },
    ]);
    assert.equal(second.body.next, null);
  });

  it('refuses a limit out of range, a cursor that is none and an unknown transport with 400', async () => {
    for (const query of ['limit=0', 'limit=1001', 'limit=x', 'limit=2&after=%%%', 'after=abc', 'limit=2&transport=carrier-pigeon']) {
      const answer = await request('GET', `${node.url}/api/sessions?${query}`);
      assert.equal(answer.status, 400, query);
      assertErrorBody(answer.body, 'bad_request');
    }
  });
});
