import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { after, before, describe, it } from 'node:test';
import { connectWs } from '../../helpers/clients.js';
import { request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { startRedis, type Service } from '../../helpers/services.js';
import { requireTool } from '../../helpers/tools.js';

describe('messages on the broker that Switchboard did not write', { skip: requireTool('redis-server') }, () => {
  let redis: Service;
  let t: TestNode;
  let writer: Redis;

  before(async () => {
    redis = await startRedis();
    t = await startNode({ 'broker.type': 'redis', 'broker.redis.url': redis.url, 'broker.redis.prefix': 'sb:' });
    writer = new Redis(redis.url);
  });
  after(async () => {
    writer?.disconnect();
    await t?.stop();
    await redis?.stop();
  });

  it('are dropped, and the node keeps delivering publications', async () => {
    const client = await connectWs(`${t.wsUrl}/ws?channels=news`);
    try {
      await client.next((f) => f.type === 'welcome');
      await client.next((f) => f.type === 'subscribed');
      for (const garbage of ['not json', '1:e:{bad', '::[', '::null', `::${'['.repeat(100_000)}`]) await writer.publish('sb:channel:news', garbage);
      for (const garbage of ['not json', 'null', '{"kind":"disconnect"}', '{"kind":"send","target":null}', '{"kind":"query","from":"x","id":1}']) {
        await writer.publish('sb:control', garbage);
      }
      const published = await request('POST', `${t.url}/api/publish`, { body: { channel: 'news', data: 'still here' } });
      assert.equal(published.status, 200);
      assert.equal((await client.next((f) => f.type === 'message')).data, 'still here');
    } finally {
      client.close();
    }
  });
});
