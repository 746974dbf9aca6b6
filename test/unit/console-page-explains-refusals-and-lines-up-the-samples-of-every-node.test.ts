import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explainRefusal, tokenExpiry } from '../../src/admin/console/api.js';
import { addSample, chartOf, type StatsSample } from '../../src/admin/console/stats.js';

const jwtWith = (claims: object) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

const sample = (t: number, connections: number): StatsSample => ({ t, connections, subscriptions: 0, publications: 0, deliveries: 0, errors: 0, cpu: 0, rss: 0, heapUsed: 0 });

describe('the console page', () => {
  it('reads the expiry of a JWT and treats anything else as a key without one', () => {
    assert.deepEqual(tokenExpiry(jwtWith({ exp: 1_800_000_000 })), new Date(1_800_000_000_000));
    assert.equal(tokenExpiry(jwtWith({ sub: 'ops' })), undefined);
    assert.equal(tokenExpiry('a-plain-api-key'), undefined);
    assert.equal(tokenExpiry('not.a.jwt'), undefined);
  });

  it('tells an expired token from a wrong key, and a read-only role from other refusals', () => {
    const expired = jwtWith({ exp: Math.floor(Date.now() / 1000) - 60 });
    assert.match(explainRefusal(401, 'unauthorized', 'token expired', expired), /^Your token expired at .*Sign in with a new one\.$/);
    assert.match(explainRefusal(401, 'unauthorized', 'a valid API key is required', 'wrong-key'), /^The node refused this key or token \(a valid API key is required\)/);
    assert.match(
      explainRefusal(403, 'forbidden', 'POST /api/publish needs the admin role', 'key'),
      /read-only role, which sees everything but changes nothing.*\(POST \/api\/publish needs the admin role\)$/,
    );
    assert.equal(explainRefusal(400, 'bad_request', 'reason is too long', 'key'), 'reason is too long (bad_request, HTTP 400)');
  });

  it('lines up the samples of several nodes on one time axis, leaving gaps where a node had none', () => {
    const stats = new Map([
      ['a', [sample(1000, 1), sample(2000, 2)]],
      ['b', [sample(1500, 5)]],
    ]);
    assert.deepEqual(chartOf(stats, 'connections'), {
      times: [1, 1.5, 2],
      series: [
        { label: 'a', values: [1, null, 2] },
        { label: 'b', values: [null, 5, null] },
      ],
    });
  });

  it('adds a live sample to its node, drops samples older than the window and ignores what is not a sample', () => {
    const now = Date.now();
    const stats = new Map([['a', [sample(now - 20 * 60_000, 1), sample(now - 1000, 2)]]]);
    const next = addSample(stats, { node: 'a', interval: 1000, sample: sample(now, 3) }, 15);
    assert.deepEqual(
      next.get('a')!.map((s) => s.connections),
      [2, 3],
    );
    assert.equal(addSample(next, { something: 'else' }, 15), next);
    const other = addSample(next, { node: 'b', sample: sample(now, 7) }, 15);
    assert.deepEqual([...other.keys()], ['a', 'b']);
  });
});
