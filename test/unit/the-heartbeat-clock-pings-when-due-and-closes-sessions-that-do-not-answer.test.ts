import assert from 'node:assert/strict';
import { afterEach, beforeEach, it, mock } from 'node:test';
import { CloseCodes } from '../../src/protocol/errors.js';
import { HeartbeatClock } from '../../src/sessions/heartbeat.js';
import { SessionRegistry } from '../../src/sessions/registry.js';
import { linesOf, nextTurn, recordingSink, sessionOn } from '../helpers/sessions.js';

const interval = 10_000;
const closeGracePeriod = 4_000;

beforeEach(() => mock.timers.enable({ apis: ['setInterval', 'setTimeout', 'Date'], now: 0 }));
afterEach(() => mock.timers.reset());

/** Moves the clock on in steps of the sweep period, so each sweep sees its own time. */
function advance(ms: number): void {
  for (let step = 0; step < ms; step += 1000) mock.timers.tick(Math.min(1000, ms - step));
}

/** A running clock over one session whose first heartbeat is due at `interval`. */
function clockWithSession(answersPings = true) {
  const registry = new SessionRegistry();
  const sink = recordingSink({ answersPings });
  const session = sessionOn(sink);
  session.nextHeartbeatAt = interval;
  registry.add(session);
  const clock = new HeartbeatClock(
    registry,
    { interval, closeGracePeriod },
    () => {},
    () => {},
  );
  clock.start();
  return { clock, sink, session };
}

it('a heartbeat goes out when it is due and the next one an interval later', async () => {
  const { clock, sink, session } = clockWithSession();
  advance(interval - 1);
  assert.equal(sink.pings, 0);
  advance(1);
  assert.equal(sink.pings, 1);
  session.lastSeen = Date.now();
  advance(interval - 2000);
  assert.equal(sink.pings, 1);
  advance(2000);
  assert.equal(sink.pings, 2);
  await nextTurn();
  assert.deepEqual(linesOf(sink), [{ type: 'ping' }, { type: 'ping' }], 'transports without ping frames get a ping message');
  clock.stop();
});

it('a session that answers each heartbeat stays open, until it stops answering', () => {
  const { clock, sink, session } = clockWithSession();
  for (let beat = 1; beat <= 5; beat++) {
    advance(interval);
    assert.equal(sink.pings, beat);
    session.lastSeen = Date.now();
  }
  assert.ok(session.isOpen);
  advance(interval + closeGracePeriod + 2000);
  assert.equal(session.isOpen, false);
  clock.stop();
});

it('a session that does not answer within the grace period is closed with idle_timeout', () => {
  const { clock, sink, session } = clockWithSession();
  advance(interval);
  assert.equal(sink.pings, 1);
  advance(closeGracePeriod);
  assert.ok(session.isOpen, 'the grace period is not over yet');
  advance(closeGracePeriod / 2);
  assert.equal(session.isOpen, false);
  assert.deepEqual(sink.ended, { code: CloseCodes.idleTimeout, reason: 'idle_timeout' });
  clock.stop();
});

it('a sweep that runs late after a stall does not close a silent session; the next punctual one does', () => {
  const { clock, session } = clockWithSession();
  clock.sweep(interval);
  clock.sweep(interval + closeGracePeriod + 10_000);
  assert.ok(session.isOpen, 'answers may be waiting unread after a stall');
  clock.sweep(interval + closeGracePeriod + 11_000);
  assert.equal(session.isOpen, false);
  clock.stop();
});

it('a session whose transport cannot answer pings gets heartbeats and is never closed for silence', () => {
  const { clock, sink, session } = clockWithSession(false);
  advance(interval * 5);
  assert.equal(sink.pings, 5);
  assert.ok(session.isOpen);
  clock.stop();
});

it('the first heartbeat of a new session falls within one interval, after half of it', () => {
  const { clock } = clockWithSession();
  for (let i = 0; i < 100; i++) {
    const at = clock.firstHeartbeatAt(1000);
    assert.ok(at >= 1000 + interval / 2 && at <= 1000 + interval, String(at));
  }
  clock.stop();
});
