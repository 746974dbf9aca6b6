import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, hmacToken, keyToken, signingKey, type SigningKey } from '../../helpers/auth.js';
import { connectWs } from '../../helpers/clients.js';
import { get, startNode, type TestNode } from '../../helpers/node.js';

describe('tokens of every algorithm verify with static secrets and PEM public keys', () => {
  let t: TestNode;
  let rsa: SigningKey;
  let ec: SigningKey;
  let ed: SigningKey;
  before(async () => {
    [rsa, ec, ed] = await Promise.all([signingKey('RS256'), signingKey('ES256'), signingKey('EdDSA')]);
    t = await startNode({
      'auth.jwt.secrets': ['current-secret', 'next-secret'],
      'auth.jwt.publicKeys': [rsa.publicPem, ec.publicPem, ed.publicPem],
      'auth.anonymous': false,
    });
  });
  after(() => t.stop());

  /** Connects with the token and answers the session's user and the context the API shows. */
  async function connectAs(token: string): Promise<{ user: string; context: Record<string, unknown> }> {
    const ws = await connectWs(`${t.wsUrl}/ws`, { headers: bearer(token) });
    const welcome = await ws.next((f) => f.type === 'welcome');
    const listed = await get(`${t.url}/api/sessions/${welcome.session}`);
    ws.close();
    assert.equal(listed.status, 200);
    assert.equal(listed.body.user, welcome.user);
    return { user: welcome.user, context: listed.body.context };
  }

  for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
    it(`accepts ${alg} tokens signed with any of the configured secrets (rotation)`, async () => {
      for (const secret of ['current-secret', 'next-secret']) {
        const { user } = await connectAs(await hmacToken(secret, { sub: `user-${alg}` }, { expiresIn: 60 }, alg));
        assert.equal(user, `user-${alg}`);
      }
    });
  }

  it('accepts RS256, ES256 and EdDSA tokens signed with the private half of a configured PEM key', async () => {
    for (const key of [rsa, ec, ed]) {
      const { user } = await connectAs(await keyToken(key, { sub: `user-${key.alg}` }, { expiresIn: 60 }));
      assert.equal(user, `user-${key.alg}`);
    }
  });

  it('accepts a token whose kid header names no static key: static keys have no id', async () => {
    const { user } = await connectAs(await keyToken(rsa, { sub: 'kid-user' }, { expiresIn: 60, kid: 'issuer-key-7' }));
    assert.equal(user, 'kid-user');
  });

  it('makes sub the session user and the claims its context, shown by GET /api/sessions/{id}', async () => {
    const token = await keyToken(ec, { sub: 'ivy', plan: 'gold', channels: ['team:red'] }, { expiresIn: 60, jti: 'tok-ivy' });
    const { user, context } = await connectAs(token);
    assert.equal(user, 'ivy');
    assert.equal(context.sub, 'ivy');
    assert.equal(context.plan, 'gold');
    assert.deepEqual(context.channels, ['team:red']);
    assert.equal(context.jti, 'tok-ivy');
  });

  it('refuses a token signed with a key of the right type that is not configured', async () => {
    const stranger = await signingKey('ES256');
    await assert.rejects(connectWs(`${t.wsUrl}/ws`, { headers: bearer(await keyToken(stranger, { sub: 'mallory' }, { expiresIn: 60 })) }), (err: any) => err.status === 401);
  });
});
