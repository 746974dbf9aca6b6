import assert from 'node:assert/strict';
import { it } from 'node:test';
import { scheduleFlush } from '../../src/sessions/outbox.js';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

it('the outbox flushes many sessions in passes of 1,024 with an event-loop turn between them, each session once', async () => {
  const flushed: number[] = [];
  const sessions = Array.from({ length: 3000 }, (_, i) => ({ flush: () => flushed.push(i) }));
  for (const session of sessions) scheduleFlush(session);
  // The first pass runs in the check phase right after this turn.
  await nextTurn();
  assert.equal(flushed.length, 1024);
  // A session that gets bytes during the flush is flushed by this same flush, after the others.
  scheduleFlush(sessions[0]!);
  let turns = 1;
  while (flushed.length < 3001) {
    await nextTurn();
    turns += 1;
    assert.ok(turns < 10, `still flushing after ${turns} turns`);
  }
  assert.equal(turns, 3);
  assert.deepEqual(
    flushed.slice(0, 3000),
    sessions.map((_, i) => i),
  );
  assert.equal(flushed[3000], 0);
  await nextTurn();
  assert.equal(flushed.length, 3001, 'nothing is flushed twice');
});
