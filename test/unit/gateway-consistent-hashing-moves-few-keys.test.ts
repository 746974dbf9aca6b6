import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Balancer } from '../../src/gateway/balancer.js';
import type { Upstream } from '../../src/gateway/upstreams.js';

/** Stand-ins with only what the balancer reads: a key, a weight and requests in flight. */
function upstreams(count: number, weight = (_: number) => 1): Upstream[] {
  return Array.from({ length: count }, (_, i) => ({ key: `svc\ni${i}`, outstanding: 0, instance: { weight: weight(i) } }) as unknown as Upstream);
}

describe('gateway balancer', () => {
  it('keeps most keys in place when an instance joins, and spreads them evenly', () => {
    const balancer = new Balancer('hash');
    const four = upstreams(4);
    const five = upstreams(5);
    const keys = Array.from({ length: 2000 }, (_, i) => `user-${i}`);
    const before = keys.map((k) => balancer.pick(four, four, k)!.key);
    const after = keys.map((k) => balancer.pick(five, five, k)!.key);
    const moved = keys.filter((_, i) => before[i] !== after[i]).length;
    // Ideally a fifth of the keys move, all to the new instance.
    assert.ok(moved < keys.length * 0.3, `${moved} of ${keys.length} keys moved`);
    assert.ok(
      keys.every((_, i) => before[i] === after[i] || after[i] === 'svc\ni4'),
      'keys only move to the new instance',
    );
    const counts = new Map<string, number>();
    for (const key of before) counts.set(key, (counts.get(key) ?? 0) + 1);
    for (const n of counts.values()) assert.ok(n > 350 && n < 650, `share ${n} of 2000 over 4 instances`);
  });

  it('sends the keys of an unavailable instance elsewhere and leaves the others alone', () => {
    const balancer = new Balancer('hash');
    const all = upstreams(3);
    const keys = Array.from({ length: 300 }, (_, i) => `k${i}`);
    const home = keys.map((k) => balancer.pick(all, all, k)!.key);
    const without = all.slice(1);
    for (const [i, k] of keys.entries()) {
      const now = balancer.pick(without, all, k)!.key;
      if (home[i] !== 'svc\ni0') assert.equal(now, home[i]);
      else assert.notEqual(now, 'svc\ni0');
    }
  });

  it("gives each instance its weight's share with round robin, interleaved", () => {
    const balancer = new Balancer('round_robin');
    const all = upstreams(2, (i) => (i === 0 ? 2 : 1));
    const picks = Array.from({ length: 6 }, () => balancer.pick(all, all, undefined)!.key.slice(4));
    assert.deepEqual(picks, ['i0', 'i1', 'i0', 'i0', 'i1', 'i0']);
  });
});
