import assert from 'node:assert/strict';
import { it } from 'node:test';
import { CircuitBreaker, type BreakerState } from '../../src/routing/breaker.js';

it('a circuit breaker opens after consecutive failures, probes once after openFor and closes on success', () => {
  let now = 0;
  const changes: BreakerState[] = [];
  const breaker = new CircuitBreaker(
    { failures: 2, openFor: 100 },
    (s) => changes.push(s),
    () => now,
  );
  assert.ok(breaker.allow());
  breaker.failure();
  breaker.success();
  breaker.failure();
  assert.equal(breaker.state, 'closed', 'a success in between resets the count');
  breaker.failure();
  assert.equal(breaker.state, 'open');
  assert.equal(breaker.allow(), false);
  assert.equal(breaker.retryAfter(), 100);
  now = 100;
  assert.equal(breaker.allow(), true, 'the probe');
  assert.equal(breaker.state, 'half_open');
  assert.equal(breaker.allow(), false, 'only one probe at a time');
  breaker.success();
  assert.equal(breaker.state, 'closed');
  assert.deepEqual(changes, ['open', 'half_open', 'closed']);
});
