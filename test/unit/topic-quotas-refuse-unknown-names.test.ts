import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseQuotas } from '../../src/config/topics.js';

describe('topic quotas', () => {
  it('refuse a quota named after an Object.prototype member, as any unknown quota', () => {
    for (const name of ['toString', 'constructor', 'hasOwnProperty', 'valueOf', 'typo']) {
      assert.throws(() => parseQuotas({ [name]: 1 }, 'quotas'), new RegExp(`^Error: quotas: unknown quota ${name} \\(known: `));
    }
  });

  it('read the known quotas', () => {
    assert.deepEqual(parseQuotas({ maxTopics: 3, bytesPerSecond: '1KiB' }, 'quotas'), { maxTopics: 3, bytesPerSecond: 1024 });
  });
});
