import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { configProblems, tempYaml } from '../helpers/config.js';

describe('config with unknown keys', () => {
  const files: { remove(): void }[] = [];
  after(() => {
    for (const f of files) f.remove();
  });

  it('rejects unknown keys in a file, at any depth, naming each', () => {
    const file = tempYaml(`
api:
  insecure: true
  key: typo
sessions:
  heartbeat: 5s
  lifetime:
    maximum: 2m
colour: blue
`);
    files.push(file);
    const problems = configProblems(() => loadConfig({ file: file.path }));
    const where = `config file ${file.path}`;
    assert.deepEqual(problems.sort(), [
      `${where}: unknown setting api.key`,
      `${where}: unknown setting colour`,
      `${where}: unknown setting sessions.heartbeat`,
      `${where}: unknown setting sessions.lifetime.maximum`,
    ]);
  });

  it('rejects unknown environment variables with the SWITCHBOARD_ prefix', () => {
    const problems = configProblems(() => loadConfig({ env: { SWITCHBOARD_API_INSECURE: 'true', SWITCHBOARD_PORT: '80' } }));
    assert.deepEqual(problems, ['environment: unknown setting SWITCHBOARD_PORT']);
  });

  it('rejects unknown flags', () => {
    const problems = configProblems(() => loadConfig({ flags: { 'api.insecure': 'true', 'server.prot': '80', verbose: 'yes' } }));
    assert.deepEqual(problems.sort(), ['flag: unknown setting server.prot', 'flag: unknown setting verbose']);
  });

  it('rejects a flag that addresses a section instead of a setting', () => {
    const problems = configProblems(() => loadConfig({ flags: { 'api.insecure': 'true', sessions: '5' } }));
    assert.deepEqual(problems, ['flag: expected a mapping of settings at sessions']);
  });

  it('rejects a flag below a setting instead of crashing', () => {
    const problems = configProblems(() => loadConfig({ flags: { 'api.insecure': 'true', 'server.port': '80', 'server.port.extra': '1' } }));
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0]!, /server\.port\.extra/);
  });

  it('rejects a flag below a list setting in either order', () => {
    for (const flags of [
      { 'api.keys': 'a', 'api.keys.b': 'c' },
      { 'api.keys.b': 'c', 'api.keys': 'a' },
    ]) {
      const problems = configProblems(() => loadConfig({ flags: { 'api.insecure': 'true', ...flags } }));
      assert.deepEqual(problems, ['flag: unknown setting api.keys.b']);
    }
  });

  it('rejects a section given a value together with settings below it', () => {
    const problems = configProblems(() => loadConfig({ flags: { 'api.insecure': 'true', sessions: 'x', 'sessions.heartbeatInterval': '5s' } }));
    assert.ok(problems.length >= 1);
    for (const p of problems) assert.match(p, /^flag: .*\bsessions\b/);
  });

  it('accepts a flag that sets one option of one namespace', () => {
    const config = loadConfig({ flags: { 'api.insecure': 'true', 'channels.namespaces.chat.presence': 'true' } });
    assert.equal(config.channels.namespaces.chat?.presence, true);
  });

  it('rejects an unknown option of a namespace', () => {
    const file = tempYaml(`
api:
  insecure: true
channels:
  namespaces:
    chat:
      presence: true
      history: 100
`);
    files.push(file);
    const problems = configProblems(() => loadConfig({ file: file.path }));
    assert.deepEqual(problems, [`config file ${file.path}: channels.namespaces: namespace chat: unknown option "history"`]);
  });

  it('rejects a namespace option named after an Object.prototype member', () => {
    for (const name of ['toString', 'constructor', 'hasOwnProperty', 'valueOf']) {
      const problems = configProblems(() => loadConfig({ overrides: { 'api.insecure': true, 'channels.namespaces': { chat: { [name]: 'x' } } } }));
      assert.deepEqual(problems, [`override channels.namespaces: namespace chat: unknown option ${JSON.stringify(name)}`]);
    }
  });

  it('rejects an unknown option of a topic application and of one of its keys', () => {
    const key = { key: 'app-key-0123456789abcdef', scopes: ['publish'] };
    const cases: [unknown, string][] = [
      [{ id: 'shop', keys: [key], quota: { maxTopics: 1 } }, 'topics.applications[0]: unknown option "quota"'],
      [{ id: 'shop', keys: [{ ...key, scope: ['admin'] }] }, 'topics.applications[0].keys[0]: unknown option "scope"'],
    ];
    for (const [application, problem] of cases) {
      const problems = configProblems(() => loadConfig({ overrides: { 'api.insecure': true, 'topics.applications': [application] } }));
      assert.deepEqual(problems, [`override topics.applications: ${problem}`]);
    }
  });
});
