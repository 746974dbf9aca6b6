import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OriginPolicy, credentialHeaders } from '../../src/auth/origins.js';
import { parseOrigins } from '../../src/config/origins.js';

const at = (origin: string | undefined, host = 'rt.example.com') => (origin === undefined ? { host } : { host, origin });

describe('the origin policy', () => {
  it("lets requests without an Origin through and takes the node's own origin by its Host", () => {
    const policy = new OriginPolicy([], false);
    assert.equal(policy.decide(at(undefined)), 'none');
    assert.equal(policy.decide(at('http://rt.example.com')), 'same');
    assert.equal(policy.decide(at('https://rt.example.com')), 'same', 'behind a TLS-terminating proxy');
    assert.equal(policy.decide(at('http://rt.example.com:8080')), 'refused', 'another port is another origin');
    assert.equal(policy.decide({ ':authority': 'rt.example.com', origin: 'https://rt.example.com' }), 'same', 'HTTP/2 :authority');
    assert.equal(new OriginPolicy([], true).decide(at('http://rt.example.com')), 'refused', "a TLS node's own origin is https");
  });

  it('matches exact origins and *.domain patterns on scheme, host and port', () => {
    const policy = new OriginPolicy(['https://app.example.com', 'https://*.apps.example.org', 'http://localhost:3000'], true);
    assert.equal(policy.decide(at('https://app.example.com')), 'listed');
    assert.equal(policy.decide(at('https://app.example.com:443')), 'refused', 'not how a browser serializes it');
    assert.equal(policy.decide(at('http://app.example.com')), 'refused');
    assert.equal(policy.decide(at('https://a.b.apps.example.org')), 'listed');
    assert.equal(policy.decide(at('https://apps.example.org')), 'refused');
    assert.equal(policy.decide(at('https://evilapps.example.org')), 'refused');
    assert.equal(policy.decide(at('https://apps.example.org.evil.net')), 'refused');
    assert.equal(policy.decide(at('http://localhost:3000')), 'listed');
    assert.equal(policy.decide(at('http://localhost:3001')), 'refused');
  });

  it('allows any origin with *, without credentials, and refuses what is not an origin', () => {
    const any = new OriginPolicy(['*', 'https://app.example.com'], false);
    assert.equal(any.decide(at('https://anyone.test')), 'any');
    assert.equal(any.decide(at('null')), 'any');
    assert.equal(any.decide(at('https://app.example.com')), 'listed');
    const strict = new OriginPolicy([], false);
    for (const bad of ['null', 'garbage', 'https://app.example.com/', 'file:///etc/passwd', '']) assert.equal(strict.decide(at(bad)), 'refused', bad);
    assert.throws(() => strict.check(at('https://evil.test')), { code: 'forbidden' });
  });

  it('drops the cookie of a request from a page allowed only by *', () => {
    const any = new OriginPolicy(['*'], false);
    assert.equal(credentialHeaders({ host: 'rt', origin: 'https://anyone.test', cookie: 'a=1' }, any).cookie, undefined);
    assert.equal(credentialHeaders({ host: 'rt', origin: 'http://rt', cookie: 'a=1' }, any).cookie, 'a=1');
    assert.equal(credentialHeaders({ host: 'rt', cookie: 'a=1' }, any).cookie, 'a=1');
  });

  it('refuses settings that are not origins', () => {
    assert.deepEqual(parseOrigins('https://a.example, https://*.b.example, *'), ['https://a.example', 'https://*.b.example', '*']);
    for (const bad of ['app.example.com', 'https://app.example.com/path', 'https://*', 'ftp://x.example', 'https://a.*.example']) {
      assert.throws(() => parseOrigins([bad]), /is not an origin/, bad);
    }
  });
});
