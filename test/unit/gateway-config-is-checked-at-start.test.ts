import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { configProblems } from '../helpers/config.js';

const problemsOf = (overrides: Record<string, unknown>) => configProblems(() => loadConfig({ overrides: { 'api.insecure': true, ...overrides } }));

/** Gateway routes and configured services are validated when the configuration loads, with a message naming the place. */
describe('gateway configuration', () => {
  it('accepts routes and services and fills in the defaults', () => {
    const config = loadConfig({
      overrides: {
        'api.insecure': true,
        'gateway.routes': [{ name: 'a', service: 'svc', path: '/a/', methods: ['get'], balance: 'hash', hashOn: 'cookie:sid', rateLimit: { requests: 5 } }],
        'gateway.services': { svc: { instances: ['http://10.0.0.1:8080/base/', { id: 'two', url: 'grpc://10.0.0.2:9000', weight: 3 }], check: { type: 'tcp' } } },
      },
    });
    const [route] = config.gateway.routes;
    assert.equal(route!.path, '/a');
    assert.equal(route!.kind, 'http');
    assert.deepEqual(route!.methods, ['GET']);
    assert.deepEqual(route!.hashOn, { from: 'cookie', name: 'sid' });
    assert.equal(route!.timeout, 30_000);
    assert.equal(route!.retries, 1);
    assert.deepEqual(route!.rateLimit, { requests: 5, window: 1000, by: { kind: 'route' } });
    const svc = config.gateway.services.svc!;
    assert.deepEqual(
      svc.instances.map((i) => [i.id, i.url, i.weight]),
      [
        ['10.0.0.1:8080', 'http://10.0.0.1:8080/base', 1],
        ['two', 'grpc://10.0.0.2:9000', 3],
      ],
    );
    assert.equal(svc.check.type, 'tcp');
  });

  it('refuses a route that is incomplete, unknown or contradictory', () => {
    const cases: [unknown, RegExp][] = [
      [[{ service: 'svc' }], /route 1\.name/],
      [[{ name: 'a' }], /route a\.service/],
      [[{ name: 'a', service: 'svc', color: 'red' }], /unknown option "color"/],
      [[{ name: 'a', service: 'svc', balance: 'hash' }], /balance hash needs hashOn/],
      [[{ name: 'a', service: 'svc', balance: 'random' }], /route a\.balance/],
      [[{ name: 'a', service: 'svc', pathRegex: '([' }], /route a\.pathRegex/],
      [[{ name: 'a', service: 'svc', stripPrefix: true, rewrite: '/x' }], /exclude each other/],
      [[{ name: 'a', service: 'svc', path: 'no-slash' }], /must start with \//],
      [[{ name: 'a', service: 'svc', auth: 'basic' }], /route a\.auth/],
      [[{ name: 'a', service: 'svc', kind: 'grpc' }], /route a\.kind/],
      [[{ name: 'a', service: 'svc', hashOn: 'query:x' }], /header:NAME or cookie:NAME/],
      [[{ name: 'a', service: 'svc', rateLimit: { requests: 0 } }], /rateLimit\.requests/],
      [
        [
          { name: 'a', service: 'svc' },
          { name: 'a', service: 'other' },
        ],
        /used twice/,
      ],
    ];
    for (const [routes, pattern] of cases) {
      const problems = problemsOf({ 'gateway.routes': routes });
      assert.equal(problems.length, 1, JSON.stringify(routes));
      assert.match(problems[0]!, /gateway\.routes/);
      assert.match(problems[0]!, pattern);
    }
  });

  it('refuses a configured service with a bad instance URL or check', () => {
    const cases: [unknown, RegExp][] = [
      [{ svc: { instances: [] } }, /expected a list of instances/],
      [{ svc: { instances: ['ftp://h:1'] } }, /must start with http/],
      [{ svc: { instances: ['http://h:1/?q=1'] } }, /query/],
      [{ svc: { instances: ['grpc://h:1/path'] } }, /no path/],
      [{ svc: { instances: ['http://h:1'], check: { type: 'icmp' } } }, /check\.type/],
      [{ 'bad name': { instances: ['http://h:1'] } }, /the name must match/],
    ];
    for (const [services, pattern] of cases) {
      const problems = problemsOf({ 'gateway.services': services });
      assert.equal(problems.length, 1, JSON.stringify(services));
      assert.match(problems[0]!, pattern);
    }
  });
});
