import assert from 'node:assert/strict';
import { it, mock } from 'node:test';
import { closeCodeOf } from '../../src/protocol/errors.js';
import { nextTurn, recordingSink, sessionOn } from '../helpers/sessions.js';

const chunk = Buffer.alloc(1000, 'x');

it('a session whose socket buffer outgrows maxBufferedBytes is closed with slow_consumer, the undelivered bytes counted', async () => {
  const sink = recordingSink({ drains: false });
  const ended: string[] = [];
  const session = sessionOn(sink, { maxBufferedBytes: 2500 }, ended);
  // Each turn's write stays in the socket buffer: the third one takes it past the limit.
  for (let turn = 1; turn <= 2; turn++) {
    session.enqueue(chunk);
    await nextTurn();
    assert.ok(session.isOpen, `still open after ${turn} kB buffered`);
  }
  session.enqueue(chunk);
  await nextTurn();
  assert.equal(session.isOpen, false);
  assert.deepEqual(sink.ended, { code: closeCodeOf('slow_consumer'), reason: 'slow_consumer' });
  assert.equal(session.droppedBytes, 3000);
  // Nothing more is queued for a session being closed.
  session.enqueue(chunk);
  await nextTurn();
  assert.equal(sink.written.length, 3);
  session.handleClosed();
  assert.deepEqual(ended, ['slow_consumer']);
});

it('a session that queues more than maxBufferedBytes in one turn is closed at once, before anything is written', () => {
  const sink = recordingSink({ drains: false });
  const session = sessionOn(sink, { maxBufferedBytes: 2500 });
  for (let i = 0; i < 3; i++) session.enqueue(chunk);
  assert.equal(session.isOpen, false);
  assert.equal(sink.ended?.reason, 'slow_consumer');
  assert.equal(session.droppedBytes, 3000);
  assert.deepEqual(sink.written, [], 'the queue is discarded, not written');
});

it('a session whose sink drains stays open however much goes through it', async () => {
  const sink = recordingSink();
  const session = sessionOn(sink, { maxBufferedBytes: 2500 });
  for (let turn = 0; turn < 20; turn++) {
    session.enqueue(chunk);
    session.enqueue(chunk);
    await nextTurn();
  }
  assert.ok(session.isOpen);
  assert.equal(session.bytesSent, 40_000);
  assert.equal(session.droppedBytes, 0);
});

it('a slow consumer that does not close within the grace period is dropped', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const sink = recordingSink({ drains: false });
    const session = sessionOn(sink, { maxBufferedBytes: 2500, closeGracePeriod: 5000 });
    for (let i = 0; i < 3; i++) session.enqueue(chunk);
    mock.timers.tick(4999);
    assert.equal(sink.destroyed, false);
    mock.timers.tick(1);
    assert.equal(sink.destroyed, true);
  } finally {
    mock.timers.reset();
  }
});
