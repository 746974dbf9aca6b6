import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChannelRules, channelNamePattern } from '../../src/channels/channels.js';
import { loadConfig } from '../../src/config/load.js';
import { SwitchboardError } from '../../src/protocol/errors.js';
import { includes } from '../helpers/config.js';

function rules(overrides: Record<string, unknown> = {}): ChannelRules {
  const config = loadConfig({
    overrides: {
      'api.insecure': true,
      'channels.namespaces': { chat: { subscribe: 'authenticated', publish: 'public', presence: true }, ops: { subscribe: 'server' } },
      ...overrides,
    },
  });
  return new ChannelRules(config.channels);
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SwitchboardError, `expected a SwitchboardError, got ${String(err)}`);
    return err.code;
  }
  return 'accepted';
}

describe('channel names', () => {
  const r = rules();

  it('accepts letters, digits and _ - . : @ = / +', () => {
    for (const name of ['news', 'News_2', 'a-b.c', 'x@y', 'k=v', 'path/to', 'a+b', 'chat:room-7', 'chat:a:b']) {
      assert.equal(r.resolve(name).name, name);
    }
    assert.ok(channelNamePattern.test('Az09_-.:@=/+'));
  });

  it('rejects names with other characters as bad_request', () => {
    for (const name of ['has space', 'tab\t', 'semi;colon', 'star*', 'q?', 'hash#', 'ünï', 'emoji🙂', 'new\nline', 'comma,']) {
      assert.equal(
        codeOf(() => r.resolve(name)),
        'bad_request',
        JSON.stringify(name),
      );
    }
  });

  it('rejects an empty name and names that are not strings', () => {
    for (const name of ['', undefined, null, 42, ['news'], { name: 'news' }]) {
      assert.equal(
        codeOf(() => r.resolve(name)),
        'bad_request',
        JSON.stringify(name),
      );
    }
  });

  it('accepts names up to the configured length and rejects longer ones', () => {
    assert.equal(r.resolve('n'.repeat(255)).name.length, 255);
    assert.equal(
      codeOf(() => r.resolve('n'.repeat(256))),
      'bad_request',
    );
    const short = rules({ 'channels.maxNameLength': 8 });
    assert.equal(short.resolve('12345678').name, '12345678');
    assert.throws(() => short.resolve('123456789'), /longer than 8 characters/);
  });

  it('applies the default options to names without a namespace', () => {
    includes(r.resolve('news'), { name: 'news', namespace: '', options: { subscribe: 'public', publish: 'server', presence: false } });
  });

  it('applies the options of the namespace before the first colon', () => {
    const resolved = r.resolve('chat:room:7');
    assert.equal(resolved.namespace, 'chat');
    includes(resolved.options, { subscribe: 'authenticated', publish: 'public', presence: true });
  });

  it('takes the options a namespace leaves out from channels.default', () => {
    const rules = new ChannelRules(
      loadConfig({
        overrides: { 'api.insecure': true, 'channels.default.historySize': 7, 'channels.default.publish': 'public', 'channels.namespaces': { feed: { presence: true } } },
      }).channels,
    );
    includes(rules.resolve('feed:x').options, { subscribe: 'public', publish: 'public', presence: true, historySize: 7 });
  });

  it('answers not_found for a namespace that is not configured', () => {
    assert.equal(
      codeOf(() => r.resolve('game:1')),
      'not_found',
    );
    assert.throws(() => r.resolve('game:1'), /unknown namespace "game"/);
  });
});
