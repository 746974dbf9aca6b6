import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { recordWriters, type RecordWriters } from '../../helpers/bridge-sources.js';
import { connectWs, type WsClient } from '../../helpers/clients.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';
import { startKafkaMock, startRedis, type KafkaMockService, type Service } from '../../helpers/services.js';
import { waitUntil } from '../../helpers/wait.js';
import { requireTool } from '../../helpers/tools.js';

describe('malformed bridged records are skipped and counted, and the records after them still arrive', { skip: requireTool('kcat', 'redis-server') }, () => {
  let kafka: KafkaMockService;
  let redis: Service;
  let writers: RecordWriters;
  let t: TestNode;
  let client: WsClient;

  before(async () => {
    [kafka, redis] = await Promise.all([startKafkaMock(), startRedis()]);
    writers = await recordWriters({ kafka: kafka.brokers, redis: redis.url });
    t = await startNode({
      'channels.namespaces': { room: {} },
      'bridges.startAt': 'earliest',
      'bridges.maxRecordBytes': 200,
      'bridges.kafka.brokers': kafka.brokers,
      'bridges.redis.url': redis.url,
      'bridges.definitions': [
        { name: 'kafka-rooms', source: 'kafka', topic: 'rooms', target: { type: 'channel', field: 'room', prefix: 'room:' } },
        { name: 'redis-rooms', source: 'redis', stream: 'rooms', target: { type: 'channel', field: 'room', prefix: 'room:' } },
      ],
    });
    client = await connectWs(`${t.wsUrl}/ws?channels=room:1`);
    await client.next((f) => f.type === 'subscribed');
  });

  after(async () => {
    client?.close();
    await t?.stop();
    await writers?.close();
    await Promise.all([kafka?.stop(), redis?.stop()]);
  });

  const malformed = async (bridge: string) => (await scrape(t.url)).value('switchboard_bridge_records_total', { bridge, outcome: 'malformed' });

  it('skips Kafka records that are not JSON, name no channel, name a channel that cannot exist, are too large or are incomplete CloudEvents', async () => {
    const key = 'same-partition';
    await writers.kafka('rooms', '{not json', undefined, key);
    await writers.kafka('rooms', JSON.stringify({ text: 'no room field' }), undefined, key);
    await writers.kafka('rooms', JSON.stringify({ room: 'x y', text: 'a space is not allowed in a channel name' }), undefined, key);
    await writers.kafka('rooms', JSON.stringify({ room: '1', padding: 'x'.repeat(300) }), undefined, key);
    await writers.kafka('rooms', JSON.stringify({ room: '1' }), { ce_specversion: '1.0', ce_type: 'no id or source' }, key);
    await writers.kafka('rooms', JSON.stringify({ room: '1', text: 'good' }), undefined, key);
    assert.deepEqual(await client.next((f) => f.type === 'message', 15_000), { type: 'message', channel: 'room:1', data: { room: '1', text: 'good' } });
    assert.equal(await malformed('kafka-rooms'), 5);
    assert.equal((await scrape(t.url)).value('switchboard_bridge_records_total', { bridge: 'kafka-rooms', outcome: 'delivered' }), 1);
  });

  it('acknowledges a malformed Redis stream entry, so it is not read again, and delivers the next one', async () => {
    await writers.redis('rooms', { data: 'plain words' });
    await writers.redis('rooms', { data: JSON.stringify({ room: '1', text: 'after the bad one' }) });
    assert.deepEqual(await client.next((f) => f.type === 'message'), { type: 'message', channel: 'room:1', data: { room: '1', text: 'after the bad one' } });
    assert.equal(await malformed('redis-rooms'), 1);
    const inspector = new Redis(redis.url);
    try {
      await waitUntil(async () => ((await inspector.xpending('rooms', 'switchboard-bridge-redis-rooms')) as [number])[0] === 0, 5000, 'no pending entries');
    } finally {
      inspector.disconnect();
    }
  });
});
