import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHookServer, type HookServer } from '../../helpers/auth.js';
import { connectSse, type SseEvent, type StreamClient } from '../../helpers/clients.js';
import { post, startNode, type TestNode } from '../../helpers/node.js';
import { startRedis, type Service } from '../../helpers/services.js';
import { requireTool } from '../../helpers/tools.js';

const secretHeader = 'x-switchboard-session-secret';

/**
 * Anonymous sessions all have the user '', so the user alone cannot tell whose session
 * `POST /frames?session=` names: the request must also carry the secret its welcome frame handed
 * out, checked by the node that holds the session.
 */
const setups = [
  { name: 'on one node', redis: false },
  { name: 'across two nodes on Redis, the request landing on the node without the session', redis: true },
];

for (const setup of setups) {
  describe(`frames over HTTP act for an anonymous SSE session only with its secret, ${setup.name}`, { skip: setup.redis && requireTool('redis-server') }, () => {
    let redis: Service | undefined;
    let backend: HookServer;
    let home: TestNode;
    let other: TestNode;
    let sse: StreamClient<SseEvent>;
    let welcome: { session: string; sessionSecret: string };

    before(async () => {
      backend = await startHookServer(() => ({ status: 202, body: '' }));
      const overrides: Record<string, unknown> = { 'routing.backends': { reports: backend.url }, 'routing.routes': [{ key: 'report.build', backend: 'reports' }] };
      if (setup.redis) {
        redis = await startRedis();
        Object.assign(overrides, { 'broker.type': 'redis', 'broker.redis.url': redis.url });
        home = await startNode(overrides);
        other = await startNode(overrides);
      } else {
        home = other = await startNode(overrides);
      }
      sse = await connectSse(`${home.url}/sse?channels=news`);
      welcome = JSON.parse((await sse.next((e) => e.event === 'welcome')).data);
    });

    after(async () => {
      sse?.close();
      await home?.stop();
      if (other !== home) await other?.stop();
      await backend?.stop();
      await redis?.stop();
    });

    it('hands out a session secret in the welcome frame', () => {
      assert.equal(typeof welcome.sessionSecret, 'string');
      assert.ok(welcome.sessionSecret.length >= 32, welcome.sessionSecret);
    });

    it('refuses another anonymous caller who names the session without its secret, or with a wrong one', async () => {
      const calls = backend.calls.length;
      const bare = await post(`${other.url}/frames?session=${welcome.session}`, { type: 'rpc', id: 1, method: 'report.build' });
      assert.equal(bare.status, 403, JSON.stringify(bare.body));
      assert.equal(bare.body.error.code, 'forbidden');
      const wrong = await post(
        `${other.url}/frames?session=${welcome.session}`,
        { type: 'rpc', id: 2, method: 'report.build' },
        { [secretHeader]: 'A'.repeat(welcome.sessionSecret.length) },
      );
      assert.equal(wrong.status, 403, JSON.stringify(wrong.body));
      // A second session's own secret does not open the first.
      const second = await connectSse(`${home.url}/sse?channels=news`);
      const secondWelcome = JSON.parse((await second.next((e) => e.event === 'welcome')).data);
      second.close();
      const borrowed = await post(
        `${other.url}/frames?session=${welcome.session}`,
        { type: 'rpc', id: 3, method: 'report.build' },
        { [secretHeader]: secondWelcome.sessionSecret },
      );
      assert.equal(borrowed.status, 403, JSON.stringify(borrowed.body));
      assert.equal(backend.calls.length, calls, 'no backend call was made for the session');
    });

    it('acts for the session with its secret in X-Switchboard-Session-Secret, and the late reply reaches the stream', async () => {
      const answer = await post(`${other.url}/frames?session=${welcome.session}`, { type: 'rpc', id: 4, method: 'report.build' }, { [secretHeader]: welcome.sessionSecret });
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.deepEqual(answer.body, []);
      assert.equal(backend.calls.at(-1)!.body.session, welcome.session);
      await post(`${other.url}/api/sessions/${welcome.session}/replies`, { id: 4, data: { url: '/reports/1' } });
      const reply = await sse.next((e) => e.event === 'reply');
      assert.deepEqual(JSON.parse(reply.data), { type: 'reply', id: 4, data: { url: '/reports/1' } });
    });
  });
}
