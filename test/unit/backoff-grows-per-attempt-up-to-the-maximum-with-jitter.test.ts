import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { Backoff, backoffDelay, OutageBackoff } from '../../src/backends/backoff.js';

describe('retry backoff', () => {
  it('doubles per attempt up to the maximum, with jitter in the upper half', () => {
    const policy = { initial: 100, max: 10_000, jitter: 'half' } as const;
    for (let i = 0; i < 50; i++) {
      const first = backoffDelay(policy, 1);
      assert.ok(first >= 50 && first <= 100, String(first));
      const fourth = backoffDelay(policy, 4);
      assert.ok(fourth >= 400 && fourth <= 800, String(fourth));
      const capped = backoffDelay(policy, 30);
      assert.ok(capped >= 5000 && capped <= 10_000, String(capped));
    }
  });

  it('spreads full jitter from zero to the delay and gives the delay itself without jitter', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const full = backoffDelay({ initial: 1000, max: 5000, jitter: 'full' }, 2);
      assert.ok(full >= 0 && full <= 2000, String(full));
      seen.add(Math.floor((full * 4) / 2001));
    }
    assert.deepEqual([...seen].sort(), [0, 1, 2, 3]);
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((attempt) => backoffDelay({ initial: 100, max: 1000, jitter: 'none', factor: 3 }, attempt)),
      [100, 300, 900, 1000, 1000],
    );
  });

  it('counts attempts in a row until it is reset', () => {
    const backoff = new Backoff({ initial: 100, max: 5000, jitter: 'none' });
    assert.deepEqual([backoff.next(), backoff.next(), backoff.next()], [100, 200, 400]);
    backoff.reset();
    assert.equal(backoff.next(), 100);
  });

  it('grows the waits of an outage with its length, within the bounds, until it is over', (t) => {
    mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
    t.after(() => mock.timers.reset());
    const backoff = new OutageBackoff({ initial: 100, max: 5000, jitter: 'none' });
    assert.equal(backoff.delay(), 100);
    backoff.down();
    mock.timers.tick(150);
    assert.equal(backoff.delay(), 100);
    mock.timers.tick(850);
    assert.equal(backoff.delay(), 500);
    backoff.down();
    mock.timers.tick(60_000);
    assert.equal(backoff.delay(), 5000);
    backoff.recovered();
    assert.equal(backoff.delay(), 100);
  });
});
