import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectWs, type WsClient } from '../../helpers/clients.js';
import { post, startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';

describe('Bad input on a WebSocket', () => {
  let t: TestNode;
  let bystander: WsClient;
  before(async () => {
    t = await startNode({
      'limits.maxFrameBytes': '1KiB',
      'limits.maxBadFrames': 5,
      'sessions.maxSubscriptions': 3,
      'channels.namespaces': { chat: {} },
    });
    bystander = await connectWs(`${t.wsUrl}/ws?channels=bystander`);
    await bystander.next((f) => f.type === 'welcome');
  });
  after(async () => {
    bystander.close();
    await t.stop();
  });

  const errors = async (code: string) => (await scrape(t.url)).value('switchboard_errors_total', { code });
  const limitHits = async (limit: string) => (await scrape(t.url)).value('switchboard_limit_hits_total', { limit });

  async function client(query = ''): Promise<WsClient> {
    const c = await connectWs(`${t.wsUrl}/ws${query}`);
    await c.next((f) => f.type === 'welcome');
    return c;
  }

  /** Sends one bad frame and returns the error reply to it, checking that the error metric moved by one. */
  async function expectError(c: WsClient, send: () => void, code: string): Promise<any> {
    const before = await errors(code);
    const seen = c.inbox.all.length;
    send();
    const reply = await c.next((f) => f.type === 'reply' && f.error !== undefined && c.inbox.all.indexOf(f) >= seen);
    assert.equal(reply.error.code, code);
    assert.equal(typeof reply.error.message, 'string');
    assert.equal(await errors(code), before + 1);
    return reply;
  }

  it('answers a frame that is not valid JSON with bad_request', async () => {
    const c = await client();
    const reply = await expectError(c, () => c.send('{"type":"subscribe",'), 'bad_request');
    assert.equal(reply.error.message, 'frame is not valid JSON');
    assert.equal(reply.id, undefined);
    c.close();
  });

  it('answers an unknown frame type with bad_request, correlated by id', async () => {
    const c = await client();
    const reply = await expectError(c, () => c.send({ type: 'explode', id: 7 }), 'bad_request');
    assert.equal(reply.id, 7);
    assert.match(reply.error.message, /unknown frame type/);
    c.close();
  });

  it('answers a frame that is not an object with bad_request', async () => {
    const c = await client();
    for (const text of ['42', '"subscribe"', 'null', '[1]']) {
      const reply = await expectError(c, () => c.send(text), 'bad_request');
      assert.equal(reply.error.message, 'frame must be a JSON object');
    }
    c.close();
  });

  it('answers a subscription to an invalid channel name with bad_request', async () => {
    const c = await client();
    for (const channel of ['has space', 'bang!', '', 'x'.repeat(256)]) {
      const reply = await expectError(c, () => c.send({ type: 'subscribe', id: 'bad', channel }), 'bad_request');
      assert.equal(reply.id, 'bad');
      c.send({ type: 'ping' });
      await c.next((f) => f.type === 'pong');
    }
    c.close();
  });

  it('answers a subscription to an unknown namespace with not_found', async () => {
    const c = await client();
    const reply = await expectError(c, () => c.send({ type: 'subscribe', id: 1, channel: 'nowhere:room' }), 'not_found');
    assert.equal(reply.id, 1);
    assert.match(reply.error.message, /unknown namespace "nowhere"/);
    c.send({ type: 'subscribe', id: 2, channel: 'chat:room' });
    assert.deepEqual(await c.next((f) => f.type === 'subscribed'), { type: 'subscribed', id: 2, channel: 'chat:room' });
    c.close();
  });

  it('refuses a subscription over sessions.maxSubscriptions with limit_exceeded', async () => {
    const c = await client('?channels=one,two');
    c.send({ type: 'subscribe', id: 3, channel: 'three' });
    await c.next((f) => f.type === 'subscribed' && f.id === 3);
    const hitsBefore = await limitHits('subscriptions');
    const reply = await expectError(c, () => c.send({ type: 'subscribe', id: 4, channel: 'four' }), 'limit_exceeded');
    assert.equal(reply.id, 4);
    assert.equal(await limitHits('subscriptions'), hitsBefore + 1);
    // Subscribing again to a channel it already has is not a new subscription.
    c.send({ type: 'subscribe', id: 5, channel: 'one' });
    await c.next((f) => f.type === 'subscribed' && f.id === 5);
    const res = await post(`${t.url}/api/publish`, { channel: 'four', data: 'x' });
    assert.equal(res.body.subscribers, 0);
    c.close();
  });

  it('refuses too many channels in the query string with limit_exceeded', async () => {
    await assert.rejects(connectWs(`${t.wsUrl}/ws?channels=a,b,c,d`), (err: any) => {
      assert.equal(err.status, 409);
      assert.equal(JSON.parse(err.body).error.code, 'limit_exceeded');
      return true;
    });
  });

  it('answers each frame of a batch on its own, and a batch of more than 100 frames with too_large', async () => {
    const c = await client();
    c.send([
      { type: 'ping', id: 1 },
      { type: 'bogus', id: 2 },
      { type: 'ping', id: 3 },
    ]);
    await c.next((f) => f.type === 'pong' && f.id === 3);
    assert.deepEqual(
      c.inbox.all.filter((f) => f.type !== 'welcome').map((f) => [f.type, f.id, f.error?.code]),
      [
        ['pong', 1, undefined],
        ['reply', 2, 'bad_request'],
        ['pong', 3, undefined],
      ],
    );
    const reply = await expectError(c, () => c.send(Array.from({ length: 101 }, () => ({}))), 'too_large');
    assert.match(reply.error.message, /at most 100 frames/);
    assert.equal(c.inbox.all.filter((f) => f.type === 'pong').length, 2);
    c.close();
  });

  it('closes the connection with 1009 on a frame over limits.maxFrameBytes and counts it', async () => {
    const c = await client();
    const [hitsBefore, errorsBefore] = [await limitHits('frame_size'), await errors('too_large')];
    c.send({ type: 'publish', channel: 'x', data: 'y'.repeat(2000) });
    const closed = await c.closed;
    assert.equal(closed.code, 1009);
    assert.equal(await limitHits('frame_size'), hitsBefore + 1);
    assert.equal(await errors('too_large'), errorsBefore + 1);
  });

  it('answers a text frame that is not valid UTF-8 with bad_request', async () => {
    const c = await client();
    const reply = await expectError(c, () => c.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false }), 'bad_request');
    assert.equal(reply.error.message, 'text frame is not valid UTF-8');
    c.send({ type: 'ping', id: 1 });
    assert.deepEqual(await c.next((f) => f.type === 'pong'), { type: 'pong', id: 1 });
    c.close();
  });

  it('answers a binary frame with bad_request', async () => {
    const c = await client();
    const reply = await expectError(c, () => c.ws.send(Buffer.from('{"type":"ping"}'), { binary: true }), 'bad_request');
    assert.match(reply.error.message, /binary frames are not accepted/);
    c.close();
  });

  it('closes with 4500 after limits.maxBadFrames bad frames, sending a disconnect frame first', async () => {
    const c = await client();
    const disconnectsBefore = (await scrape(t.url)).value('switchboard_disconnections_total', { reason: 'bad_request' });
    for (let i = 0; i < 5; i++) c.send('not json');
    const closed = await c.closed;
    assert.equal(closed.code, 4500);
    assert.equal(closed.reason, 'bad_request');
    const replies = c.inbox.all.filter((f) => f.type === 'reply');
    assert.equal(replies.length, 5);
    assert.deepEqual(c.inbox.all.at(-1), { type: 'disconnect', code: 4500, reason: 'bad_request' });
    assert.equal((await scrape(t.url)).value('switchboard_disconnections_total', { reason: 'bad_request' }), disconnectsBefore + 1);
  });

  it('counts binary and non-UTF-8 frames towards the bad-frame limit too', async () => {
    const c = await client();
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    c.ws.send(Buffer.from([0xc3, 0x28]), { binary: false });
    c.send('[');
    c.send({ type: 'nope' });
    c.send('7');
    const closed = await c.closed;
    assert.equal(closed.code, 4500);
    assert.equal(c.inbox.all.at(-1).type, 'disconnect');
  });

  it('refuses an upgrade with an invalid channel in the query string with HTTP 400 and a JSON error', async () => {
    const before = await errors('bad_request');
    for (const path of ['/ws?channels=ok,bad%20name', '/ws/messages?channels=qwerty,%C3%A9t%C3%A9']) {
      await assert.rejects(connectWs(`${t.wsUrl}${path}`), (err: any) => {
        assert.equal(err.status, 400);
        const body = JSON.parse(err.body);
        assert.equal(body.error.code, 'bad_request');
        assert.equal(typeof body.error.message, 'string');
        return true;
      });
    }
    assert.equal(await errors('bad_request'), before + 2);
  });

  it('refuses an upgrade on a path without a WebSocket endpoint with HTTP 404', async () => {
    await assert.rejects(connectWs(`${t.wsUrl}/nowhere?channels=a`), (err: any) => {
      assert.equal(err.status, 404);
      assert.equal(JSON.parse(err.body).error.code, 'not_found');
      return true;
    });
  });

  it('refuses an upgrade to an unknown namespace with HTTP 404', async () => {
    await assert.rejects(connectWs(`${t.wsUrl}/ws?channels=nowhere:x`), (err: any) => {
      assert.equal(err.status, 404);
      assert.equal(JSON.parse(err.body).error.code, 'not_found');
      return true;
    });
  });

  it('refuses SSE and HTTP-streaming requests with an invalid channel with HTTP 400 and a JSON error', async () => {
    for (const path of ['/sse?channels=bad!', '/sse/messages?channels=xyz,no%20spaces', '/stream?channels=a,b%3Cc']) {
      const res = await fetch(`${t.url}${path}`);
      assert.equal(res.status, 400, path);
      assert.match(String(res.headers.get('content-type')), /^application\/json/);
      const body = await res.json();
      assert.equal(body.error.code, 'bad_request');
      assert.equal(typeof body.error.message, 'string');
    }
  });

  it('keeps serving other clients after all of this', async () => {
    assert.equal(bystander.ws.readyState, bystander.ws.OPEN);
    const fresh = await client('?channels=bystander');
    const res = await post(`${t.url}/api/publish`, { channel: 'bystander', data: 'still up' });
    assert.equal(res.body.subscribers, 2);
    assert.equal((await bystander.next((f) => f.type === 'message')).data, 'still up');
    assert.equal((await fresh.next((f) => f.type === 'message')).data, 'still up');
    assert.equal((await fetch(`${t.url}/healthz`)).status, 200);
    fresh.close();
  });
});

