import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { configProblems } from '../helpers/config.js';

describe('the --channels.namespaces flag', () => {
  it('reads the namespace map as JSON, as the environment variable does', () => {
    const config = loadConfig({ flags: { 'api.insecure': 'true', 'channels.namespaces': '{"room":{"presence":true},"feed":{"historySize":50}}' } });
    assert.deepEqual(config.channels.namespaces, { room: { presence: true }, feed: { historySize: 50 } });
  });

  it('reports JSON that does not parse, naming the flag', () => {
    const problems = configProblems(() => loadConfig({ flags: { 'api.insecure': 'true', 'channels.namespaces': '{"room":' } }));
    assert.deepEqual(problems, ['flag --channels.namespaces: expected JSON']);
  });

  it('still takes one option of one namespace as a dotted flag', () => {
    const config = loadConfig({ flags: { 'api.insecure': 'true', 'channels.namespaces.chat.presence': 'true' } });
    assert.equal(config.channels.namespaces.chat?.presence, true);
  });
});
