import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBridgeSources, type BridgeSources, type RecordWriters } from '../../helpers/bridge-sources.js';
import { connectWs } from '../../helpers/clients.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { requireTool } from '../../helpers/tools.js';

describe(
  'bridges deliver records from Kafka, NATS, JetStream and Redis streams to the subscribers of a channel',
  { skip: requireTool('kcat', 'nats-server', 'redis-server') },
  () => {
    let sources: BridgeSources;
    let writers: RecordWriters;
    let t: TestNode;

    before(async () => {
      sources = await startBridgeSources();
      ({ writers } = sources);
      await writers.createStream('ORDERS', ['orders.>']);
      t = await startNode({
        'channels.namespaces': { match: {}, room: {} },
        'bridges.startAt': 'earliest',
        ...sources.settings,
        'bridges.definitions': [
          { name: 'from-kafka', source: 'kafka', topic: 'news', target: { type: 'channel', value: 'news' } },
          { name: 'from-nats', source: 'nats', subject: 'scores.*', target: { type: 'channel', field: 'match', prefix: 'match:' } },
          { name: 'from-jetstream', source: 'jetstream', stream: 'ORDERS', target: { type: 'channel', header: 'x-channel' } },
          { name: 'from-redis', source: 'redis', stream: 'alerts', target: { type: 'channel', field: 'room', prefix: 'room:' } },
        ],
      });
    });

    after(async () => {
      await t?.stop();
      await sources?.stop();
    });

    it('delivers a Kafka record to the WebSocket subscribers of the fixed channel', async () => {
      const client = await connectWs(`${t.wsUrl}/ws?channels=news`);
      await client.next((f) => f.type === 'subscribed');
      await writers.kafka('news', JSON.stringify({ headline: 'Bridges work' }));
      assert.deepEqual(await client.next((f) => f.type === 'message', 10_000), { type: 'message', channel: 'news', data: { headline: 'Bridges work' } });
      client.close();
    });

    it('delivers a NATS message to the channel named by a field of the record, with its prefix', async () => {
      const client = await connectWs(`${t.wsUrl}/ws?channels=match:42`);
      await client.next((f) => f.type === 'subscribed');
      await writers.nats('scores.football', JSON.stringify({ match: 42, score: [1, 0] }));
      assert.deepEqual(await client.next((f) => f.type === 'message'), { type: 'message', channel: 'match:42', data: { match: 42, score: [1, 0] } });
      client.close();
    });

    it('delivers a JetStream message to the channel named by a header', async () => {
      const client = await connectWs(`${t.wsUrl}/ws?channels=orders`);
      await client.next((f) => f.type === 'subscribed');
      await writers.jetstream('orders.created', JSON.stringify({ order: 'A-1' }), { 'X-Channel': 'orders' });
      assert.deepEqual(await client.next((f) => f.type === 'message'), { type: 'message', channel: 'orders', data: { order: 'A-1' } });
      client.close();
    });

    it('delivers a Redis stream entry to the channel named by a field of the record', async () => {
      const client = await connectWs(`${t.wsUrl}/ws?channels=room:7`);
      await client.next((f) => f.type === 'subscribed');
      await writers.redis('alerts', { data: JSON.stringify({ room: '7', text: 'smoke' }) });
      assert.deepEqual(await client.next((f) => f.type === 'message'), { type: 'message', channel: 'room:7', data: { room: '7', text: 'smoke' } });
      client.close();
    });
  },
);
