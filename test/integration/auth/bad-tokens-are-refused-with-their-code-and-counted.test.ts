import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, hmacToken, keyToken, signingKey, tamper, unsecuredToken, type SigningKey } from '../../helpers/auth.js';
import { connectWs } from '../../helpers/clients.js';
import { assertErrorBody } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';

const secret = 'the-real-hmac-secret';
const audience = 'switchboard';
const issuer = 'https://login.example.test';

/**
 * Each bad token is tried three ways: on a WebSocket upgrade (401), on SSE (401) and in a first
 * connect frame (disconnect frame, close 4501). Each refusal counts once under its reason.
 */
describe('bad tokens are refused with their code and counted by reason', () => {
  let t: TestNode;
  let rsa: SigningKey;
  before(async () => {
    rsa = await signingKey('RS256');
    t = await startNode({
      'auth.jwt.secrets': [secret],
      'auth.jwt.publicKeys': [rsa.publicPem],
      'auth.jwt.issuer': issuer,
      'auth.jwt.audience': audience,
      'auth.jwt.clockSkew': '5s',
      'auth.jwt.maxTokenBytes': '2KiB',
      'auth.anonymous': false,
    });
  });
  after(() => t.stop());

  const good = { issuer, audience, expiresIn: 600 };

  async function refusedEveryWay(token: string, reason: string): Promise<void> {
    const before = await scrape(t.url);
    await assert.rejects(connectWs(`${t.wsUrl}/ws`, { headers: bearer(token) }), (err: any) => {
      assert.equal(err.status, 401);
      assertErrorBody(JSON.parse(err.body), 'unauthorized');
      return true;
    });
    const sse = await fetch(`${t.url}/sse?channels=news`, { headers: bearer(token) });
    assert.equal(sse.status, 401);
    assertErrorBody(await sse.json(), 'unauthorized');
    const ws = await connectWs(`${t.wsUrl}/ws`);
    ws.send({ type: 'connect', token });
    const frame = await ws.next((f) => f.type === 'disconnect');
    assert.equal(frame.code, 4501);
    assert.equal((await ws.closed).code, 4501);
    const after = await scrape(t.url);
    const counted = (s: typeof after) => s.value('switchboard_auth_failures_total', { reason });
    assert.equal(counted(after) - counted(before), 3, `three refusals counted as ${reason}`);
    const errors = (s: typeof after) => s.value('switchboard_errors_total', { code: 'unauthorized' });
    assert.equal(errors(after) - errors(before), 3, 'each refusal is one unauthorized error');
  }

  it('refuses malformed tokens', async () => {
    await refusedEveryWay('not-a-jwt', 'malformed');
    await refusedEveryWay('aaaa.bbbb.cccc', 'malformed');
  });

  it('refuses an expired token', async () => {
    await refusedEveryWay(await hmacToken(secret, { sub: 'kim' }, { ...good, expiresIn: -120 }), 'expired');
  });

  it('refuses a token that is not valid yet', async () => {
    await refusedEveryWay(await hmacToken(secret, { sub: 'kim' }, { ...good, notBefore: 120 }), 'not_yet_valid');
  });

  it('refuses a token for another audience and one from another issuer', async () => {
    await refusedEveryWay(await hmacToken(secret, { sub: 'kim' }, { ...good, audience: 'billing' }), 'claims');
    await refusedEveryWay(await hmacToken(secret, { sub: 'kim' }, { ...good, issuer: 'https://other.example.test' }), 'claims');
  });

  it('refuses an unsecured token with alg none', async () => {
    await refusedEveryWay(unsecuredToken({ sub: 'kim', iss: issuer, aud: audience, exp: Math.floor(Date.now() / 1000) + 600 }), 'algorithm');
  });

  it('refuses an HS256 token signed with the RSA public key PEM as the HMAC secret (HS/RS confusion)', async () => {
    await refusedEveryWay(await hmacToken(rsa.publicPem, { sub: 'kim' }, good), 'signature');
    // The same with the key as the only key of the node: there is no secret to verify HS256 with at all.
    const rsaOnly = await startNode({ 'auth.jwt.publicKeys': [rsa.publicPem], 'auth.anonymous': false });
    try {
      const confused = await hmacToken(rsa.publicPem, { sub: 'kim' }, { expiresIn: 600 });
      await assert.rejects(connectWs(`${rsaOnly.wsUrl}/ws`, { headers: bearer(confused) }), (err: any) => err.status === 401);
      assert.equal((await scrape(rsaOnly.url)).value('switchboard_auth_failures_total', { reason: 'no_key' }), 1);
    } finally {
      await rsaOnly.stop();
    }
  });

  it('refuses a token whose payload was changed after signing', async () => {
    await refusedEveryWay(tamper(await hmacToken(secret, { sub: 'kim' }, good), { sub: 'admin' }), 'signature');
    await refusedEveryWay(tamper(await keyToken(rsa, { sub: 'kim', role: 'user' }, good), { role: 'admin' }), 'signature');
  });

  it('refuses a token larger than auth.jwt.maxTokenBytes before verifying it', async () => {
    const huge = await hmacToken(secret, { sub: 'kim', padding: 'x'.repeat(3000) }, good);
    assert.ok(huge.length > 2048);
    await refusedEveryWay(huge, 'too_large');
  });

  it('refuses a valid token without the user claim', async () => {
    await refusedEveryWay(await hmacToken(secret, { name: 'no subject' }, good), 'no_user');
  });

  it('still accepts a good token after all of this', async () => {
    const ws = await connectWs(`${t.wsUrl}/ws`, { headers: bearer(await hmacToken(secret, { sub: 'kim' }, good)) });
    assert.equal((await ws.next((f) => f.type === 'welcome')).user, 'kim');
    ws.close();
  });
});
