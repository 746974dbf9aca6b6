import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { configProblems, tempYaml } from '../helpers/config.js';

const open = { 'api.insecure': 'true' };

describe('config with bad values', () => {
  const files: { remove(): void }[] = [];
  after(() => {
    for (const f of files) f.remove();
  });

  const cases: { kind: string; flag: string; value: unknown; expected: RegExp }[] = [
    { kind: 'integer', flag: 'server.port', value: 'eighty', expected: /expected an integer from 0 to 65535, got "eighty"/ },
    { kind: 'integer out of range', flag: 'server.port', value: '70000', expected: /expected an integer from 0 to 65535, got "70000"/ },
    { kind: 'integer that is a fraction', flag: 'sessions.maxSubscriptions', value: '1.5', expected: /expected an integer from 1 to 1000000/ },
    { kind: 'boolean', flag: 'demo.enabled', value: 'maybe', expected: /expected true or false, got "maybe"/ },
    { kind: 'duration', flag: 'sessions.heartbeatInterval', value: '10 parsecs', expected: /expected a duration such as 500ms, 30s, 2m/ },
    { kind: 'negative duration', flag: 'shutdown.drainWindow', value: '-1s', expected: /expected a duration/ },
    { kind: 'size', flag: 'limits.maxFrameBytes', value: '64 zettabytes', expected: /expected a size such as 65536, 64KiB or 1MiB/ },
    { kind: 'choice', flag: 'log.level', value: 'loud', expected: /expected one of fatal, error, warn, info, debug, trace, silent, got "loud"/ },
    { kind: 'access level', flag: 'channels.default.subscribe', value: 'everyone', expected: /expected one of public, authenticated, .*got "everyone"/ },
    { kind: 'broker type', flag: 'broker.type', value: 'kafka', expected: /expected one of memory/ },
    { kind: 'string', flag: 'server.host', value: { a: 1 }, expected: /expected a string/ },
    { kind: 'string list', flag: 'api.keys', value: 42, expected: /expected a list of strings or a comma-separated string, got 42/ },
    { kind: 'namespace map', flag: 'channels.namespaces', value: 'chat', expected: /expected a map of namespace name to options/ },
    { kind: 'namespace name', flag: 'channels.namespaces', value: { 'bad name': {} }, expected: /namespace name "bad name" must match/ },
    { kind: 'namespace options', flag: 'channels.namespaces', value: { chat: true }, expected: /namespace chat: expected an object of options/ },
    { kind: 'namespace option value', flag: 'channels.namespaces', value: { chat: { presence: 'often' } }, expected: /namespace chat\.presence: expected true or false/ },
  ];

  for (const c of cases) {
    it(`reports a bad ${c.kind} naming the flag it came from`, () => {
      const problems = configProblems(() => loadConfig({ flags: { ...open, [c.flag]: c.value } }));
      assert.equal(problems.length, 1, problems.join('\n'));
      assert.ok(problems[0]!.startsWith(`flag --${c.flag}: `), problems[0]);
      assert.match(problems[0]!, c.expected);
    });
  }

  it('reports bad values from a file with the file and the dotted key', () => {
    const file = tempYaml(`
server:
  port: -1
sessions:
  heartbeatInterval: soon
  lifetime:
    enabled: sometimes
api:
  insecure: true
  keys: [ok, {nested: 1}]
`);
    files.push(file);
    const problems = configProblems(() => loadConfig({ file: file.path }));
    const where = `config file ${file.path}`;
    assert.equal(problems.length, 4, problems.join('\n'));
    assert.ok(problems.includes(`${where}: server.port: expected an integer from 0 to 65535, got -1`), problems.join('\n'));
    assert.ok(problems.some((p) => p.startsWith(`${where}: sessions.heartbeatInterval: expected a duration`)));
    assert.ok(problems.includes(`${where}: sessions.lifetime.enabled: expected true or false, got "sometimes"`));
    assert.ok(problems.some((p) => p.startsWith(`${where}: api.keys: expected a string`)));
  });

  it('reports bad values from the environment with the variable name', () => {
    const problems = configProblems(() =>
      loadConfig({
        env: {
          SWITCHBOARD_API_INSECURE: 'nope',
          SWITCHBOARD_SESSIONS_MAX_BUFFERED_BYTES: 'lots',
          SWITCHBOARD_CHANNELS_NAMESPACES: JSON.stringify({ chat: { subscribe: 'anyone' } }),
        },
      }),
    );
    problems.sort();
    assert.equal(problems.length, 3, problems.join('\n'));
    assert.equal(problems[0], 'environment SWITCHBOARD_API_INSECURE: expected true or false, got "nope"');
    assert.match(problems[1]!, /^environment SWITCHBOARD_CHANNELS_NAMESPACES: namespace chat\.subscribe: expected one of public, .*got "anyone"$/);
    assert.equal(problems[2], 'environment SWITCHBOARD_SESSIONS_MAX_BUFFERED_BYTES: expected a size such as 65536, 64KiB or 1MiB, got "lots"');
  });

  it('reports every bad key at once, in one error whose message lists them', () => {
    let error: unknown;
    try {
      loadConfig({ flags: { ...open, 'server.port': 'x', 'log.level': 'loud', 'sessions.closeGracePeriod': 'later' } });
    } catch (err) {
      error = err;
    }
    assert.ok(error instanceof ConfigError);
    assert.equal(error.problems.length, 3);
    assert.match(error.message, /^invalid configuration:\n/);
    for (const key of ['server.port', 'log.level', 'sessions.closeGracePeriod']) {
      assert.ok(error.message.includes(`  - flag --${key}: `), `message names ${key}`);
    }
  });

  it('shortens long bad values in the message', () => {
    const problems = configProblems(() => loadConfig({ flags: { ...open, 'log.level': 'x'.repeat(200) } }));
    assert.ok(problems[0]!.length < 200, problems[0]);
    assert.match(problems[0]!, /\.\.\.$/);
  });
});
