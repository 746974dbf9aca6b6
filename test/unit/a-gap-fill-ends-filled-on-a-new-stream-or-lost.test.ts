import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Publication } from '../../src/brokers/broker.js';
import { fillOutcome } from '../../src/hub/gap-fill.js';

const at = (offset: number, epoch: string): Publication => ({ channel: 'feed', data: offset, time: 0, offset, epoch });
const since = { offset: 4, epoch: 'e1' };

it('history that holds every publication after the position sent fills the gap', () => {
  assert.equal(fillOutcome(since, { publications: [at(5, 'e1'), at(6, 'e1')], position: { offset: 6, epoch: 'e1' } }), 'filled');
  assert.equal(fillOutcome(since, { publications: [], position: since }), 'filled');
});

it('history of another stream held from its first publication is a new stream to go on with', () => {
  assert.equal(fillOutcome(since, { publications: [at(1, 'e2'), at(2, 'e2')], position: { offset: 2, epoch: 'e2' } }), 'new_stream');
  assert.equal(fillOutcome(since, { publications: [], position: { offset: 0, epoch: '' } }), 'new_stream', 'a broker that came back empty');
});

it('history that misses part of the gap, or holds another stream only from its middle, or cannot be read, loses the gap', () => {
  assert.equal(fillOutcome(since, { publications: [at(6, 'e1')], position: { offset: 6, epoch: 'e1' } }), 'lost');
  assert.equal(fillOutcome(since, { publications: [at(3, 'e2')], position: { offset: 3, epoch: 'e2' } }), 'lost');
  assert.equal(fillOutcome(since, { publications: [], position: { offset: 3, epoch: 'e1' } }), 'lost', 'history behind the position sent');
  assert.equal(fillOutcome(since, undefined), 'lost');
});
