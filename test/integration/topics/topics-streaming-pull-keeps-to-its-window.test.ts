import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { waitUntil } from '../../helpers/wait.js';

interface Frame {
  type: string;
  ackId?: string;
  attempt?: number;
  message?: { data: unknown };
  results?: { ok?: boolean; error?: { code: string } }[];
  error?: { code: string };
}

async function openStream(url: string): Promise<{ ws: WebSocket; frames: Frame[] }> {
  const ws = new WebSocket(url);
  const frames: Frame[] = [];
  ws.on('message', (data) => frames.push(JSON.parse(data.toString()) as Frame));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, frames };
}

describe('a WebSocket streaming pull keeps to its window of outstanding messages', () => {
  let node: TestNode;
  const api = (path: string) => `${node.url}/api/topics${path}`;
  const messages = (frames: Frame[]) => frames.filter((f) => f.type === 'message');

  before(async () => {
    node = await startNode({ 'topics.stream.maxOutstanding': 50 });
    await request('POST', api('/applications'), { body: { id: 'live' } });
    await request('POST', api('/live/topics'), { body: { name: 'ticks' } });
    await request('POST', api('/live/subscriptions'), { body: { name: 'screen', topic: 'ticks', ackDeadlineMs: 30_000 } });
  });
  after(() => node?.stop());

  it('sends at most maxOutstanding unacknowledged messages and one more for each ack', async (t) => {
    const { ws, frames } = await openStream(`${node.wsUrl}/api/topics/live/subscriptions/screen/stream?maxOutstanding=2`);
    t.after(() => ws.close());
    await request('POST', api('/live/topics/ticks/publish'), { body: { messages: [1, 2, 3, 4, 5].map((n) => ({ data: n })) } });
    await waitUntil(() => messages(frames).length === 2, 3000, 'two messages');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(messages(frames).length, 2, 'no third message while two are outstanding');
    ws.send(JSON.stringify({ type: 'ack', ackIds: [messages(frames)[0]!.ackId] }));
    await waitUntil(() => messages(frames).length === 3, 3000, 'a third message after the ack');
    const result = frames.find((f) => f.type === 'result')!;
    assert.equal(result.results![0]!.ok, true);
    ws.send(JSON.stringify({ type: 'flow', maxOutstanding: 10 }));
    await waitUntil(() => messages(frames).length === 5, 3000, 'the rest after the window grew');
    assert.deepEqual(
      messages(frames).map((f) => f.message!.data),
      [1, 2, 3, 4, 5],
    );
    ws.send(
      JSON.stringify({
        type: 'ack',
        ackIds: messages(frames)
          .slice(1)
          .map((f) => f.ackId),
      }),
    );
    await waitUntil(async () => (await request('GET', api('/live/subscriptions/screen'))).body.stats.unacked === 0, 3000, 'every ack');
  });

  it('answers a malformed frame with an error and keeps the stream open', async (t) => {
    const { ws, frames } = await openStream(`${node.wsUrl}/api/topics/live/subscriptions/screen/stream`);
    t.after(() => ws.close());
    ws.send('not json');
    ws.send(JSON.stringify({ type: 'ack', ackIds: ['unknown-id'] }));
    await waitUntil(() => frames.some((f) => f.type === 'result'), 3000, 'the ack result');
    assert.equal(frames.find((f) => f.type === 'error')!.error!.code, 'bad_request');
    assert.equal(frames.find((f) => f.type === 'result')!.results![0]!.error!.code, 'not_found');
    assert.equal(ws.readyState, WebSocket.OPEN);
  });

  it('refuses the upgrade for an unknown subscription or a window over the limit', async () => {
    for (const [path, status] of [
      ['/api/topics/live/subscriptions/nope/stream', 404],
      ['/api/topics/live/subscriptions/screen/stream?maxOutstanding=1000', 400],
    ] as const) {
      const ws = new WebSocket(`${node.wsUrl}${path}`);
      const answered = await new Promise<number>((resolve) => {
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('open', () => resolve(101));
        ws.once('error', () => {});
      });
      ws.terminate();
      assert.equal(answered, status, path);
    }
  });
});
