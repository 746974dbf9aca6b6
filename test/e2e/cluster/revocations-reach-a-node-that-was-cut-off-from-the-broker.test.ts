import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, hmacToken, wsAccepts } from '../../helpers/auth.js';
import { connectSse, connectWs } from '../../helpers/clients.js';
import {
  brokerTools,
  fastCluster,
  killAll,
  sharedBrokerKinds,
  startSharedBroker,
  startTcpProxy,
  waitForNodes,
  wsUrl,
  type SharedBroker,
  type TcpProxy,
} from '../../helpers/cluster.js';
import { requireTool } from '../../helpers/tools.js';
import { get, post, startProcess, type NodeProcess } from '../../helpers/node.js';
import { waitUntil } from '../../helpers/wait.js';

/**
 * A node cut off from the broker misses the revocations published meanwhile. When its connection
 * comes back it reads them from the revocation channel's history before it reports ready: the
 * sessions they name are closed and the tokens refused, as on every other node.
 */
const secret = 'revocation-partition-secret';
const flags = (brokerArgs: string[]) => [...brokerArgs, '--api.insecure', 'true', ...fastCluster];
const readyStatus = async (node: NodeProcess) => (await get(`${node.url}/readyz`)).status;

for (const kind of sharedBrokerKinds) {
  describe(`revocations reach a node that was cut off from ${kind}`, { skip: requireTool(brokerTools[kind]) }, () => {
    let broker: SharedBroker | undefined;
    let proxy: TcpProxy | undefined;
    let nodes: NodeProcess[] = [];
    const open: { close(): void }[] = [];

    before(async () => {
      broker = await startSharedBroker(kind);
      proxy = await startTcpProxy(broker.service.port);
      const viaProxy =
        kind === 'redis'
          ? ['--broker.type', 'redis', '--broker.redis.url', `redis://127.0.0.1:${proxy.port}`]
          : ['--broker.type', 'nats', '--broker.nats.servers', `nats://127.0.0.1:${proxy.port}`];
      const env = { SWITCHBOARD_AUTH_JWT_SECRETS: secret };
      nodes = await Promise.all([startProcess(flags(broker.args), env), startProcess(flags(viaProxy), env)]);
      await waitForNodes(nodes, 2);
    });
    after(async () => {
      for (const client of open) client.close();
      killAll(nodes);
      await proxy?.close();
      await broker?.service.stop();
    });

    it('closes the sessions of a user and a jti revoked during the partition as it comes back, and refuses their tokens', async () => {
      const [a, d] = nodes as [NodeProcess, NodeProcess];
      const iat = Math.floor(Date.now() / 1000) - 5;
      const dave = await hmacToken(secret, { sub: 'dave' }, { expiresIn: 600, issuedAt: iat });
      const erin = await hmacToken(secret, { sub: 'erin' }, { expiresIn: 600, issuedAt: iat, jti: 'e-1' });
      const frank = await hmacToken(secret, { sub: 'frank' }, { expiresIn: 600, issuedAt: iat, jti: 'f-1' });
      const ws = async (token: string) => {
        const client = await connectWs(`${wsUrl(d)}/ws`, { headers: bearer(token) });
        open.push(client);
        await client.next((f) => f.type === 'welcome');
        return client;
      };
      const daveWs = await ws(dave);
      const erinWs = await ws(erin);
      const frankWs = await ws(frank);
      const daveSse = await connectSse(`${d.url}/sse`, bearer(dave));
      open.push(daveSse);
      await daveSse.next((e) => e.event === 'welcome');
      const closed: string[] = [];
      void daveWs.closed.then(() => closed.push('dave ws'));
      void erinWs.closed.then(() => closed.push('erin ws'));
      void frankWs.closed.then(() => closed.push('frank ws'));
      void daveSse.ended.then(() => closed.push('dave sse'));

      await proxy!.cut();
      await waitUntil(async () => (await readyStatus(d)) === 503, 5000, 'the cut-off node to turn unready');
      for (const revocation of [{ user: 'dave' }, { jti: 'e-1' }]) {
        const res = await post(`${a.url}/api/revocations`, { ...revocation, expiresIn: 600 });
        assert.equal(res.status, 200, JSON.stringify(res.body));
      }
      assert.equal(await wsAccepts(wsUrl(a), dave), false, 'the connected node refuses dave at once');
      assert.equal(await wsAccepts(wsUrl(a), erin), false, 'the connected node refuses e-1 at once');
      assert.deepEqual(closed, [], 'the cut-off node did not hear of the revocations');

      await proxy!.restore();
      await waitUntil(async () => (await readyStatus(d)) === 200, 15_000, 'the node to be ready again');
      // It reads what it missed before it reports ready: within a second of that, all are closed.
      await waitUntil(() => closed.length >= 3, 1000, 'the revoked sessions to close');
      assert.deepEqual(closed.sort(), ['dave sse', 'dave ws', 'erin ws']);
      assert.equal((await daveWs.closed).code, 4506);
      assert.equal((await erinWs.closed).code, 4506);
      assert.equal(await wsAccepts(wsUrl(d), dave), false, 'dave refused on the node that was cut off');
      assert.equal(await wsAccepts(wsUrl(d), erin), false, 'e-1 refused on the node that was cut off');
      assert.equal(await wsAccepts(wsUrl(d), frank), true, 'a token nobody revoked is still accepted');
    });
  });
}
