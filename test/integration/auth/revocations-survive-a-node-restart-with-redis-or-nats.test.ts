import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { authFailures, hmacToken, wsAccepts } from '../../helpers/auth.js';
import { post, startNode, type TestNode } from '../../helpers/node.js';
import { startNats, startRedis, type Service } from '../../helpers/services.js';
import { requireTool } from '../../helpers/tools.js';

const secret = 'redis-revocation-secret';

for (const kind of ['redis', 'nats'] as const)
  describe(`revocations survive a node restart with the ${kind} broker`, { skip: requireTool(kind === 'redis' ? 'redis-server' : 'nats-server') }, () => {
    let broker: Service;
    const nodes: TestNode[] = [];
    before(async () => {
      broker = kind === 'redis' ? await startRedis() : await startNats();
    });
    after(async () => {
      for (const node of nodes) await node.stop();
      await broker.stop();
    });

    const start = async () => {
      const brokerSettings = kind === 'redis' ? { 'broker.redis.url': broker.url } : { 'broker.nats.servers': broker.url };
      const node = await startNode({ 'auth.jwt.secrets': [secret], 'broker.type': kind, ...brokerSettings });
      nodes.push(node);
      return node;
    };

    const accepted = (node: TestNode, token: string): Promise<boolean> => wsAccepts(node.wsUrl, token);

    it('refuses a token and a user revoked before the restart on the node that replaces it', async () => {
      const byJti = await hmacToken(secret, { sub: 'dora' }, { expiresIn: 600, jti: 'jti-dora-1' });
      const byUser = await hmacToken(secret, { sub: 'eli' }, { expiresIn: 600 });
      const unrelated = await hmacToken(secret, { sub: 'dora' }, { expiresIn: 600, jti: 'jti-dora-2' });

      const first = await start();
      assert.equal(await accepted(first, byJti), true);
      assert.equal((await post(`${first.url}/api/revocations`, { jti: 'jti-dora-1', expiresIn: 600 })).status, 200);
      assert.equal((await post(`${first.url}/api/revocations`, { user: 'eli', expiresIn: 600 })).status, 200);
      assert.equal(await accepted(first, byJti), false);
      await first.stop();

      const second = await start();
      assert.equal(await accepted(second, byJti), false, 'the revoked jti is still refused');
      assert.equal(await accepted(second, byUser), false, 'the revoked user is still refused');
      assert.equal(await authFailures(second.url, 'revoked'), 2);
      assert.equal(await accepted(second, unrelated), true, 'other tokens of the user are not affected');
    });

    it('forgets a revocation once its expiresIn has passed', async () => {
      const node = await start();
      const token = await hmacToken(secret, { sub: 'fay' }, { expiresIn: 600, jti: 'jti-short' });
      assert.equal((await post(`${node.url}/api/revocations`, { jti: 'jti-short', expiresIn: 1 })).status, 200);
      assert.equal(await accepted(node, token), false);
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal(await accepted(node, token), true);
      await node.stop();
      const restarted = await start();
      assert.equal(await accepted(restarted, token), true, 'an expired revocation is not loaded at start');
    });
  });
