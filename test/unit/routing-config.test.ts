import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { configProblems } from '../helpers/config.js';

const base = { 'api.insecure': true };

describe('routing configuration', () => {
  it('accepts backends as URLs or objects and routes with one matcher and one target each', () => {
    const config = loadConfig({
      overrides: {
        ...base,
        'routing.backends': { a: 'http://127.0.0.1:9/a', b: { url: 'https://b.example/x', timeout: '2s', maxResponseBytes: '64KiB', headers: { 'X-Key': 'k' } } },
        'routing.routes': [
          { name: 'one', key: 'x', backend: 'a' },
          { name: 'two', regex: '^/', channel: 'room:1' },
          { name: 'three', rules: 'http://127.0.0.1:9/rules', durable: true, maxAttempts: 3 },
        ],
      },
    });
    assert.equal(config.routing.backends.b!.timeout, 2000);
    assert.equal(config.routing.backends.b!.maxResponseBytes, 65536);
    assert.deepEqual(config.routing.backends.b!.headers, { 'x-key': 'k' });
    assert.ok(config.routing.routes[1]!.regex!.test('/join'));
    assert.equal(config.routing.routes[2]!.maxAttempts, 3);
  });

  it('takes routes and backends as JSON from the environment', () => {
    const config = loadConfig({
      env: {
        SWITCHBOARD_API_INSECURE: 'true',
        SWITCHBOARD_ROUTING_BACKENDS: '{"a":"http://127.0.0.1:9/"}',
        SWITCHBOARD_ROUTING_ROUTES: '[{"key":"$default","backend":"a"}]',
      },
    });
    assert.equal(config.routing.routes[0]!.backend, 'a');
  });

  it('refuses routes that are ambiguous, point nowhere or name unknown backends', () => {
    const problems = (routes: unknown, backends: unknown = { a: 'http://127.0.0.1:9/' }) =>
      configProblems(() => loadConfig({ overrides: { ...base, 'routing.backends': backends, 'routing.routes': routes } })).join('\n');
    assert.match(problems([{ key: 'x', regex: 'y', backend: 'a' }]), /exactly one of key, regex and rules/);
    assert.match(problems([{ key: 'x' }]), /exactly one of backend and channel/);
    assert.match(problems([{ key: 'x', backend: 'a', channel: 'c' }]), /exactly one of backend and channel/);
    assert.match(problems([{ rules: 'http://127.0.0.1:9/', backend: 'a' }]), /takes its target from the rules service/);
    assert.match(problems([{ key: 'x', backend: 'nope' }]), /names backend "nope", which routing.backends does not define/);
    assert.match(problems([{ key: 'x', channel: 'c', durable: true }]), /durable delivery is for backends/);
    assert.match(problems([{ regex: '(', backend: 'a' }]), /invalid regex/);
    assert.match(
      problems([
        { name: 'same', key: 'x', backend: 'a' },
        { name: 'same', key: 'y', backend: 'a' },
      ]),
      /two routes have this name/,
    );
    assert.match(problems([{ key: 'x', backend: 'a', typo: 1 }]), /unknown option "typo"/);
    assert.match(problems([], { a: 'ftp://x/' }), /only http and https/);
    assert.match(problems([], { a: 'not a url' }), /is not a URL/);
  });

  it('refuses a selection expression that cannot be read', () => {
    assert.match(configProblems(() => loadConfig({ overrides: { ...base, 'routing.selectionExpression': 'action' } })).join('\n'), /must start with \$/);
  });

  it('makes the $connect and $disconnect routes the connect and disconnect hooks', () => {
    const config = loadConfig({
      overrides: {
        ...base,
        'routing.backends': { auth: 'http://127.0.0.1:9/connect', bye: 'http://127.0.0.1:9/disconnect' },
        'routing.routes': [
          { key: '$connect', backend: 'auth' },
          { key: '$disconnect', backend: 'bye' },
        ],
      },
    });
    assert.equal(config.auth.connectHook.url, 'http://127.0.0.1:9/connect');
    assert.equal(config.auth.disconnectHook.url, 'http://127.0.0.1:9/disconnect');
    const clash = configProblems(() =>
      loadConfig({
        overrides: {
          ...base,
          'auth.connectHook.url': 'http://127.0.0.1:9/other',
          'routing.backends': { auth: 'http://127.0.0.1:9/connect' },
          'routing.routes': [{ key: '$connect', backend: 'auth' }],
        },
      }),
    );
    assert.match(clash.join('\n'), /name different URLs/);
  });
});
