import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startHookServer } from '../../helpers/auth.js';
import { connectWs } from '../../helpers/clients.js';
import { brokerTools, sharedBrokerKinds, startSharedBroker, wsUrl } from '../../helpers/cluster.js';
import { startProcess, type NodeProcess } from '../../helpers/node.js';
import { waitUntil } from '../../helpers/wait.js';
import { requireTool } from '../../helpers/tools.js';

for (const kind of sharedBrokerKinds) {
  describe(`durable routes on ${kind}`, { skip: requireTool(brokerTools[kind]) }, () => {
    it('deliver a message accepted by a node that was killed before delivering it', async (t) => {
      let phase: 'before crash' | 'after crash' = 'before crash';
      const taken: string[] = [];
      const backend = await startHookServer(({ body }) => {
        if (phase === 'before crash') return { status: 503, body: '' };
        taken.push(body.id);
        return { body: { ok: true } };
      });
      const broker = await startSharedBroker(kind);
      const nodes: NodeProcess[] = [];
      t.after(async () => {
        for (const node of nodes) node.kill();
        await backend.stop();
        await broker.service.stop();
      });
      const args = [
        ...broker.args,
        '--api.insecure',
        'true',
        '--routing.backends',
        JSON.stringify({ orders: backend.url }),
        '--routing.routes',
        JSON.stringify([{ name: 'orders', key: '$default', backend: 'orders', durable: true, maxAttempts: 50 }]),
        '--routing.timeout',
        '300ms',
        '--routing.retry.initialBackoff',
        '20ms',
        '--routing.retry.maxBackoff',
        '100ms',
        '--routing.breaker.failures',
        '1000',
      ];
      const first = await startProcess(args);
      nodes.push(first);
      const client = await connectWs(`${wsUrl(first)}/ws`);
      client.send({ type: 'send', id: 1, data: { order: 'survives' } });
      const { messageId } = (await client.next((f) => f.type === 'reply' && f.id === 1)).data;
      await waitUntil(() => backend.calls.length > 0, 5000, 'a first, failing delivery attempt');
      first.child.kill('SIGKILL');
      await first.exited;
      client.close();

      phase = 'after crash';
      nodes.push(await startProcess(args));
      await waitUntil(() => taken.includes(messageId), 10_000, 'the delivery by the second node');
      assert.equal(backend.calls.at(-1)!.body.data.order, 'survives');
    });
  });
}
