import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeSettings, envName, loadConfig } from '../../src/config/load.js';
import { configProblems, includes } from '../helpers/config.js';

describe('config defaults', () => {
  it('fills every setting with its default when only an API key is given', () => {
    const config = loadConfig({ flags: { 'api.keys': 'k1' } });
    includes(config, {
      server: { host: '0.0.0.0', port: 8080 },
      log: { level: 'info' },
      api: { keys: ['k1'], insecure: false, maxBodyBytes: 1024 * 1024, maxBatchSize: 10_000 },
      demo: { enabled: false },
      sessions: {
        heartbeatInterval: 30_000,
        closeGracePeriod: 4_000,
        maxBufferedBytes: 4 * 1024 * 1024,
        maxSubscriptions: 128,
        lifetime: { enabled: false, min: 120_000, max: 180_000 },
      },
      limits: {
        maxFrameBytes: 64 * 1024,
        maxBadFrames: 10,
        clientMessagesPerSecond: 100,
        clientMessagesBurst: 200,
        maxConnections: 0,
        maxConnectionsPerIp: 0,
        maxJsonDepth: 64,
      },
      channels: {
        maxNameLength: 255,
        default: { subscribe: 'public', publish: 'server', presence: false },
      },
      broker: { type: 'memory' },
      shutdown: { drainWindow: 10_000 },
      compat: { push: { enabled: true } },
    });
    assert.deepEqual(config.channels.namespaces, {});
  });

  it('gives the node a random id when none is configured', () => {
    const a = loadConfig({ flags: { 'api.insecure': 'true' } });
    const b = loadConfig({ flags: { 'api.insecure': 'true' } });
    assert.match(a.node.id, /^[0-9a-f]{12}$/);
    assert.notEqual(a.node.id, b.node.id);
    assert.equal(loadConfig({ flags: { 'api.insecure': 'true', 'node.id': 'edge-1' } }).node.id, 'edge-1');
  });

  it('refuses to start from defaults alone because the API would have no key', () => {
    const problems = configProblems(() => loadConfig());
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /api\.keys is empty/);
    assert.match(problems[0]!, /api\.insecure/);
  });

  it('describes every setting with its environment variable, default and meaning', () => {
    const settings = describeSettings();
    const byPath = new Map(settings.map((s) => [s.path, s]));
    assert.deepEqual(byPath.get('sessions.heartbeatInterval'), {
      path: 'sessions.heartbeatInterval',
      env: 'SWITCHBOARD_SESSIONS_HEARTBEAT_INTERVAL',
      default: '30s',
      doc: byPath.get('sessions.heartbeatInterval')!.doc,
    });
    for (const s of settings) {
      assert.equal(s.env, envName(s.path));
      assert.ok(s.doc.length > 10, `${s.path} has a description`);
    }
    assert.ok(byPath.has('channels.namespaces'));
    assert.ok(byPath.has('channels.default.subscribe'));
  });

  it('names environment variables after the dotted path in upper snake case', () => {
    assert.equal(envName('api.keys'), 'SWITCHBOARD_API_KEYS');
    assert.equal(envName('api.maxBodyBytes'), 'SWITCHBOARD_API_MAX_BODY_BYTES');
    assert.equal(envName('sessions.lifetime.min'), 'SWITCHBOARD_SESSIONS_LIFETIME_MIN');
    assert.equal(envName('compat.push.enabled'), 'SWITCHBOARD_COMPAT_PUSH_ENABLED');
  });
});
