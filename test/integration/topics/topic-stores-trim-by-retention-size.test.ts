import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { MemoryTopicStore } from '../../../src/topics/memory-store.js';
import { NatsTopicStore } from '../../../src/topics/nats-store.js';
import { RedisTopicStore } from '../../../src/topics/redis-store.js';
import type { TopicStore } from '../../../src/topics/store.js';
import { startNats, startRedis, type Service } from '../../helpers/services.js';
import { waitUntil } from '../../helpers/wait.js';
import { requireTool, type Tool } from '../../helpers/tools.js';

const options = { idempotencyWindowMs: 1000 };
const kinds: { name: string; tools: Tool[]; open(services: Service[]): Promise<TopicStore> }[] = [
  { name: 'memory', tools: [], open: async () => new MemoryTopicStore(options) },
  {
    name: 'redis',
    tools: ['redis-server'],
    open: async (services) => {
      const redis = await startRedis();
      services.push(redis);
      return new RedisTopicStore({ url: redis.url, prefix: `s${randomUUID().slice(0, 6)}:`, cluster: false }, options);
    },
  },
  {
    name: 'nats',
    tools: ['nats-server'],
    open: async (services) => {
      const nats = await startNats();
      services.push(nats);
      return new NatsTopicStore({ servers: nats.url, prefix: 'sizes', user: '', pass: '', token: '' }, options);
    },
  },
];

describe('topic stores drop their oldest messages to stay within the retention size', () => {
  const services: Service[] = [];
  const stores: TopicStore[] = [];
  after(async () => {
    for (const store of stores) await store.close();
    for (const service of services) await service.stop();
  });

  for (const kind of kinds) {
    it(`on ${kind.name}, keeps the newest messages and drops the oldest over 40 KB`, { skip: requireTool(...kind.tools) }, async () => {
      const store = await kind.open(services);
      stores.push(store);
      await store.start();
      await store.ensureTopic('sized', { retentionMs: 0, retentionBytes: 40_000, partitions: 1 });
      for (let batch = 0; batch < 10; batch++) {
        await store.append(
          'sized',
          Array.from({ length: 20 }, (_, i) => ({ data: { n: batch * 20 + i, pad: 'x'.repeat(1000) } })),
        );
      }
      await waitUntil(async () => ((await store.read('sized', { limit: 1 }))[0]?.data as { n: number } | undefined)?.n !== 0, 5000, 'the oldest to go');
      const kept = await store.read('sized', { limit: 1000 });
      assert.ok(kept.length > 0 && kept.length < 200, `kept ${kept.length}`);
      assert.equal((kept.at(-1)!.data as { n: number }).n, 199, 'the newest message is kept');
    });
  }
});
