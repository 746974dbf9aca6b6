import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { configProblems } from '../helpers/config.js';

describe('config from SWITCHBOARD_* environment variables', () => {
  it('maps each variable onto the setting of the same dotted path', () => {
    const config = loadConfig({
      env: {
        SWITCHBOARD_SESSIONS_HEARTBEAT_INTERVAL: '10s',
        SWITCHBOARD_API_KEYS: 'a,b',
        SWITCHBOARD_API_MAX_BODY_BYTES: '2MiB',
        SWITCHBOARD_SERVER_PORT: '9000',
        SWITCHBOARD_SESSIONS_LIFETIME_ENABLED: 'yes',
        SWITCHBOARD_CHANNELS_DEFAULT_PUBLISH: 'public',
        SWITCHBOARD_COMPAT_PUSH_ENABLED: 'false',
        SWITCHBOARD_LOG_LEVEL: 'warn',
      },
    });
    assert.equal(config.sessions.heartbeatInterval, 10_000);
    assert.deepEqual(config.api.keys, ['a', 'b']);
    assert.equal(config.api.maxBodyBytes, 2 * 1024 * 1024);
    assert.equal(config.server.port, 9000);
    assert.equal(config.sessions.lifetime.enabled, true);
    assert.equal(config.channels.default.publish, 'public');
    assert.equal(config.compat.push.enabled, false);
    assert.equal(config.log.level, 'warn');
  });

  it('reads channel namespaces as a JSON object', () => {
    const config = loadConfig({
      env: {
        SWITCHBOARD_API_INSECURE: 'true',
        SWITCHBOARD_CHANNELS_NAMESPACES: JSON.stringify({ chat: { presence: true }, 'team-1': { subscribe: 'server' } }),
      },
    });
    assert.deepEqual(Object.keys(config.channels.namespaces).sort(), ['chat', 'team-1']);
    assert.deepEqual(config.channels.namespaces, { chat: { presence: true }, 'team-1': { subscribe: 'server' } });
  });

  it('reports namespaces that are not JSON, naming the variable', () => {
    const problems = configProblems(() => loadConfig({ env: { SWITCHBOARD_API_INSECURE: 'true', SWITCHBOARD_CHANNELS_NAMESPACES: '{chat: yes' } }));
    assert.deepEqual(problems, ['environment SWITCHBOARD_CHANNELS_NAMESPACES: expected JSON']);
  });

  it('ignores variables without the SWITCHBOARD_ prefix and SWITCHBOARD_CONFIG', () => {
    const config = loadConfig({
      env: { PATH: '/bin', PORT: 'not a number', SWITCHBOARD_CONFIG: 'elsewhere.yaml', SWITCHBOARD_API_INSECURE: '1', UNSET: undefined },
    });
    assert.equal(config.server.port, 8080);
    assert.equal(config.api.insecure, true);
  });

  it('treats an unknown SWITCHBOARD_ variable as an error', () => {
    const problems = configProblems(() => loadConfig({ env: { SWITCHBOARD_API_INSECURE: 'true', SWITCHBOARD_HEARTBEAT: '5s', SWITCHBOARD_SERVER_PORTS: '1' } }));
    assert.deepEqual(problems, ['environment: unknown setting SWITCHBOARD_HEARTBEAT', 'environment: unknown setting SWITCHBOARD_SERVER_PORTS']);
  });
});
