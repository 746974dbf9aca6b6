import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';

describe('Anonymous clients are refused unless --demo or auth.anonymous allows them', () => {
  it('refuses anonymous clients by default', () => {
    assert.equal(loadConfig({ flags: { 'api.insecure': true } }).auth.anonymous, false);
  });

  it('accepts them in the demo', () => {
    assert.equal(loadConfig({ flags: { 'demo.enabled': true, 'api.insecure': true } }).auth.anonymous, true);
  });

  it('accepts them when auth.anonymous is true, and refuses them in the demo when it is false', () => {
    assert.equal(loadConfig({ env: { SWITCHBOARD_AUTH_ANONYMOUS: 'true' }, flags: { 'api.insecure': true } }).auth.anonymous, true);
    assert.equal(loadConfig({ flags: { 'demo.enabled': true, 'api.insecure': true, 'auth.anonymous': 'false' } }).auth.anonymous, false);
  });
});