describe('Client frame rate limit on a WebSocket', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({ 'limits.clientMessagesPerSecond': 1, 'limits.clientMessagesBurst': 3, 'limits.maxBadFrames': 4 });
  });
  after(() => t.stop());

  it('answers frames beyond the burst with rate_limited and counts the limit hits', async () => {
    const c = await connectWs(`${t.wsUrl}/ws`);
    await c.next((f) => f.type === 'welcome');
    const [errorsBefore, hitsBefore] = [
      (await scrape(t.url)).value('switchboard_errors_total', { code: 'rate_limited' }),
      (await scrape(t.url)).value('switchboard_limit_hits_total', { limit: 'rate' }),
    ];
    for (let i = 1; i <= 5; i++) c.send({ type: 'ping', id: i });
    const first = await c.next((f) => f.type === 'reply' && f.error?.code === 'rate_limited');
    await c.next((f) => f.type === 'reply' && f.error?.code === 'rate_limited');
    assert.match(first.error.message, /slow down/);
    assert.deepEqual(
      c.inbox.all.filter((f) => f.type === 'pong').map((f) => f.id),
      [1, 2, 3],
    );
    assert.equal((await scrape(t.url)).value('switchboard_errors_total', { code: 'rate_limited' }), errorsBefore + 2);
    assert.equal((await scrape(t.url)).value('switchboard_limit_hits_total', { limit: 'rate' }), hitsBefore + 2);
    c.close();
  });

  it('closes a session that keeps sending too fast with 4429 after limits.maxBadFrames refusals', async () => {
    const c = await connectWs(`${t.wsUrl}/ws`);
    await c.next((f) => f.type === 'welcome');
    for (let i = 0; i < 10; i++) c.send({ type: 'ping' });
    const closed = await c.closed;
    assert.equal(closed.code, 4429);
    assert.deepEqual(c.inbox.all.at(-1), { type: 'disconnect', code: 4429, reason: 'rate_limited' });
  });
});
