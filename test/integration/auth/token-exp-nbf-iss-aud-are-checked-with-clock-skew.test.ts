import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { authFailures, bearer, hmacToken, type TokenOptions } from '../../helpers/auth.js';
import { connectWs } from '../../helpers/clients.js';
import { startNode, type TestNode } from '../../helpers/node.js';

const secret = 'clock-skew-secret';
const issuer = 'https://login.example.test';
const audience = 'switchboard';

describe('exp, nbf, iss and aud are checked, exp and nbf with auth.jwt.clockSkew', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({
      'auth.jwt.secrets': [secret],
      'auth.jwt.issuer': issuer,
      'auth.jwt.audience': audience,
      'auth.jwt.clockSkew': '10s',
      'auth.anonymous': false,
    });
  });
  after(() => t.stop());

  const token = (options: TokenOptions) => hmacToken(secret, { sub: 'jules' }, { issuer, audience, ...options });

  async function accepted(options: TokenOptions): Promise<boolean> {
    try {
      const ws = await connectWs(`${t.wsUrl}/ws`, { headers: bearer(await token(options)) });
      await ws.next((f) => f.type === 'welcome');
      ws.close();
      return true;
    } catch (err: any) {
      if (err.status !== 401) throw err;
      assert.equal(JSON.parse(err.body).error.code, 'unauthorized');
      return false;
    }
  }

  it('accepts a token that expired less than clockSkew ago and refuses one that expired longer ago', async () => {
    const before = await authFailures(t.url, 'expired');
    assert.equal(await accepted({ expiresIn: -3 }), true);
    assert.equal(await accepted({ expiresIn: -60 }), false);
    assert.equal(await authFailures(t.url, 'expired'), before + 1);
  });

  it('accepts a token valid in less than clockSkew and refuses one valid later', async () => {
    const before = await authFailures(t.url, 'not_yet_valid');
    assert.equal(await accepted({ expiresIn: 600, notBefore: 3 }), true);
    assert.equal(await accepted({ expiresIn: 600, notBefore: 60 }), false);
    assert.equal(await authFailures(t.url, 'not_yet_valid'), before + 1);
  });

  it('refuses a token from another issuer, for another audience, or without iss or aud', async () => {
    const before = await authFailures(t.url, 'claims');
    assert.equal(await accepted({ expiresIn: 600, issuer: 'https://evil.example.test' }), false);
    assert.equal(await accepted({ expiresIn: 600, audience: 'another-service' }), false);
    assert.equal(await accepted({ expiresIn: 600, issuer: '' }), false);
    assert.equal(await accepted({ expiresIn: 600, audience: '' }), false);
    assert.equal(await authFailures(t.url, 'claims'), before + 4);
    assert.equal(await accepted({ expiresIn: 600 }), true);
  });
});
