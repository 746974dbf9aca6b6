import assert from 'node:assert/strict';
import { it } from 'node:test';
import { arrivalOf } from '../../src/hub/gap-fill.js';

const sentUpTo = { offset: 7, epoch: 'e1' };

it('a publication at or before the position sent in the same stream was already sent', () => {
  assert.equal(arrivalOf(sentUpTo, 7, 'e1'), 'sent');
  assert.equal(arrivalOf(sentUpTo, 1, 'e1'), 'sent');
});

it('the one right after the position sent is the next, and so is the first of a new stream', () => {
  assert.equal(arrivalOf(sentUpTo, 8, 'e1'), 'next');
  assert.equal(arrivalOf(sentUpTo, 1, 'e2'), 'next');
});

it('one further on, or a new stream not from its first publication, is past a gap', () => {
  assert.equal(arrivalOf(sentUpTo, 9, 'e1'), 'gap');
  assert.equal(arrivalOf(sentUpTo, 2, 'e2'), 'gap');
  assert.equal(arrivalOf({ offset: 0, epoch: '' }, 3, 'e1'), 'gap');
});
