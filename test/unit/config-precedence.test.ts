import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { tempYaml } from '../helpers/config.js';

describe('config precedence', () => {
  const file = tempYaml(`
api:
  keys: [from-file]
server:
  port: 1111
  host: 10.0.0.1
sessions:
  heartbeatInterval: 11s
  closeGracePeriod: 1s
`);
  after(() => file.remove());

  it('applies defaults, then the file, then the environment, then flags', () => {
    const config = loadConfig({
      file: file.path,
      env: { SWITCHBOARD_SERVER_PORT: '2222', SWITCHBOARD_SESSIONS_HEARTBEAT_INTERVAL: '22s' },
      flags: { 'server.port': '3333' },
    });
    assert.equal(config.server.port, 3333, 'flag beats environment and file');
    assert.equal(config.sessions.heartbeatInterval, 22_000, 'environment beats file');
    assert.equal(config.server.host, '10.0.0.1', 'file beats default');
    assert.equal(config.sessions.closeGracePeriod, 1000);
    assert.deepEqual(config.api.keys, ['from-file']);
    assert.equal(config.sessions.maxSubscriptions, 128, 'default where nothing is given');
  });

  it('applies overrides after flags', () => {
    const config = loadConfig({
      file: file.path,
      flags: { 'server.port': '3333' },
      overrides: { server: { port: 4444 } },
    });
    assert.equal(config.server.port, 4444);
    assert.equal(config.server.host, '10.0.0.1');
  });

  it('replaces a list as a whole instead of merging it', () => {
    const config = loadConfig({ file: file.path, env: { SWITCHBOARD_API_KEYS: 'e1,e2' } });
    assert.deepEqual(config.api.keys, ['e1', 'e2']);
  });

  it('blames the source that won for a bad value', () => {
    assert.throws(
      () => loadConfig({ file: file.path, env: { SWITCHBOARD_SERVER_PORT: 'x' }, flags: { 'server.port': 'y' } }),
      (err: Error & { problems?: string[] }) => {
        assert.equal(err.problems?.length, 1);
        assert.match(err.problems![0]!, /^flag --server\.port: expected an integer from 0 to 65535, got "y"$/);
        return true;
      },
    );
  });
});
