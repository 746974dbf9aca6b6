import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchOverQuota, PublishQuotas, QuotaExceeded } from '../../src/topics/quotas.js';

describe('publish quotas', () => {
  it('admit up to one second of the rate at once, then refuse with the seconds to wait', () => {
    const quotas = new PublishQuotas();
    const limits = { messagesPerSecond: 10, bytesPerSecond: 1_000_000 };
    quotas.take('a', limits, 10, 100);
    assert.throws(
      () => quotas.take('a', limits, 5, 100),
      (err: unknown) => err instanceof QuotaExceeded && err.code === 'rate_limited' && err.quota === 'messages_per_second' && err.retryAfterSeconds === 1,
    );
    quotas.take('b', limits, 10, 100);
  });

  it('refuse over the bytes-per-second quota without taking any messages', () => {
    const quotas = new PublishQuotas();
    const limits = { messagesPerSecond: 100, bytesPerSecond: 1000 };
    assert.throws(
      () => {
        quotas.take('a', limits, 1, 800);
        quotas.take('a', limits, 1, 800);
      },
      (err: unknown) => err instanceof QuotaExceeded && err.quota === 'bytes_per_second',
    );
    quotas.take('a', limits, 99, 100);
  });

  it('refuse a request larger than one second of the rate whole, as too large, and keep the bucket for the next', () => {
    const quotas = new PublishQuotas();
    const limits = { messagesPerSecond: 10, bytesPerSecond: 1000 };
    assert.throws(
      () => quotas.take('a', limits, 25, 100),
      (err: unknown) => err instanceof BatchOverQuota && err.code === 'too_large' && err.quota === 'messages_per_second' && /25 messages/.test(err.message),
    );
    assert.throws(
      () => quotas.take('a', limits, 1, 1001),
      (err: unknown) => err instanceof BatchOverQuota && err.quota === 'bytes_per_second',
    );
    quotas.take('a', limits, 10, 1000);
  });
});
