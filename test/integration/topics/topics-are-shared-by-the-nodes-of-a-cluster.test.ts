import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer } from '../../helpers/auth.js';
import { request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { startNats, startRedis, type Service } from '../../helpers/services.js';
import { adminKey } from '../../helpers/topics-api.js';
import { waitUntil } from '../../helpers/wait.js';
import { requireTool } from '../../helpers/tools.js';

const kinds = [
  { name: 'redis', tool: 'redis-server' as const, start: startRedis, overrides: (url: string) => ({ 'broker.type': 'redis', 'broker.redis.url': url }) },
  { name: 'nats', tool: 'nats-server' as const, start: startNats, overrides: (url: string) => ({ 'broker.type': 'nats', 'broker.nats.servers': url }) },
];

for (const kind of kinds) {
  describe(`on ${kind.name}, every node sees the same applications, keys, topics and subscriptions`, { skip: requireTool(kind.tool) }, () => {
    let service: Service;
    let a: TestNode;
    let b: TestNode;
    let key: string;

    before(async () => {
      service = await kind.start();
      const overrides = { ...kind.overrides(service.url), 'api.insecure': false, 'api.keys': [adminKey] };
      a = await startNode(overrides);
      b = await startNode(overrides);
      const created = await request('POST', `${a.url}/api/topics/applications`, { body: { id: 'shared' }, headers: bearer(adminKey) });
      assert.equal(created.status, 201, created.text);
      key = created.body.key;
    });
    after(async () => {
      await a?.stop();
      await b?.stop();
      await service?.stop();
    });

    it('publishes through one node and pulls through the other with a key issued by the first', async () => {
      assert.equal((await request('POST', `${a.url}/api/topics/shared/topics`, { body: { name: 'events' }, headers: bearer(key) })).status, 201);
      assert.equal((await request('POST', `${b.url}/api/topics/shared/subscriptions`, { body: { name: 'reader', topic: 'events' }, headers: bearer(key) })).status, 201);
      const published = await request('POST', `${a.url}/api/topics/shared/topics/events/publish`, { body: { messages: [{ data: 1 }, { data: 2 }] }, headers: bearer(key) });
      assert.equal(published.status, 200, published.text);
      const pulled = await request('POST', `${b.url}/api/topics/shared/subscriptions/reader/pull`, { body: { maxMessages: 10, waitMs: 2000 }, headers: bearer(key) });
      assert.deepEqual(
        pulled.body.messages.map((m: { message: { data: number } }) => m.message.data),
        [1, 2],
      );
      const acked = await request('POST', `${a.url}/api/topics/shared/subscriptions/reader/ack`, {
        body: { ackIds: pulled.body.messages.map((m: { ackId: string }) => m.ackId) },
        headers: bearer(key),
      });
      assert.deepEqual(
        acked.body.results.map((r: { ok?: boolean }) => r.ok),
        [true, true],
        'an ack id from one node is good on the other',
      );
      const listed = await request('GET', `${b.url}/api/topics/shared/topics`, { headers: bearer(key) });
      assert.deepEqual(
        listed.body.topics.map((t: { name: string }) => t.name),
        ['events'],
      );
    });

    it('stops taking a key revoked through the other node within a few seconds', async () => {
      const extra = await request('POST', `${a.url}/api/topics/applications/shared/keys`, { body: { scopes: ['subscribe'] }, headers: bearer(key) });
      assert.equal((await request('GET', `${b.url}/api/topics/shared/subscriptions`, { headers: bearer(extra.body.key) })).status, 200);
      await request('DELETE', `${a.url}/api/topics/applications/shared/keys/${extra.body.id}`, { headers: bearer(key) });
      await waitUntil(
        async () => (await request('GET', `${b.url}/api/topics/shared/subscriptions`, { headers: bearer(extra.body.key) })).status === 401,
        5000,
        'the revocation on the other node',
      );
    });
  });
}
