import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectSse, type SseEvent, type StreamClient } from '../../helpers/clients.js';
import { post, startNode, type TestNode } from '../../helpers/node.js';

const messages = (client: StreamClient<SseEvent>) => client.inbox.all.filter((e) => e.event === 'message' && e.data !== '').map((e) => JSON.parse(e.data));
const lastId = (client: StreamClient<SseEvent>) => client.inbox.all.filter((e) => e.id !== undefined).at(-1)?.id;

describe('recovery over SSE with Last-Event-ID', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({ 'channels.namespaces': { h: { historySize: 100 } } });
  });
  after(() => t.stop());

  it('resumes every channel of the connection from the id the client saw last', async () => {
    const first = await connectSse(`${t.url}/sse?channels=h:one,h:two`);
    await first.next((e) => e.event === 'subscribed' && JSON.parse(e.data).channel === 'h:two');
    await post(`${t.url}/api/publish`, [
      { channel: 'h:one', data: 'one-1' },
      { channel: 'h:two', data: 'two-1' },
    ]);
    await first.next((e) => e.id !== undefined && e.id.includes('h:two~1'));
    const id = lastId(first)!;
    assert.match(id, /h:one~1~[0-9a-f]+/);
    first.close();
    await first.ended;

    await post(`${t.url}/api/publish`, [
      { channel: 'h:two', data: 'two-2' },
      { channel: 'h:one', data: 'one-2' },
      { channel: 'h:two', data: 'two-3' },
    ]);
    const second = await connectSse(`${t.url}/sse?channels=h:one,h:two`, { 'last-event-id': id });
    await post(`${t.url}/api/publish`, { channel: 'h:one', data: 'one-3' });
    await second.next((e) => e.event === 'message' && e.data.includes('one-3'));
    const received = messages(second);
    assert.deepEqual(
      received.filter((m) => m.channel === 'h:one').map((m) => m.data),
      ['one-2', 'one-3'],
    );
    assert.deepEqual(
      received.filter((m) => m.channel === 'h:two').map((m) => m.data),
      ['two-2', 'two-3'],
    );
    const subscribedEvents = second.inbox.all.filter((e) => e.event === 'subscribed').map((e) => JSON.parse(e.data));
    assert.ok(subscribedEvents.every((s) => s.recovered === true));
    second.close();
  });

  it('sends an id after each write so a browser always holds the latest position', async () => {
    const client = await connectSse(`${t.url}/sse?channels=h:ids`);
    await client.next((e) => e.event === 'subscribed');
    for (let i = 1; i <= 3; i++) {
      await post(`${t.url}/api/publish`, { channel: 'h:ids', data: i });
      await client.next((e) => e.id !== undefined && e.id.startsWith(`h:ids~${i}~`));
    }
    client.close();
  });

  it('tells the client recovered: false when its id is older than the window', async () => {
    const seed = await post(`${t.url}/api/publish`, { channel: 'h:old', data: 0 });
    await post(
      `${t.url}/api/publish`,
      Array.from({ length: 120 }, (_, i) => ({ channel: 'h:old', data: i })),
    );
    const client = await connectSse(`${t.url}/sse?channels=h:old`, { 'last-event-id': `h:old~${seed.body.offset}~${seed.body.epoch}` });
    const subscribed = JSON.parse((await client.next((e) => e.event === 'subscribed')).data);
    assert.equal(subscribed.recovered, false);
    assert.equal(subscribed.offset, 121);
    assert.deepEqual(messages(client), []);
    client.close();
  });

  it('refuses a malformed Last-Event-ID with 400 bad_request', async () => {
    const client = await connectSse(`${t.url}/sse?channels=h:x`, { 'last-event-id': 'garbage~~~' });
    assert.equal(client.status, 400);
    client.close();
  });
});
