import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pino from 'pino';
import { Registry } from 'prom-client';
import { loadConfig } from '../../src/config/load.js';
import { TargetPolicy } from '../../src/outbound/targets.js';
import { Applications } from '../../src/topics/applications.js';
import { MemoryMetadataStore } from '../../src/topics/memory-metadata.js';
import { MemoryTopicStore } from '../../src/topics/memory-store.js';
import { TopicService } from '../../src/topics/service.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** A well-formed application key for an application nobody created: `sbk_<id>_<32 characters>`. */
function forgedKey(i: number): string {
  return `sbk_forged_application_${String(i).padStart(40, '0')}_${'A'.repeat(32)}`;
}

describe('topic key caches under forged keys', () => {
  it('keeps the application cache at its bound and the heap flat after 100,000 forged keys', async () => {
    const applications = new Applications(new MemoryMetadataStore(), { maxEntries: 1000 });
    const before = heapUsed();
    for (let i = 0; i < 100_000; i++) assert.equal(await applications.authenticate(forgedKey(i)), undefined);
    const grown = heapUsed() - before;
    assert.ok(applications.cachedEntries <= 1000, `${applications.cachedEntries} applications cached`);
    assert.ok(grown < 4 * 1024 * 1024, `heap grew by ${(grown / 1024 / 1024).toFixed(1)} MiB`);
  });

  it('still authenticates real keys and remembers an unknown application only briefly', async () => {
    const applications = new Applications(new MemoryMetadataStore(), { maxEntries: 10 });
    const key = forgedKey(1);
    const id = /^sbk_(.+)_A{32}$/.exec(key)![1]!;
    assert.equal(await applications.authenticate(key), undefined);
    const { key: issued } = await applications.create(id, {});
    assert.deepEqual(await applications.authenticate(issued), { kind: 'application', application: id, scopes: ['admin', 'publish', 'subscribe'] });
    for (let i = 100; i < 200; i++) await applications.authenticate(forgedKey(i));
    assert.ok(applications.cachedEntries <= 10);
    assert.deepEqual(await applications.authenticate(issued), { kind: 'application', application: id, scopes: ['admin', 'publish', 'subscribe'] });
  });

  it('keeps at most topics.cacheEntries topic records for publishing', async () => {
    const config = loadConfig({ overrides: { 'api.insecure': true, 'topics.cacheEntries': 20 } });
    const topics = new TopicService(
      new MemoryTopicStore({ idempotencyWindowMs: 1000 }),
      config.topics,
      new Registry(),
      pino({ level: 'silent' }),
      new TargetPolicy([], new Registry()),
    );
    await topics.start();
    try {
      await topics.applications.create('shop', {});
      for (let i = 0; i < 50; i++) {
        await topics.createTopic('shop', `orders-${i}`);
        await topics.publish('shop', `orders-${i}`, [{ data: { n: i } }]);
      }
      assert.equal(topics.cachedTopics, 20);
    } finally {
      await topics.stop();
    }
  });
});
