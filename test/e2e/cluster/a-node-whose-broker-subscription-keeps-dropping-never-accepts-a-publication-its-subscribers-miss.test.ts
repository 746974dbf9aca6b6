import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { connectWs, type WsClient } from '../../helpers/clients.js';
import { brokerTools, fastCluster, sharedBrokerKinds, startSharedBroker, startTcpProxy, wsUrl, type SharedBroker, type TcpProxy } from '../../helpers/cluster.js';
import { requireTool } from '../../helpers/tools.js';
import { get, post, startProcess, type NodeProcess } from '../../helpers/node.js';
import { waitUntil } from '../../helpers/wait.js';

/**
 * The node's connection that receives publications drops every ~30 ms (Redis) or ~300 ms (NATS,
 * which takes at least 100 ms to reconnect) for 3 s while a client
 * publishes through the node's API to a channel without history (which nothing can fill in
 * later). On Redis only the subscriber connection is killed (CLIENT KILL TYPE pubsub), the command
 * connection stays up; NATS has one connection, cut by a proxy in front of the server. Whatever
 * the node answered 200 to reaches the node's own subscriber; the rest was answered 503.
 */
const flapMs = { redis: 30, nats: 300 };
const flapForMs = 3000;
/**
 * After so many drops the next waits until the node has accepted a publish again: on a loaded
 * machine reconnecting can take longer than the interval, and a run that accepts nothing checks
 * nothing. Redis is cut again mid-reconnect nine times in ten.
 */
const dropsPerAcceptance = { redis: 10, nats: 1 };

for (const kind of sharedBrokerKinds) {
  describe(`a node whose ${kind} subscription keeps dropping`, { skip: requireTool(brokerTools[kind]) }, () => {
    let broker: SharedBroker | undefined;
    let proxy: TcpProxy | undefined;
    let node: NodeProcess | undefined;
    let client: WsClient | undefined;

    before(async () => {
      broker = await startSharedBroker(kind);
      proxy = await startTcpProxy(broker.service.port);
      const args = kind === 'redis' ? broker.args : ['--broker.type', 'nats', '--broker.nats.servers', `nats://127.0.0.1:${proxy.port}`];
      node = await startProcess([...args, '--api.insecure', 'true', ...fastCluster]);
    });
    after(async () => {
      client?.close();
      node?.kill();
      await proxy?.close();
      await broker?.service.stop();
    });

    it('never answers 200 to a publish its own subscribers then miss', async (t) => {
      client = await connectWs(`${wsUrl(node!)}/ws?channels=news`);
      await client.next((f) => f.type === 'subscribed' && f.channel === 'news');
      const accepted: number[] = [];
      const statuses = new Map<number, number>();
      let running = true;
      const publishing = (async () => {
        for (let i = 0; running; i++) {
          const res = await post(`${node!.url}/api/publish`, { channel: 'news', data: { i } });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status === 200) accepted.push(i);
          else assert.equal(res.status, 503, JSON.stringify(res.body));
        }
      })();
      const redis = kind === 'redis' ? new Redis(broker!.service.url) : undefined;
      try {
        const until = Date.now() + flapForMs;
        for (let drops = 1; Date.now() < until; drops++) {
          const acceptedBefore = accepted.length;
          if (redis) await redis.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
          else {
            await proxy!.cut();
            await proxy!.restore();
          }
          await new Promise((r) => setTimeout(r, flapMs[kind]));
          if (drops % dropsPerAcceptance[kind] === 0) await waitUntil(() => accepted.length > acceptedBefore, 15_000, 'the node to accept a publish between drops');
        }
      } finally {
        running = false;
        await publishing;
        redis?.disconnect();
      }
      await waitUntil(async () => (await get(`${node!.url}/readyz`)).status === 200, 15_000, 'the node to be ready again');
      assert.equal((await post(`${node!.url}/api/publish`, { channel: 'news', data: { i: -1 } })).status, 200);
      await client.next((f) => f.type === 'message' && f.data.i === -1);
      const got = new Set(client.inbox.all.filter((f) => f.type === 'message').map((f) => f.data.i as number));
      const missed = accepted.filter((i) => !got.has(i));
      t.diagnostic(`answers ${JSON.stringify([...statuses])}, missed ${missed.length}`);
      assert.ok(accepted.length > 0, `some publishes were accepted between the drops: ${JSON.stringify([...statuses])}`);
      assert.deepEqual(missed, [], `missed ${missed.length} of ${accepted.length} accepted; answers ${JSON.stringify([...statuses])}`);
    });
  });
}
