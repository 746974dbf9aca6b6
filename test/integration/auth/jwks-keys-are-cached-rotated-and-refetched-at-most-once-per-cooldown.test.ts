import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { authFailures, bearer, keyToken, signingKey, startHookServer, startJwksServer, wsAccepts, type HookServer, type SigningKey } from '../../helpers/auth.js';
import { connectWs } from '../../helpers/clients.js';
import { assertErrorBody } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { waitUntil } from '../../helpers/wait.js';

const cooldownMs = 600;

describe('JWKS keys are cached, rotated and refetched at most once per jwksCooldown', () => {
  let jwks: Awaited<ReturnType<typeof startJwksServer>>;
  let t: TestNode;
  let first: SigningKey;
  let second: SigningKey;
  before(async () => {
    [first, second] = await Promise.all([signingKey('RS256', 'key-2024'), signingKey('EdDSA', 'key-2025')]);
    jwks = await startJwksServer([first.publicJwk]);
    t = await startNode({ 'auth.jwt.jwksUrl': `${jwks.url}/jwks.json`, 'auth.jwt.jwksCooldown': cooldownMs, 'auth.anonymous': false });
  });
  after(async () => {
    await t.stop();
    await jwks.stop();
  });

  const connects = async (key: SigningKey, kid: string, sub = 'lena'): Promise<boolean> => wsAccepts(t.wsUrl, await keyToken(key, { sub }, { expiresIn: 600, kid }));

  it('fetches the key set once and verifies later tokens from the cache', async () => {
    assert.equal(await connects(first, 'key-2024'), true);
    assert.equal(jwks.fetches(), 1);
    assert.equal(jwks.calls[0]!.path, '/jwks.json');
    assert.equal(await connects(first, 'key-2024', 'mo'), true);
    assert.equal(await connects(first, 'key-2024', 'nia'), true);
    assert.equal(jwks.fetches(), 1);
  });

  it('refuses a new kid during the cooldown without fetching, then fetches once and accepts it', async () => {
    jwks.keys = [first.publicJwk, second.publicJwk];
    const lastFetch = jwks.calls.at(-1)!.at;
    if (Date.now() - lastFetch < cooldownMs - 200) {
      const before = await authFailures(t.url, 'no_key');
      assert.equal(await connects(second, 'key-2025'), false, 'an unknown kid is refused while cooling down');
      assert.equal(jwks.fetches(), 1);
      assert.equal(await authFailures(t.url, 'no_key'), before + 1);
    }
    await waitUntil(() => Date.now() - lastFetch > cooldownMs + 50, 3000, 'the cooldown to pass');
    assert.equal(await connects(second, 'key-2025'), true, 'the rotated key is fetched and used');
    assert.equal(jwks.fetches(), 2);
    assert.equal(await connects(first, 'key-2024'), true, 'the old key still works while it is published');
  });

  it('fetches at most once per cooldown however many tokens name unknown kids', async () => {
    const stranger = await signingKey('RS256');
    const before = jwks.fetches();
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => connects(stranger, `unknown-${i}`)));
    assert.deepEqual(results, Array(8).fill(false));
    assert.ok(jwks.fetches() - before <= 1, `at most one fetch for eight unknown kids, got ${jwks.fetches() - before}`);
    const lastFetch = jwks.calls.at(-1)!.at;
    await waitUntil(() => Date.now() - lastFetch > cooldownMs + 50, 3000, 'the cooldown to pass');
    const again = jwks.fetches();
    assert.equal(await connects(stranger, 'unknown-after'), false);
    assert.equal(jwks.fetches(), again + 1, 'after the cooldown an unknown kid fetches again');
  });

  it('drops a key that the key set no longer lists once it is fetched again', async () => {
    jwks.keys = [second.publicJwk];
    const lastFetch = jwks.calls.at(-1)!.at;
    await waitUntil(() => Date.now() - lastFetch > cooldownMs + 50, 3000, 'the cooldown to pass');
    // A token with a kid the cached set lacks makes the node fetch the set again...
    const third = await signingKey('ES256', 'key-2026');
    jwks.keys = [second.publicJwk, third.publicJwk];
    assert.equal(await connects(third, 'key-2026'), true);
    // ...and the retired key-2024 is gone from it.
    assert.equal(await connects(first, 'key-2024'), false);
  });
});

describe('a JWKS endpoint that cannot be read', () => {
  let broken: HookServer;
  let t: TestNode;
  let key: SigningKey;
  before(async () => {
    key = await signingKey('RS256', 'k1');
    broken = await startHookServer(() => ({ status: 500, body: 'internal error' }));
    t = await startNode({ 'auth.jwt.jwksUrl': `${broken.url}/jwks.json`, 'auth.jwt.jwksCooldown': 100, 'auth.anonymous': false });
  });
  after(async () => {
    await t.stop();
    await broken.stop();
  });

  it('refuses the connection with 503 unavailable (try again), not as a bad token, and counts keys_unavailable', async () => {
    const token = await keyToken(key, { sub: 'olga' }, { expiresIn: 600, kid: 'k1' });
    await assert.rejects(connectWs(`${t.wsUrl}/ws`, { headers: bearer(token) }), (err: any) => {
      assert.equal(err.status, 503);
      assertErrorBody(JSON.parse(err.body), 'unavailable');
      return true;
    });
    const sse = await fetch(`${t.url}/sse`, { headers: bearer(token) });
    assert.equal(sse.status, 503);
    assert.equal(await authFailures(t.url, 'keys_unavailable'), 2);
    assert.ok(broken.calls.length >= 1);
  });
});
