import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { DeferredBytes, Session } from '../../src/sessions/session.js';
import { nextTurn, recordingSink, sessionOn, type RecordingSink } from '../helpers/sessions.js';

/** A batch holding one text, copied into the session's bytes at flush. */
function batchOf(text: string): DeferredBytes {
  return {
    copyTo: (target, at) => at + target.write(text, at),
    drop: () => {},
  };
}

function queueText(session: Session, text: string): void {
  session.enqueueDeferred(batchOf(text), Buffer.byteLength(text));
}

/** A sink that passes transient writes on, or keeps them when `keeps` says so; it records each write's text and memory. */
function transientSink(keeps: boolean): RecordingSink & { texts: string[]; memory: [ArrayBufferLike, number][] } {
  const sink = Object.assign(recordingSink(), { texts: [] as string[], memory: [] as [ArrayBufferLike, number][] });
  sink.writeTransient = (bytes: Buffer) => {
    sink.texts.push(bytes.toString());
    sink.memory.push([bytes.buffer, bytes.byteOffset]);
    if (keeps) sink.written.push(bytes);
    return !keeps;
  };
  return sink;
}

it('sessions whose sink passes the bytes on build them one after the other in the same memory', async () => {
  const sinks = [transientSink(false), transientSink(false)];
  const [first, second] = sinks.map((sink) => sessionOn(sink));
  queueText(first!, 'first');
  queueText(second!, 'second');
  await nextTurn();
  assert.deepEqual(
    sinks.map((s) => s.texts),
    [['first'], ['second']],
  );
  assert.deepEqual(sinks[0]!.memory[0], sinks[1]!.memory[0]);
});

it('bytes a sink had to keep are never written over by the next session', async () => {
  const keeping = transientSink(true);
  const next = transientSink(false);
  queueText(sessionOn(keeping), 'kept bytes');
  queueText(sessionOn(next), 'other text');
  await nextTurn();
  assert.equal(keeping.written[0]!.toString(), 'kept bytes');
  assert.notDeepEqual(keeping.memory[0], next.memory[0]);
});

it('a sink that keeps whatever it is given, or already holds bytes, gets bytes of its own', async () => {
  const keepsAll = recordingSink();
  const backedUp = transientSink(false);
  backedUp.buffered = 100;
  const after = transientSink(false);
  queueText(sessionOn(keepsAll), 'held by the sink');
  queueText(sessionOn(backedUp), 'waits behind others');
  queueText(sessionOn(after), 'written later, in the same turn');
  await nextTurn();
  assert.deepEqual([keepsAll.written[0]!.toString(), backedUp.written[0]!.toString()], ['held by the sink', 'waits behind others']);
  assert.deepEqual(backedUp.texts, [], 'written with write, not writeTransient');
  assert.deepEqual(after.texts, ['written later, in the same turn']);
});
