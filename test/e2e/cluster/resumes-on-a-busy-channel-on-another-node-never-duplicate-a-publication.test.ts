import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectWs, type WsClient } from '../../helpers/clients.js';
import { brokerTools, killAll, sharedBrokerKinds, startCluster, startSharedBroker, wsUrl, type SharedBroker } from '../../helpers/cluster.js';
import { requireTool } from '../../helpers/tools.js';
import { post, type NodeProcess } from '../../helpers/node.js';

/**
 * Node A publishes about 100 times a second; node B already serves the channel to a client, so
 * its live stream runs a little behind the history a resuming client reads. Each of 200 clients
 * resumes on B from a few publications back: it gets the replay, then the live stream, each
 * offset once and in order.
 */
const namespaces = JSON.stringify({ feed: { historySize: 1000 } });
const resumes = 200;
const inParallel = 4;

for (const kind of sharedBrokerKinds) {
  describe(`resumes on a busy ${kind} channel on another node`, { skip: requireTool(brokerTools[kind]) }, () => {
    let broker: SharedBroker | undefined;
    let nodes: NodeProcess[] = [];
    const open: WsClient[] = [];

    before(async () => {
      broker = await startSharedBroker(kind);
      nodes = await startCluster(2, broker, ['--channels.namespaces', namespaces]);
    });
    after(async () => {
      for (const client of open) client.close();
      killAll(nodes);
      await broker?.service.stop();
    });

    it('never delivers an offset twice or out of order', async (t) => {
      const [a, b] = nodes as [NodeProcess, NodeProcess];
      const watcher = await connectWs(`${wsUrl(b)}/ws?channels=feed:busy`);
      open.push(watcher);
      await watcher.next((f) => f.type === 'subscribed');
      let last = { offset: 0, epoch: '' };
      let running = true;
      const publishing = (async () => {
        for (let i = 0; running; i++) {
          const res = await post(`${a.url}/api/publish`, { channel: 'feed:busy', data: { i } });
          assert.equal(res.status, 200);
          last = { offset: res.body.offset, epoch: res.body.epoch };
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      const problems: string[] = [];
      let recovered = 0;
      const resume = async () => {
        const since = { offset: Math.max(0, last.offset - 3), epoch: last.epoch };
        const client = await connectWs(`${wsUrl(b)}/ws`);
        try {
          client.send({ type: 'subscribe', id: 1, channel: 'feed:busy', since });
          const subscribed = await client.next((f) => f.type === 'subscribed');
          if (subscribed.recovered) recovered += 1;
          await client.next((f) => f.type === 'message' && f.offset >= subscribed.offset + 3);
          const offsets = client.inbox.all.filter((f) => f.type === 'message').map((f) => f.offset as number);
          const expected = offsets.map((_, k) => since.offset + 1 + k);
          if (JSON.stringify(offsets) !== JSON.stringify(expected)) problems.push(`since ${since.offset}, subscribed at ${subscribed.offset}: ${offsets.join(',')}`);
        } finally {
          client.close();
        }
      };
      try {
        while (last.offset < 10) await new Promise((r) => setTimeout(r, 20));
        for (let done = 0; done < resumes; done += inParallel) await Promise.all(Array.from({ length: inParallel }, resume));
      } finally {
        running = false;
        await publishing;
      }
      t.diagnostic(`${resumes} resumes, ${problems.length} with a duplicate, a gap or a reordering`);
      assert.equal(recovered, resumes, 'every resume recovered');
      assert.deepEqual(problems, [], `${problems.length} of ${resumes} resumes got a duplicate, a gap or a reordering`);
    });
  });
}
