import assert from 'node:assert/strict';
import { it } from 'node:test';
import { SwitchboardError } from '../../src/protocol/errors.js';
import { decodeCursor, encodeCursor } from '../../src/protocol/cursor.js';

/** The error a cursor is refused with. */
function refusal(text: string): SwitchboardError {
  try {
    decodeCursor(text);
  } catch (err) {
    assert.ok(err instanceof SwitchboardError);
    return err;
  }
  assert.fail(`taken: ${text.slice(0, 40)}`);
}

it('a cursor names the position of each of its channels, and decodes to what was encoded', () => {
  const positions = new Map([
    ['feed', { offset: 4, epoch: '439322b8' }],
    ['chat:1', { offset: 12, epoch: '' }],
  ]);
  const text = encodeCursor(positions);
  assert.equal(text, 'feed~4~439322b8,chat:1~12~');
  assert.deepEqual(decodeCursor(text), positions);
  assert.deepEqual(decodeCursor(''), new Map(), 'no channels');
});

it('a cursor with one malformed entry is refused whole with bad_request, not taken in part', () => {
  for (const text of ['feed~4~e1,chat~x~e2', 'feed~4~e1,', 'feed~4', 'feed~-1~e1', 'feed~1.5~e1', '~1~e1']) {
    const err = refusal(text);
    assert.equal(err.code, 'bad_request', text);
    assert.match(err.message, /malformed/, text);
  }
});

it('a cursor longer than any the server gives is refused with bad_request before it is read', () => {
  const err = refusal(`feed~1~${'e'.repeat(16_384)}`);
  assert.equal(err.code, 'bad_request');
  assert.match(err.message, /too long/);
});
