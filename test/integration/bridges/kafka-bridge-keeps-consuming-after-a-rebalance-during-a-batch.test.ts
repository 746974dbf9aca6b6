import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { connectWs } from '../../helpers/clients.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { startKafkaMock, startRedis } from '../../helpers/services.js';
import { requireTool } from '../../helpers/tools.js';
import { waitUntil } from '../../helpers/wait.js';

const topic = 'orders';
const partitions = 4;

describe('a Kafka bridge whose group rebalances while it delivers a batch', { skip: requireTool('kcat', 'redis-server') }, () => {
  it('keeps consuming: the records written after the second member left all reach the channel', { timeout: 150_000 }, async (t) => {
    const [kafka, redis] = await Promise.all([startKafkaMock(), startRedis()]);
    const producer = new Kafka({ clientId: 'test-writer', brokers: kafka.brokers, logLevel: logLevel.NOTHING }).producer();
    const nodes: TestNode[] = [];
    let producing = true;
    t.after(async () => {
      producing = false;
      await Promise.all(nodes.map((node) => node.stop().catch(() => {})));
      await producer.disconnect();
      await Promise.all([kafka.stop(), redis.stop()]);
    });
    await producer.connect();
    // The mock cluster creates a topic on first use, with four partitions.
    await producer.send({ topic, acks: -1, messages: [{ value: JSON.stringify({ n: -1 }) }] });

    // The observer runs no bridge: it passes the channel's publications (through Redis) to a client.
    const observer = await startNode({ 'broker.type': 'redis', 'broker.redis.url': redis.url });
    nodes.push(observer);
    const ws = await connectWs(`${observer.wsUrl}/ws`);
    t.after(() => ws.close());
    ws.send({ type: 'subscribe', id: 1, channel: 'feed' });
    await ws.next((f) => f.type === 'subscribed');

    const bridging = {
      'broker.type': 'redis',
      'broker.redis.url': redis.url,
      'bridges.kafka.brokers': kafka.brokers,
      'bridges.kafka.sessionTimeout': '6s',
      'bridges.definitions': [{ name: 'orders', source: 'kafka', topic, target: { type: 'channel', value: 'feed' } }],
    };
    const first = await startNode(bridging);
    nodes.push(first);

    // Records keep every partition busy, so the rebalances below find the first node inside a batch.
    const produced: number[] = [];
    const writing = (async () => {
      for (let n = 0; producing; n++) {
        await producer.send({ topic, acks: -1, messages: [{ partition: n % partitions, value: JSON.stringify({ n }) }] });
        produced.push(n);
        await sleep(20);
      }
    })();
    await sleep(1000);
    const second = await startNode(bridging);
    await sleep(4000);
    // Leaving the group hands every partition back to the first node.
    await second.stop();
    await sleep(4000);
    producing = false;
    await writing;

    const received = () => new Set(ws.inbox.all.filter((f) => f.type === 'message' && f.channel === 'feed').map((f) => f.data.n as number));
    await waitUntil(() => produced.every((n) => received().has(n)), 60_000, 'every produced record delivered').catch(() => {});
    const missing = produced.filter((n) => !received().has(n));
    assert.deepEqual(missing, [], `${missing.length} of ${produced.length} records never delivered`);
  });
});
