import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/load.js';

const load = (workers: unknown) => loadConfig({ overrides: { 'api.insecure': true, 'server.workers': workers } });

describe('server.workers', () => {
  it('is one process by default', () => {
    assert.equal(loadConfig({ overrides: { 'api.insecure': true } }).server.workers, 1);
  });

  it('takes a count, or auto for one worker per CPU this process may use', () => {
    assert.equal(load('3').server.workers, 3);
    assert.equal(load('auto').server.workers, availableParallelism());
  });

  it('refuses zero, fractions and words, naming auto in the problem', () => {
    for (const value of ['0', '1.5', 'many', '1025']) {
      assert.throws(
        () => load(value),
        (err: Error) => err instanceof ConfigError && /server\.workers: expected auto or an integer from 1 to 1024/.test(err.message),
        value,
      );
    }
  });
});
