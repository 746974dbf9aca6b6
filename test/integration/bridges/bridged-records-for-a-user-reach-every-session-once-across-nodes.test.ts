import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MemoryBus } from '../../../src/brokers/memory.js';
import { bearer, hmacToken } from '../../helpers/auth.js';
import { startBridgeSources, type BridgeSources, type RecordWriters } from '../../helpers/bridge-sources.js';
import { connectWs, type WsClient } from '../../helpers/clients.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { requireTool } from '../../helpers/tools.js';

const secret = 'bridge-users-secret';

describe(
  'a bridged record addressed to a user reaches every session of that user once, with two nodes in one consumer group',
  { skip: requireTool('kcat', 'nats-server', 'redis-server') },
  () => {
    let sources: BridgeSources;
    let writers: RecordWriters;
    let a: TestNode;
    let b: TestNode;
    let sessions: WsClient[];

    before(async () => {
      sources = await startBridgeSources();
      ({ writers } = sources);
      await writers.createStream('NOTIFY', ['notify.>']);
      const bus = new MemoryBus();
      const settings = {
        'auth.jwt.secrets': [secret],
        'bridges.startAt': 'earliest',
        ...sources.settings,
        'bridges.kafka.sessionTimeout': '6s',
        'bridges.definitions': [
          { name: 'kafka-users', source: 'kafka', topic: 'notifications', target: { type: 'user', field: 'user' } },
          { name: 'nats-users', source: 'nats', subject: 'pings', target: { type: 'user', header: 'user' } },
          { name: 'jetstream-users', source: 'jetstream', stream: 'NOTIFY', target: { type: 'user', field: 'to.id' } },
          { name: 'redis-users', source: 'redis', stream: 'inbox', target: { type: 'user', header: 'user' } },
        ],
      };
      a = await startNode(settings, { bus });
      b = await startNode(settings, { bus });
      const token = () => hmacToken(secret, { sub: 'uma' }, { expiresIn: 600 });
      sessions = [
        await connectWs(`${a.wsUrl}/ws`, { headers: bearer(await token()) }),
        await connectWs(`${a.wsUrl}/ws`, { headers: bearer(await token()) }),
        await connectWs(`${b.wsUrl}/ws`, { headers: bearer(await token()) }),
      ];
      for (const session of sessions) await session.next((f) => f.type === 'welcome');
    });

    after(async () => {
      for (const session of sessions ?? []) session.close();
      await Promise.all([a?.stop(), b?.stop()]);
      await sources?.stop();
    });

    /** Every session of uma receives the data, and after a moment still only once. */
    async function eachSessionReceivesOnce(data: unknown): Promise<void> {
      for (const session of sessions) assert.deepEqual(await session.next((f) => f.type === 'message', 15_000), { type: 'message', data });
      await new Promise((resolve) => setTimeout(resolve, 300));
      for (const session of sessions) {
        const copies = session.inbox.all.filter((f) => f.type === 'message' && JSON.stringify(f.data) === JSON.stringify(data));
        assert.equal(copies.length, 1, 'one copy per session: only one node of the group delivered the record');
      }
    }

    it('delivers a Kafka record to the sessions of the user named by its field', async () => {
      await writers.kafka('notifications', JSON.stringify({ user: 'uma', text: 'from kafka' }));
      await eachSessionReceivesOnce({ user: 'uma', text: 'from kafka' });
    });

    it('delivers a NATS message to the sessions of the user named by its header (queue group)', async () => {
      await writers.nats('pings', JSON.stringify({ text: 'from nats' }), { user: 'uma' });
      await eachSessionReceivesOnce({ text: 'from nats' });
    });

    it('delivers a JetStream message to the sessions of the user named by a nested field (durable consumer)', async () => {
      await writers.jetstream('notify.email', JSON.stringify({ to: { id: 'uma' }, text: 'from jetstream' }));
      await eachSessionReceivesOnce({ to: { id: 'uma' }, text: 'from jetstream' });
    });

    it('delivers a Redis stream entry to the sessions of the user named by one of its fields (consumer group)', async () => {
      await writers.redis('inbox', { user: 'uma', data: JSON.stringify({ text: 'from redis' }) });
      await eachSessionReceivesOnce({ text: 'from redis' });
    });
  },
);
