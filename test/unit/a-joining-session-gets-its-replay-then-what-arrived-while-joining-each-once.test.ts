import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Publication } from '../../src/brokers/broker.js';
import { catchUp } from '../../src/hub/gap-fill.js';

const at = (offset: number, epoch = 'e1'): Publication => ({ channel: 'feed', data: offset, time: 0, offset, epoch });
const offsets = (pubs: Publication[]) => pubs.map((pub) => `${pub.epoch}:${pub.offset}`);

it('a session resuming from a position history continues gets the replay, then only the held publications after it', () => {
  const history = { publications: [at(3), at(4), at(5)], position: { offset: 5, epoch: 'e1' } };
  const joined = catchUp(history, { offset: 2, epoch: 'e1' }, [at(4), at(5), at(6), at(7)]);
  assert.equal(joined.recovered, true);
  assert.deepEqual(offsets(joined.publications), ['e1:3', 'e1:4', 'e1:5', 'e1:6', 'e1:7']);
  assert.equal(joined.top, 7);
});

it('a session whose position history no longer continues is not recovered and gets only what arrived after the history read', () => {
  const history = { publications: [at(8), at(9)], position: { offset: 9, epoch: 'e1' } };
  const joined = catchUp(history, { offset: 2, epoch: 'e1' }, [at(9), at(10)]);
  assert.equal(joined.recovered, false);
  assert.deepEqual(offsets(joined.publications), ['e1:10']);
  assert.equal(joined.top, 10);
});

it('a session joining without a position gets the held publications after the stream top, and those of a new stream', () => {
  const history = { publications: [], position: { offset: 5, epoch: 'e1' } };
  const joined = catchUp(history, undefined, [at(5), at(6), at(1, 'e2')]);
  assert.equal(joined.recovered, undefined);
  assert.deepEqual(offsets(joined.publications), ['e1:6', 'e2:1']);
  assert.equal(joined.top, 6);
});
