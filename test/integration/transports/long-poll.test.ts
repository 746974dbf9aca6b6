import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MemoryBus } from '../../../src/brokers/memory.js';
import { get, post, startNode, type TestNode } from '../../helpers/node.js';

const namespaces = { h: { historySize: 20 } };

describe('long-polling', () => {
  let a: TestNode;
  let b: TestNode;
  before(async () => {
    const bus = new MemoryBus();
    a = await startNode({ 'channels.namespaces': namespaces, 'longPoll.timeout': '300ms' }, { bus });
    b = await startNode({ 'channels.namespaces': namespaces, 'longPoll.timeout': '300ms' }, { bus });
  });
  after(async () => {
    await a.stop();
    await b.stop();
  });

  const poll = (node: TestNode, channels: string, cursor?: string) =>
    get(`${node.url}/poll?channels=${channels}${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);

  it('answers a first poll at once with the current cursor', async () => {
    await post(`${a.url}/api/publish`, { channel: 'h:first', data: 'before' });
    const res = await poll(a, 'h:first');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.messages, []);
    assert.match(res.body.cursor, /^h:first~1~[0-9a-f]+$/);
  });

  it('holds a poll until a publication arrives, then answers with it', async () => {
    const { body: start } = await poll(a, 'h:hold');
    const waiting = poll(a, 'h:hold', start.cursor);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await post(`${a.url}/api/publish`, { channel: 'h:hold', data: 'woke' });
    const res = await waiting;
    assert.deepEqual(
      res.body.messages.map((m: any) => m.data),
      ['woke'],
    );
    assert.notEqual(res.body.cursor, start.cursor);
  });

  it('answers at once with everything published since the cursor, and the next poll may go to another node', async () => {
    const { body: start } = await poll(a, 'h:any,h:other');
    await post(`${a.url}/api/publish`, [
      { channel: 'h:any', data: 1 },
      { channel: 'h:other', data: 'x' },
      { channel: 'h:any', data: 2 },
    ]);
    const onB = await poll(b, 'h:any,h:other', start.cursor);
    assert.deepEqual(
      onB.body.messages.map((m: any) => [m.channel, m.data]),
      [
        ['h:any', 1],
        ['h:any', 2],
        ['h:other', 'x'],
      ],
    );
    await post(`${b.url}/api/publish`, { channel: 'h:any', data: 3 });
    const onA = await poll(a, 'h:any,h:other', onB.body.cursor);
    assert.deepEqual(
      onA.body.messages.map((m: any) => m.data),
      [3],
    );
  });

  it('answers an empty list with the same cursor when nothing arrives within the timeout', async () => {
    const { body: start } = await poll(a, 'h:quiet');
    const res = await poll(a, 'h:quiet', start.cursor);
    assert.deepEqual(res.body.messages, []);
    assert.equal(res.body.cursor, start.cursor);
  });

  it('lists channels whose cursor fell out of the window as reset', async () => {
    const { body: start } = await poll(a, 'h:burst');
    await post(
      `${a.url}/api/publish`,
      Array.from({ length: 30 }, (_, i) => ({ channel: 'h:burst', data: i })),
    );
    const res = await poll(a, 'h:burst', start.cursor);
    assert.deepEqual(res.body.reset, ['h:burst']);
    assert.deepEqual(res.body.messages, []);
    assert.match(res.body.cursor, /^h:burst~30~/);
  });

  it('keeps the place of channels that did not fit in a full answer, losing nothing', async () => {
    const small = await startNode({ 'channels.namespaces': namespaces, 'longPoll.maxMessages': 2 });
    try {
      const { body: start } = await poll(small, 'h:a,h:b');
      await post(`${small.url}/api/publish`, [
        { channel: 'h:a', data: 'a1' },
        { channel: 'h:a', data: 'a2' },
        { channel: 'h:b', data: 'b1' },
      ]);
      const first = await poll(small, 'h:a,h:b', start.cursor);
      assert.deepEqual(
        first.body.messages.map((m: any) => m.data),
        ['a1', 'a2'],
      );
      assert.equal(first.body.reset, undefined);
      const second = await poll(small, 'h:a,h:b', first.body.cursor);
      assert.deepEqual(
        second.body.messages.map((m: any) => m.data),
        ['b1'],
      );
    } finally {
      await small.stop();
    }
  });

  it('refuses channels without history and malformed cursors with bad_request', async () => {
    const plain = await poll(a, 'plain');
    assert.equal(plain.status, 400);
    assert.equal(plain.body.error.code, 'bad_request');
    const broken = await poll(a, 'h:x', 'not-a-cursor');
    assert.equal(broken.status, 400);
  });
});
