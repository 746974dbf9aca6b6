import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoff } from '../../src/topics/push.js';

describe('push retry backoff', () => {
  it('doubles per attempt up to the maximum, with jitter in the upper half', () => {
    for (let i = 0; i < 50; i++) {
      const first = backoff(1, 100, 10_000);
      assert.ok(first >= 50 && first <= 100, String(first));
      const fourth = backoff(4, 100, 10_000);
      assert.ok(fourth >= 400 && fourth <= 800, String(fourth));
      const capped = backoff(30, 100, 10_000);
      assert.ok(capped >= 5000 && capped <= 10_000, String(capped));
    }
  });
});
