import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Publication } from '../../src/brokers/broker.js';
import { MemoryBroker, MemoryBus } from '../../src/brokers/memory.js';

const pub = (channel: string, data: unknown, time = Date.now()): Publication => ({ channel, data, time });

describe('memory broker history', () => {
  it('numbers publications from 1 within one epoch and returns their positions', async () => {
    const broker = new MemoryBroker();
    const first = await broker.publish(pub('h', 'a'), { history: { size: 10, ttl: 0 } });
    const second = await broker.publish(pub('h', 'b'), { history: { size: 10, ttl: 0 } });
    assert.equal(first!.offset, 1);
    assert.equal(second!.offset, 2);
    assert.equal(first!.epoch, second!.epoch);
    const { publications, position } = await broker.history('h', {});
    assert.deepEqual(
      publications.map((p) => p.data),
      ['a', 'b'],
    );
    assert.deepEqual(position, second);
  });

  it('keeps at most size publications and answers only those after a position', async () => {
    const broker = new MemoryBroker();
    for (let i = 1; i <= 300; i++) await broker.publish(pub('h', i), { history: { size: 100, ttl: 0 } });
    const all = await broker.history('h', {});
    assert.equal(all.publications.length, 100);
    assert.equal(all.publications[0]!.offset, 201);
    const since = await broker.history('h', { since: { offset: 290, epoch: all.position.epoch } });
    assert.deepEqual(
      since.publications.map((p) => p.data),
      [291, 292, 293, 294, 295, 296, 297, 298, 299, 300],
    );
    const limited = await broker.history('h', { since: { offset: 250, epoch: all.position.epoch }, limit: 3 });
    assert.deepEqual(
      limited.publications.map((p) => p.offset),
      [251, 252, 253],
    );
    const reversed = await broker.history('h', { reverse: true, limit: 2 });
    assert.deepEqual(
      reversed.publications.map((p) => p.offset),
      [300, 299],
    );
  });

  it('forgets a stream ttl after its last publication and starts a new epoch', async () => {
    const broker = new MemoryBroker();
    const old = await broker.publish(pub('h', 'old'), { history: { size: 10, ttl: 50 } });
    assert.equal((await broker.history('h', {})).publications.length, 1);
    await new Promise((resolve) => setTimeout(resolve, 80));
    assert.deepEqual(await broker.history('h', {}), { publications: [], position: { offset: 0, epoch: '' } });
    const fresh = await broker.publish(pub('h', 'new'), { history: { size: 10, ttl: 50 } });
    assert.notEqual(fresh!.epoch, old!.epoch);
    assert.equal(fresh!.offset, 1);
  });

  it('shares streams between brokers on one bus, as nodes share Redis', async () => {
    const bus = new MemoryBus();
    const a = new MemoryBroker(bus);
    const b = new MemoryBroker(bus);
    const received: unknown[] = [];
    b.onPublication((p) => received.push(p.data));
    await b.subscribe('shared');
    await a.publish(pub('shared', 1), { history: { size: 10, ttl: 0 } });
    assert.deepEqual(received, [1]);
    assert.equal((await b.history('shared', {})).publications.length, 1);
  });

  it('answers a channel without history with an empty list and no epoch', async () => {
    const broker = new MemoryBroker();
    await broker.publish(pub('plain', 1));
    assert.deepEqual(await broker.history('plain', {}), { publications: [], position: { offset: 0, epoch: '' } });
  });
});
