import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { request } from '../../helpers/http.js';
import { startProcess, type NodeProcess } from '../../helpers/node.js';
import { startKafkaMock, startNats, startRedis, type Service } from '../../helpers/services.js';
import { waitUntil } from '../../helpers/wait.js';
import { requireTool, type Tool } from '../../helpers/tools.js';

/**
 * Each store with how a restarted process reaches it. `settleMs` is the extra time a restarted
 * process needs before it is handed messages again (Kafka: the consumer group waits out the killed
 * member's session, then rebalances); `attemptsSurvive` whether attempt counts outlive the process.
 */
const stores: { name: string; start(): Promise<Pick<Service, 'url' | 'stop'>>; args(url: string): string[]; settleMs: number; attemptsSurvive: boolean; tool: Tool }[] = [
  { name: 'redis', start: startRedis, args: (url) => ['--broker.type', 'redis', '--broker.redis.url', url], settleMs: 0, attemptsSurvive: true, tool: 'redis-server' },
  { name: 'nats', start: startNats, args: (url) => ['--broker.type', 'nats', '--broker.nats.servers', url], settleMs: 0, attemptsSurvive: true, tool: 'nats-server' },
  {
    name: 'kafka',
    start: startKafkaMock,
    args: (url) => ['--topics.store', 'kafka', '--topics.kafka.brokers', url, '--topics.kafka.idempotent', 'false', '--topics.kafka.sessionTimeout', '6s'],
    settleMs: 12_000,
    attemptsSurvive: false,
    tool: 'kcat',
  },
];

for (const kind of stores) {
  describe(`durable topics on ${kind.name} survive a Switchboard crash`, { skip: requireTool(kind.tool) }, () => {
    let service: Pick<Service, 'url' | 'stop'>;
    let node: NodeProcess | undefined;
    let failing: Server;
    let failingCalls = 0;
    const api = (path: string) => `${node!.url}/api/topics${path}`;

    /** Starts (or restarts after a kill) the one Switchboard process of the test. */
    async function restart(): Promise<void> {
      node?.kill();
      await node?.exited;
      node = await startProcess([
        '--api.insecure',
        'true',
        '--topics.push.minBackoff',
        '20ms',
        '--topics.push.maxBackoff',
        '50ms',
        '--security.allowedPrivateTargets',
        '127.0.0.1',
        ...kind.args(service.url),
      ]);
    }

    async function pull(sub: string, max = 10, waitMs = 1000) {
      const res = await request('POST', api(`/crash/subscriptions/${sub}/pull`), { body: { maxMessages: max, waitMs } });
      assert.equal(res.status, 200, res.text);
      return res.body.messages as { ackId: string; attempt: number; message: { data: unknown; deliverAt?: string } }[];
    }

    before(async () => {
      service = await kind.start();
      failing = createServer((_req, res) => {
        failingCalls++;
        res.writeHead(500).end();
      });
      await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
      await restart();
      await request('POST', api('/applications'), { body: { id: 'crash' } });
      for (const name of ['jobs', 'dead', 'hooks', 'later']) assert.equal((await request('POST', api('/crash/topics'), { body: { name } })).status, 201);
      await request('POST', api('/crash/subscriptions'), { body: { name: 'workers', topic: 'jobs', ackDeadlineMs: 1000 } });
      await request('POST', api('/crash/subscriptions'), { body: { name: 'delayed', topic: 'later', ackDeadlineMs: 5000 } });
    });
    after(async () => {
      node?.kill();
      await node?.exited;
      failing?.close();
      await service?.stop();
    });

    it('delivers a message whose publish was answered just before the process was killed', async () => {
      const published = await request('POST', api('/crash/topics/jobs/publish'), { body: { data: 'survivor' } });
      assert.equal(published.status, 200);
      await restart();
      const got: Awaited<ReturnType<typeof pull>> = [];
      await waitUntil(
        async () => {
          got.push(...(await pull('workers', 1, 500)));
          return got.length > 0;
        },
        5000 + kind.settleMs,
        'the message',
      );
      assert.equal(got[0]!.message.data, 'survivor');
      await request('POST', api('/crash/subscriptions/workers/ack'), { body: { ackIds: [got[0]!.ackId] } });
    });

    it('redelivers what a consumer pulled and never acknowledged, after the ack deadline', async () => {
      await request('POST', api('/crash/topics/jobs/publish'), { body: { messages: [{ data: 1 }, { data: 2 }, { data: 3 }] } });
      const batch = await pull('workers', 3);
      assert.equal(batch.length, 3);
      await request('POST', api('/crash/subscriptions/workers/ack'), { body: { ackIds: [batch[0]!.ackId] } });
      // The consumer dies with two messages unacknowledged; so does the Switchboard process.
      await restart();
      const again: typeof batch = [];
      await waitUntil(
        async () => {
          again.push(...(await pull('workers', 3, 500)));
          return again.length >= 2;
        },
        6000 + kind.settleMs,
        'the redelivery',
      );
      assert.deepEqual(again.map((m) => m.message.data).sort(), [2, 3]);
      if (kind.attemptsSurvive) assert.ok(again.every((m) => m.attempt === 2));
      await request('POST', api('/crash/subscriptions/workers/ack'), { body: { ackIds: again.map((m) => m.ackId) } });
    });

    it('moves a message a failing webhook keeps refusing to the dead-letter topic after the configured attempts', async () => {
      const endpoint = `http://127.0.0.1:${(failing.address() as AddressInfo).port}/hook`;
      const created = await request('POST', api('/crash/subscriptions'), {
        body: { name: 'pusher', topic: 'hooks', ackDeadlineMs: 2000, maxDeliveryAttempts: 2, deadLetterTopic: 'dead', push: { endpoint, secret: 'secret-secret-secret' } },
      });
      assert.equal(created.status, 201, created.text);
      await request('POST', api('/crash/topics/hooks/publish'), { body: { data: 'refused' } });
      await waitUntil(async () => (await request('GET', api('/crash/topics/dead/messages'))).body.messages.length === 1, 10_000 + kind.settleMs, 'the dead letter');
      const [dead] = (await request('GET', api('/crash/topics/dead/messages'))).body.messages;
      assert.equal(dead.data, 'refused');
      assert.equal(dead.attributes['sb-delivery-attempts'], '2');
      assert.equal(dead.attributes['sb-subscription'], 'crash/pusher');
      assert.equal(dead.attributes['sb-original-topic'], 'crash/hooks');
      assert.equal(failingCalls, 2);
    });

    it('never delivers a delayed message early, across a restart', async () => {
      const published = await request('POST', api('/crash/topics/later/publish'), { body: { data: 'at-time', delay: '1500ms' } });
      assert.equal(published.status, 200);
      const due = Date.now() + 1500 - 50;
      assert.deepEqual(await pull('delayed', 10, 300), []);
      await restart();
      const got: Awaited<ReturnType<typeof pull>> = [];
      await waitUntil(
        async () => {
          const batch = await pull('delayed', 10, 500);
          if (batch.length > 0) assert.ok(Date.now() >= due, 'not delivered before its time');
          got.push(...batch);
          return got.length > 0;
        },
        8000 + kind.settleMs,
        'the delayed message',
      );
      assert.equal(got[0]!.message.data, 'at-time');
    });
  });
}
