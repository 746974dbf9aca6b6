import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';

function problemsOf(definitions: unknown): string {
  try {
    loadConfig({ overrides: { 'api.insecure': true, 'bridges.definitions': definitions } });
  } catch (err) {
    return (err as Error).message;
  }
  return '';
}

describe('bridge definitions are checked when the configuration loads', () => {
  it('accepts a definition and fills in its group, payload and prefix', () => {
    const config = loadConfig({
      overrides: { 'api.insecure': true, 'bridges.definitions': [{ name: 'orders', source: 'kafka', topic: 'orders', target: { type: 'user', field: 'userId' } }] },
    });
    assert.deepEqual(config.bridges.definitions[0], {
      name: 'orders',
      source: 'kafka',
      topic: 'orders',
      subject: '',
      stream: '',
      group: 'switchboard-bridge-orders',
      valueField: 'data',
      target: { type: 'user', value: undefined, field: 'userId', header: undefined, prefix: '' },
      payload: 'event',
    });
  });

  it('reads the definitions as JSON from an environment variable', () => {
    const config = loadConfig({
      overrides: { 'api.insecure': true },
      env: { SWITCHBOARD_BRIDGES_DEFINITIONS: '[{"name":"a","source":"redis","stream":"s","target":{"type":"channel","value":"news"}}]' },
    });
    assert.equal(config.bridges.definitions[0]!.stream, 's');
  });

  const refused: [string, unknown, RegExp][] = [
    ['a list', { name: 'x' }, /expected a list of bridge definitions/],
    ['a known source', [{ name: 'a', source: 'kinesis', topic: 't', target: { type: 'channel', value: 'c' } }], /bridge 1: expected one of kafka, nats, jetstream, redis/],
    ["the source's topic, subject or stream", [{ name: 'a', source: 'kafka', target: { type: 'channel', value: 'c' } }], /a kafka bridge needs topic/],
    ['only settings of its source', [{ name: 'a', source: 'nats', subject: 's', stream: 'x', target: { type: 'channel', value: 'c' } }], /stream does not apply to a nats bridge/],
    ['exactly one way to name the target', [{ name: 'a', source: 'redis', stream: 's', target: { type: 'user', field: 'u', header: 'h' } }], /exactly one of value/],
    ['a target type', [{ name: 'a', source: 'redis', stream: 's', target: { type: 'room', value: 'r' } }], /expected one of channel, user/],
    ['no prefix on a fixed value', [{ name: 'a', source: 'redis', stream: 's', target: { type: 'channel', value: 'c', prefix: 'p:' } }], /prefix applies/],
    ['known options only', [{ name: 'a', source: 'redis', stream: 's', target: { type: 'channel', value: 'c' }, colour: 'red' }], /unknown option "colour"/],
    [
      'distinct names',
      [
        { name: 'a', source: 'redis', stream: 's', target: { type: 'channel', value: 'c' } },
        { name: 'a', source: 'redis', stream: 't', target: { type: 'channel', value: 'c' } },
      ],
      /bridge 2: the name "a" is used twice/,
    ],
    ['a usable name', [{ name: 'a b', source: 'redis', stream: 's', target: { type: 'channel', value: 'c' } }], /name "a b" must match/],
  ];
  for (const [what, definitions, message] of refused) {
    it(`requires ${what}`, () => assert.match(problemsOf(definitions), message));
  }
});
