import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { StreamConfig } from '@nats-io/jetstream';
import { covers, duplicateWindow, limitsFor, limitsOf, merge, presenceMaxAge } from '../../src/brokers/nats/limits.js';

const minute = 60_000;

it('a channel keeps its history size per subject, for (size + 1) ttls plus a minute for clock skew', () => {
  assert.deepEqual(limitsFor({ size: 10, ttl: 5 * minute }), { perSubject: 10, maxAge: 11 * 5 * minute + minute });
  assert.deepEqual(limitsFor({ size: 0, ttl: minute }), { perSubject: 1, maxAge: 3 * minute }, 'at least one publication');
});

it('a history that lives for ever needs no max age, and a very long one is capped at ten years', () => {
  assert.equal(limitsFor({ size: 10, ttl: 0 }).maxAge, 0);
  assert.equal(limitsFor({ size: 1000, ttl: 365 * 24 * 60 * minute }).maxAge, 10 * 365 * 24 * 60 * minute);
});

it('a stream covers a need when it keeps as many per subject and at least as long; no max age covers any', () => {
  const have = { perSubject: 100, maxAge: 60 * minute };
  assert.ok(covers(have, { perSubject: 100, maxAge: 60 * minute }));
  assert.ok(!covers(have, { perSubject: 101, maxAge: minute }));
  assert.ok(!covers(have, { perSubject: 10, maxAge: 61 * minute }));
  assert.ok(!covers(have, { perSubject: 10, maxAge: 0 }), 'a limited max age does not cover for ever');
  assert.ok(covers({ perSubject: 100, maxAge: 0 }, { perSubject: 10, maxAge: 61 * minute }));
});

it('widening a stream keeps the larger of both limits, and for ever wins over any max age', () => {
  assert.deepEqual(merge({ perSubject: 100, maxAge: minute }, { perSubject: 10, maxAge: 60 * minute }), { perSubject: 100, maxAge: 60 * minute });
  assert.deepEqual(merge({ perSubject: 1, maxAge: 0 }, { perSubject: 10, maxAge: 60 * minute }), { perSubject: 10, maxAge: 0 });
});

it('limits are read from a stream config in milliseconds, and the duplicate window stays within the max age', () => {
  const config = { max_msgs_per_subject: 50, max_age: 90_000 * 1e6 } as StreamConfig;
  assert.deepEqual(limitsOf(config), { perSubject: 50, maxAge: 90_000 });
  assert.equal(duplicateWindow({ perSubject: 50, maxAge: 90_000 }), 90_000 * 1e6);
  assert.equal(duplicateWindow({ perSubject: 50, maxAge: 60 * minute }), 120_000 * 1e6);
  assert.equal(duplicateWindow({ perSubject: 50, maxAge: 0 }), 120_000 * 1e6);
});

it('the presence bucket keeps entries twice their ttl, and never less than ten minutes', () => {
  assert.equal(presenceMaxAge(30_000), 10 * minute);
  assert.equal(presenceMaxAge(20 * minute), 40 * minute);
});
