import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { describeSettings } from '../../../src/config/load.js';
import { runCli } from '../../helpers/cli.js';
import { tempYaml } from '../../helpers/config.js';

describe('switchboard config print and config describe', () => {
  const file = tempYaml('server:\n  port: 7000\n  host: 127.0.0.1\nsessions:\n  closeGracePeriod: 2s\n');
  after(() => file.remove());

  it('prints the effective configuration as YAML with file, environment and flags applied', async () => {
    const res = await runCli(['config', 'print', '--config', file.path, '--port', '7100', '--limits.maxConnections', '50'], {
      SWITCHBOARD_SESSIONS_HEARTBEAT_INTERVAL: '12s',
      SWITCHBOARD_API_KEYS: 'first-secret,second-secret',
      SWITCHBOARD_NODE_ID: 'printed',
    });
    assert.equal(res.code, 0, res.stderr);
    const printed = parseYaml(res.stdout);
    assert.equal(printed.server.port, 7100);
    assert.equal(printed.server.host, '127.0.0.1');
    assert.equal(printed.sessions.closeGracePeriod, 2000);
    assert.equal(printed.sessions.heartbeatInterval, 12_000);
    assert.equal(printed.limits.maxConnections, 50);
    assert.equal(printed.node.id, 'printed');
    assert.equal(printed.broker.type, 'memory');
  });

  it('masks API keys', async () => {
    const res = await runCli(['config', 'print', '--api.keys', 'first-api-key,second-api-key']);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout.includes('-api-key'), false, res.stdout);
    const printed = parseYaml(res.stdout);
    assert.equal(printed.api.keys.length, 2);
    for (const key of printed.api.keys) assert.match(key, /^\*+$/);
  });

  it('masks every secret: keys, token secrets, broker credentials and passwords inside URLs', async () => {
    const res = await runCli([
      'config',
      'print',
      '--api.insecure',
      'true',
      '--broker.redis.url',
      'redis://app:hunter2@10.0.0.5:6379/0',
      '--broker.nats.servers',
      'nats://n:pw-one@a:4222,nats://n:pw-two@b:4222',
      '--broker.nats.user',
      'n',
      '--broker.nats.pass',
      'nats-password',
      '--broker.nats.token',
      'nats-token',
      '--api.publishKeys',
      'publish-only-key',
      '--auth.jwt.secrets',
      'jwt-hmac-secret',
    ]);
    assert.equal(res.code, 0, res.stderr);
    for (const secret of ['hunter2', 'pw-one', 'pw-two', 'nats-password', 'nats-token', 'publish-only-key', 'jwt-hmac-secret']) {
      assert.equal(res.stdout.includes(secret), false, `${secret} is not printed`);
    }
    const printed = parseYaml(res.stdout);
    assert.equal(printed.broker.redis.url, 'redis://app:********@10.0.0.5:6379/0');
    assert.equal(printed.broker.nats.servers, 'nats://n:********@a:4222,nats://n:********@b:4222');
    assert.equal(printed.broker.nats.user, 'n');
    assert.equal(printed.broker.nats.pass, '********');
    assert.equal(printed.broker.nats.token, '********');
    assert.deepEqual(printed.api.publishKeys, ['********']);
    assert.deepEqual(printed.auth.jwt.secrets, ['********']);
  });

  it('masks secrets inside lists and maps: gateway route keys, application keys and backend headers', async () => {
    const secrets = tempYaml(`api:
  insecure: true
gateway:
  enabled: true
  routes:
    - name: orders
      service: orders
      auth: api_key
      apiKeys:
        - route-secret-key
      headers:
        x-internal: route-match-secret
topics:
  applications:
    - id: shop
      keys:
        - key: app-secret-key-0123456789
          scopes: [publish]
routing:
  backends:
    chat:
      url: http://127.0.0.1:9000/chat
      headers:
        authorization: Bearer backend-token
        x-tenant: backend-tenant-value
`);
    try {
      const res = await runCli(['config', 'print', '--config', secrets.path]);
      assert.equal(res.code, 0, res.stderr);
      for (const secret of ['route-secret-key', 'route-match-secret', 'app-secret-key', 'backend-token', 'backend-tenant-value']) {
        assert.equal(res.stdout.includes(secret), false, `${secret} is not printed:\n${res.stdout}`);
      }
      const printed = parseYaml(res.stdout);
      assert.deepEqual(printed.gateway.routes[0].apiKeys, ['********']);
      assert.equal(printed.gateway.routes[0].service, 'orders');
      assert.equal(printed.topics.applications[0].keys[0].key, '********');
      assert.deepEqual(printed.topics.applications[0].keys[0].scopes, ['publish']);
      assert.deepEqual(printed.routing.backends.chat.headers, { authorization: '********', 'x-tenant': '********' });
      assert.equal(printed.routing.backends.chat.url, 'http://127.0.0.1:9000/chat');
    } finally {
      secrets.remove();
    }
  });

  it('fails like serve, with code 2, when the configuration is bad', async () => {
    const res = await runCli(['config', 'print', '--api.insecure', 'true', '--shutdown.drainWindow', 'forever']);
    assert.equal(res.code, 2);
    assert.equal(res.stdout, '');
    assert.match(res.stderr, /flag --shutdown\.drainWindow: expected a duration/);
  });

  it('lists every setting with its environment variable and default', async () => {
    const res = await runCli(['config', 'describe']);
    assert.equal(res.code, 0, res.stderr);
    for (const setting of describeSettings()) {
      const block = `${setting.path}\n  env: ${setting.env}\n  default: ${JSON.stringify(setting.default)}\n`;
      assert.ok(res.stdout.includes(block), `describes ${setting.path}`);
    }
    assert.ok(res.stdout.includes('SWITCHBOARD_SESSIONS_HEARTBEAT_INTERVAL'));
  });
});
