import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { configProblems } from '../helpers/config.js';

describe('config consistency', () => {
  it('requires an API key unless the API is explicitly insecure', () => {
    const problems = configProblems(() => loadConfig({ flags: { 'api.keys': '' } }));
    assert.deepEqual(problems, ['api.keys is empty: set at least one API key, or api.insecure: true to serve the API without one']);
    assert.deepEqual(loadConfig({ flags: { 'api.keys': 'secret' } }).api.keys, ['secret']);
    assert.equal(loadConfig({ flags: { 'api.insecure': 'true' } }).api.insecure, true);
  });

  it('requires the lifetime minimum not to exceed the maximum', () => {
    const problems = configProblems(() => loadConfig({ flags: { 'api.insecure': 'true', 'sessions.lifetime.min': '5m', 'sessions.lifetime.max': '1m' } }));
    assert.deepEqual(problems, ['sessions.lifetime.min must not be greater than sessions.lifetime.max']);
    const equal = loadConfig({ flags: { 'api.insecure': 'true', 'sessions.lifetime.min': '1m', 'sessions.lifetime.max': '60s' } });
    assert.equal(equal.sessions.lifetime.min, equal.sessions.lifetime.max);
  });

  it('requires a heartbeat interval above zero', () => {
    const problems = configProblems(() => loadConfig({ flags: { 'api.insecure': 'true', 'sessions.heartbeatInterval': '0s' } }));
    assert.deepEqual(problems, ['sessions.heartbeatInterval must be greater than 0']);
  });

  it('reports all consistency problems together', () => {
    const problems = configProblems(() => loadConfig({ flags: { 'sessions.lifetime.min': '5m', 'sessions.lifetime.max': '1m' } }));
    assert.equal(problems.length, 2);
  });
});
