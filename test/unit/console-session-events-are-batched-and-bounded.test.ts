import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SessionEventBatcher, type SessionEvents } from '../../src/admin/session-events.js';
import { WireFormat } from '../../src/protocol/wire.js';
import type { Session } from '../../src/sessions/session.js';

const session = (id: string) => ({ id, user: `u-${id}`, format: WireFormat.ws, remote: '127.0.0.1:1', connectedAt: 0 }) as unknown as Session;

describe('the $admin:sessions batches of a node', () => {
  it('hand over the events of one period together, at most admin.maxSessionEvents of them, counting the rest', async () => {
    const batches: SessionEvents[] = [];
    let dropped = 0;
    const batcher = new SessionEventBatcher(
      'n1',
      (events) => batches.push(events),
      2,
      () => (dropped += 1),
      50,
    );
    batcher.sessionOpened(session('a'));
    batcher.sessionOpened(session('b'));
    batcher.sessionClosed(session('a'), 'client_closed');
    assert.equal(batches.length, 0, 'nothing before the period ends');
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(batches.length, 1);
    assert.deepEqual(
      batches[0]!.opened.map((s) => s.id),
      ['a', 'b'],
    );
    assert.deepEqual(batches[0]!.closed, []);
    assert.equal(batches[0]!.dropped, 1);
    assert.equal(dropped, 1);
    assert.equal(batches[0]!.node, 'n1');
    batcher.sessionClosed(session('b'), 'revoked');
    await new Promise((r) => setTimeout(r, 120));
    assert.deepEqual(batches[1]!.closed, [{ id: 'b', user: 'u-b', reason: 'revoked' }]);
    batcher.stop();
  });
});
