import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { DeferredBytes } from '../../src/sessions/session.js';
import { nextTurn, recordingSink, sessionOn } from '../helpers/sessions.js';

/** A source that gathers text parts and joins them when the session asks. */
class Batch implements DeferredBytes {
  parts: string[] = [];
  taken = 0;
  dropped = 0;

  add(part: string): boolean {
    this.parts.push(part);
    return this.parts.length === 1;
  }

  copyTo(target: Buffer, at: number): number {
    this.taken += 1;
    const written = target.write(this.parts.join(''), at);
    this.parts = [];
    return at + written;
  }

  drop(): void {
    this.dropped += 1;
    this.parts = [];
  }
}

function queue(session: ReturnType<typeof sessionOn>, batch: Batch, part: string): void {
  if (batch.add(part)) session.enqueueDeferred(batch, part.length);
  else session.queuedMore(part.length);
}

it('a deferred batch is made into bytes once when its session flushes, in its place among the bytes queued around it', async () => {
  const sink = recordingSink();
  const session = sessionOn(sink, {});
  const batch = new Batch();
  session.enqueue(Buffer.from('<before>'));
  queue(session, batch, 'a');
  queue(session, batch, 'b');
  session.enqueue(Buffer.from('<after>'));
  queue(session, batch, 'c');
  assert.equal(batch.taken, 0, 'nothing is made before the flush');
  await nextTurn();
  assert.equal(batch.taken, 1);
  assert.deepEqual(
    sink.written.map((b) => b.toString()),
    ['<before>abc<after>'],
  );
  assert.equal(session.messagesSent, 5);
  assert.equal(session.bytesSent, '<before>'.length + '<after>'.length + 3);

  // The next turn's messages start a new batch.
  queue(session, batch, 'd');
  await nextTurn();
  assert.deepEqual(
    sink.written.map((b) => b.toString()),
    ['<before>abc<after>', 'd'],
  );
});

it('a deferred batch alone is written as it is made, with no join', async () => {
  const sink = recordingSink();
  const session = sessionOn(sink, {});
  const batch = new Batch();
  queue(session, batch, 'only');
  await nextTurn();
  assert.deepEqual(
    sink.written.map((b) => b.toString()),
    ['only'],
  );
});

it('a session that drops its queue drops its deferred batches unmade, and counts their bytes as dropped', () => {
  const sink = recordingSink({ drains: false });
  const session = sessionOn(sink, { maxBufferedBytes: 10 });
  const batch = new Batch();
  queue(session, batch, 'x'.repeat(6));
  queue(session, batch, 'y'.repeat(6));
  assert.equal(session.isOpen, false, 'closed as a slow consumer');
  assert.equal(session.droppedBytes, 12);
  assert.equal(batch.dropped, 1);
  assert.equal(batch.taken, 0);
  assert.deepEqual(batch.parts, []);
  assert.deepEqual(sink.written, []);
});
